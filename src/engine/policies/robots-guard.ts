import { ALLOW_ALL, type RobotsRules } from '../../discover/robots.js';
import { RequestVeto } from '../../fetch/site-requests.js';
import type { LaneName } from '../lane.js';
import type { ChainRequest, RequestMiddleware } from './policy.js';

/** Lanes that fetch what a person asked for by its URL: robots.txt is for crawlers (RFC 9309), not for them. */
const ASKED_BY_A_PERSON: ReadonlySet<LaneName> = new Set(['fetch', 'manual']);

/**
 * robots.txt: a crawler lane's request to a URL its rules disallow never goes out. The rules are
 * the last robots.txt a run read (`follow`); before any, everything is allowed.
 */
export class RobotsGuard implements RequestMiddleware {
  readonly name = 'robots';
  private rules: RobotsRules = ALLOW_ALL;

  follow(rules: RobotsRules): void {
    this.rules = rules;
  }

  /** Whether the rules let a crawler lane request this URL. */
  allows(siteUrl: string): boolean {
    const u = new URL(siteUrl);
    return this.rules.isAllowed(u.pathname + u.search);
  }

  before(req: ChainRequest): void {
    if (!req.lane || ASKED_BY_A_PERSON.has(req.lane.lane)) return;
    if (!this.allows(req.url)) throw new RequestVeto(this.name, req.url, `${req.url} is disallowed by robots.txt`);
  }
}
