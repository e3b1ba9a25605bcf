import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** A new Standard Webhooks secret. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export interface Received {
  id: string;
  timestamp: string;
  body: string;
  /** The signature verified with the standardwebhooks package's own `verify`. */
  valid: boolean;
  status: number;
}

/**
 * A webhook receiver for tests: every POST verified with `standardwebhooks`, recorded, and answered
 * as `answer` says (by the number of the request, from 1). It can go down and come back on the
 * same port.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly verifier: Webhook;
  port = 0;

  constructor(
    readonly secret: string,
    public answer: (n: number) => { status: number; headers?: Record<string, string> } = () => ({ status: 204 }),
  ) {
    this.verifier = new Webhook(secret);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(port = this.port): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The event seqs delivered with a 2xx, each once. */
  deliveredSeqs(): number[] {
    return [...new Set(this.received.filter((r) => r.valid && r.status < 300).map((r) => seqOf(r.id)))].sort((a, b) => a - b);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      let valid = true;
      try {
        this.verifier.verify(body, req.headers as Record<string, string>);
      } catch {
        valid = false;
      }
      const { status, headers } = this.answer(this.received.length + 1);
      this.received.push({ id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']), body, valid, status });
      res.writeHead(status, headers ?? {});
      res.end();
    });
  }
}

/** The `seq` in a webhook-id `evt_<storage id>_<seq>`. */
export function seqOf(webhookId: string): number {
  const m = /^evt_[0-9a-f-]{36}_(\d+)$/.exec(webhookId);
  if (!m) throw new Error(`webhook-id ${JSON.stringify(webhookId)} is not evt_<storage id>_<seq>`);
  return Number(m[1]);
}
