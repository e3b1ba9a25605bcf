import { isCalendarDay } from './calendar.js';
import type { SiteProfile } from './profile.js';

/** An article as the site knows it: its numeric id, its day, and its one canonical URL. */
export interface ArticleRef {
  id: string;
  /** YYYYMMDD from the URL path; empty when the profile's article path has no day. */
  day: string;
  /** `https://<primary host>/<day>/<slug>-<id>.html`, no query, no fragment. */
  url: string;
}

const ALLOWED_SCHEMES = new Set(['http:', 'https:']);

/**
 * URL rules of one site: which URLs are its articles, and how a site URL maps to the origin
 * that is actually contacted (production, or a local mirror given by `--origin`).
 */
export class SiteUrls {
  readonly base: URL;
  readonly origin: URL;
  private readonly hosts: Set<string>;
  private readonly articlePattern: RegExp;

  constructor(readonly profile: SiteProfile, origin?: string | null) {
    this.base = new URL(profile.baseUrl);
    this.origin = new URL(origin ?? profile.baseUrl);
    if (!ALLOWED_SCHEMES.has(this.origin.protocol)) {
      throw new Error(`origin ${origin} must be an http(s) URL`);
    }
    this.hosts = new Set([this.base.hostname, ...profile.aliasHosts.map((h) => h.toLowerCase())]);
    this.articlePattern = new RegExp(profile.articlePath);
  }

  /** True when `host` (no port) is the site's own host or one of its aliases. */
  isSiteHost(host: string): boolean {
    return this.hosts.has(host.toLowerCase());
  }

  /**
   * Parses `input` (resolved against `base` when relative) as an article URL of this site.
   * Scheme, host alias, `/amp/` prefix, query string and fragment do not matter: the same
   * article always yields the same ref. Anything else — other hosts, look-alike hosts,
   * userinfo, other schemes, paths that do not match — yields null.
   */
  parseArticle(input: string, base?: string): ArticleRef | null {
    const url = this.parseSiteUrl(input, base);
    if (!url) return null;
    // AMP copies are the same article under an `/amp` prefix.
    const path = url.pathname.replace(/^\/amp(?=\/)/, '');
    const groups = this.articlePattern.exec(path)?.groups;
    if (!groups?.id) return null;
    const day = groups.day ?? '';
    if (day && !isCalendarDay(day)) return null;
    return { id: groups.id, day, url: `${this.base.origin}${path}` };
  }

  /** Parses `input` as any URL of this site (article or not), in its production form. */
  parseSiteUrl(input: string, base?: string): URL | null {
    let url: URL;
    try {
      url = new URL(input.trim(), base ?? this.base);
    } catch {
      return null;
    }
    if (!ALLOWED_SCHEMES.has(url.protocol) || url.username || url.password) return null;
    // WHATWG URL drops a scheme's default port, so any port left is a different server.
    if (this.isSiteHost(url.hostname) && url.port === '') return this.production(url);
    if (this.isOrigin(url)) return this.production(url);
    return null;
  }

  /** The URL actually contacted for a site URL. */
  toOrigin(siteUrl: URL | string): URL {
    const u = typeof siteUrl === 'string' ? new URL(siteUrl) : siteUrl;
    return new URL(u.pathname + u.search, this.origin);
  }

  /** The site URL a contacted URL stands for, or null when it is neither the origin nor the site. */
  fromContacted(contacted: URL): URL | null {
    return this.parseSiteUrl(contacted.href);
  }

  private isOrigin(url: URL): boolean {
    return url.protocol === this.origin.protocol && url.host === this.origin.host;
  }

  private production(url: URL): URL {
    const out = new URL(url.pathname + url.search, this.base);
    out.hash = '';
    return out;
  }
}

