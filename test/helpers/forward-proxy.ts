import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ProxyLogEntry {
  /** `GET` (absolute-form) or `CONNECT`. */
  method: string;
  /** The absolute URL, or `host:port` of a tunnel. */
  target: string;
  /** What the client called itself. */
  userAgent: string;
  /** The request carried the right credentials (or none were required). */
  authorized: boolean;
}

/**
 * A small forward proxy for tests: absolute-form requests for http://, CONNECT tunnels for
 * https://, optional Basic credentials. Host names resolve only through `hosts`, so an origin
 * such as `http://mirror.test:8080` is reachable only through this proxy.
 */
export class ForwardProxy {
  readonly log: ProxyLogEntry[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(private readonly options: { hosts: Record<string, string>; user?: string; password?: string }) {
    this.server = createServer((req, res) => this.forward(req, res));
    this.server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => this.tunnel(req, socket, head));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** The proxy's URL, with the credentials when it has them. */
  url(withCredentials = true): string {
    const auth = withCredentials && this.options.user ? `${encodeURIComponent(this.options.user)}:${encodeURIComponent(this.options.password ?? '')}@` : '';
    return `http://${auth}127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.options.user) return true;
    const expected = `Basic ${Buffer.from(`${this.options.user}:${this.options.password ?? ''}`).toString('base64')}`;
    return req.headers['proxy-authorization'] === expected;
  }

  private resolve(host: string): string | null {
    return this.options.hosts[host.toLowerCase()] ?? null;
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const target = req.url ?? '';
    const ok = this.authorized(req);
    this.log.push({ method: req.method ?? 'GET', target, userAgent: String(req.headers['user-agent'] ?? ''), authorized: ok });
    if (!ok) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test proxy"', 'content-length': '0' });
      res.end();
      return;
    }
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      res.writeHead(400).end('absolute-form request expected');
      return;
    }
    const address = this.resolve(url.hostname);
    if (!address) {
      res.writeHead(502).end(`unknown host ${url.hostname}`);
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = request({ host: address, port: url.port || 80, path: url.pathname + url.search, method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  }

  private tunnel(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const target = req.url ?? '';
    const ok = this.authorized(req);
    this.log.push({ method: 'CONNECT', target, userAgent: String(req.headers['user-agent'] ?? ''), authorized: ok });
    socket.on('error', () => undefined);
    if (!ok) {
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test proxy"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [host = '', port = '443'] = target.split(':');
    const address = this.resolve(host);
    if (!address) {
      socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = connect(Number(port), address, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
  }
}
