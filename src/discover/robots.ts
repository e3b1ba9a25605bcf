/**
 * robots.txt per RFC 9309: the group of the most specific matching user-agent (else `*`),
 * longest-match Allow/Disallow with `*` and `$`, plus the `Crawl-delay` and `Sitemap` extensions.
 */
export interface RobotsRules {
  isAllowed(pathAndQuery: string): boolean;
  /** Seconds, when the group names one. */
  crawlDelay: number | undefined;
  sitemaps: string[];
}

interface Rule {
  allow: boolean;
  pattern: string;
  regex: RegExp;
}

interface Group {
  agents: string[];
  rules: Rule[];
  crawlDelay: number | undefined;
}

export const ALLOW_ALL: RobotsRules = { isAllowed: () => true, crawlDelay: undefined, sitemaps: [] };
export const DISALLOW_ALL: RobotsRules = { isAllowed: (p) => p === '/robots.txt', crawlDelay: undefined, sitemaps: [] };

export function parseRobots(text: string, productToken: string): RobotsRules {
  const groups: Group[] = [];
  const sitemaps: string[] = [];
  let current: Group | null = null;
  let lastWasAgent = false;
  // RFC 9309 §2.5: at most 500 KiB is parsed.
  for (const rawLine of text.slice(0, 512_000).split(/\r\n|\r|\n/)) {
    const line = rawLine.replace(/#.*$/, '').trim();
    const m = /^([A-Za-z-]+)\s*:\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = (m[1] as string).toLowerCase();
    const value = (m[2] as string).trim();
    if (key === 'user-agent') {
      if (!current || !lastWasAgent) {
        current = { agents: [], rules: [], crawlDelay: undefined };
        groups.push(current);
      }
      current.agents.push(value.toLowerCase());
      lastWasAgent = true;
      continue;
    }
    lastWasAgent = false;
    if (key === 'sitemap') {
      if (value) sitemaps.push(value);
      continue;
    }
    if (!current) continue;
    if (key === 'allow' || key === 'disallow') {
      if (value === '') continue;
      current.rules.push({ allow: key === 'allow', pattern: value, regex: patternRegex(value) });
    } else if (key === 'crawl-delay') {
      const n = Number(value);
      if (Number.isFinite(n) && n >= 0) current.crawlDelay = n;
    }
  }
  const token = productToken.toLowerCase();
  const mine = groups.filter((g) => g.agents.some((a) => a !== '*' && token.startsWith(a)));
  const chosen = mine.length > 0 ? mine : groups.filter((g) => g.agents.includes('*'));
  const rules = chosen.flatMap((g) => g.rules);
  const delays = chosen.map((g) => g.crawlDelay).filter((d): d is number => d !== undefined);
  return {
    sitemaps,
    crawlDelay: delays.length > 0 ? Math.max(...delays) : undefined,
    isAllowed(pathAndQuery: string): boolean {
      if (pathAndQuery === '/robots.txt') return true;
      let best: Rule | null = null;
      for (const rule of rules) {
        if (!rule.regex.test(pathAndQuery)) continue;
        if (!best || rule.pattern.length > best.pattern.length || (rule.pattern.length === best.pattern.length && rule.allow && !best.allow)) best = rule;
      }
      return best ? best.allow : true;
    },
  };
}

function patternRegex(pattern: string): RegExp {
  const anchored = pattern.endsWith('$');
  const body = (anchored ? pattern.slice(0, -1) : pattern)
    .split('*')
    .map((part) => encodePath(part).replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}${anchored ? '$' : ''}`);
}

/** Rules and paths are compared percent-encoded, as RFC 9309 §2.2.2 asks. */
function encodePath(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
}
