import { StringDecoder } from 'node:string_decoder';
import { Parser } from 'htmlparser2';

const ENTRIES = new Set(['url', 'sitemap', 'item']);

/**
 * Streams the URLs out of a sitemap, sitemap index or RSS feed without holding the document:
 * `<loc>` (with its `<lastmod>`) in `<url>`/`<sitemap>`, and `<link>` in RSS `<item>`. A month
 * sitemap of 50 000 URLs costs the memory of one URL.
 */
export class XmlLocStream {
  private readonly parser: Parser;
  private readonly decoder = new StringDecoder('utf8');
  private capture: string | null = null;
  private readonly open: string[] = [];
  /** The entry being read: its URL and `<lastmod>`, emitted when it closes. */
  private entry: { url: string; lastmod: string } = { url: '', lastmod: '' };
  /** The document element, lower-cased: `urlset`, `sitemapindex` or `rss`. */
  root: string | null = null;
  /** True once the document element was closed: the document was not cut off. */
  complete = false;
  count = 0;

  constructor(private readonly onUrl: (url: string, kind: 'url' | 'sitemap' | 'item', lastmod?: string) => void) {
    this.parser = new Parser(
      {
        onopentagname: (name) => {
          const tag = localName(name);
          if (this.open.length === 0) this.root = tag;
          this.open.push(tag);
          const parent = this.open[this.open.length - 2];
          if (ENTRIES.has(tag)) this.entry = { url: '', lastmod: '' };
          if ((tag === 'loc' && (parent === 'url' || parent === 'sitemap')) || (tag === 'link' && parent === 'item') || (tag === 'lastmod' && (parent === 'url' || parent === 'sitemap'))) this.capture = '';
        },
        ontext: (text) => {
          if (this.capture !== null) this.capture += text;
        },
        onclosetag: (name, isImplied) => {
          const tag = localName(name);
          if (this.capture !== null && (tag === 'loc' || tag === 'link' || tag === 'lastmod')) {
            if (tag === 'lastmod') this.entry.lastmod = this.capture.trim();
            else this.entry.url = this.capture.trim();
            this.capture = null;
          }
          if (ENTRIES.has(tag) && this.entry.url && !isImplied) {
            this.count++;
            this.onUrl(this.entry.url, tag as 'url' | 'sitemap' | 'item', this.entry.lastmod || undefined);
            this.entry = { url: '', lastmod: '' };
          }
          this.open.pop();
          // A close implied by end of input is a cut-off document, not a complete one.
          if (this.open.length === 0 && tag === this.root && !isImplied) this.complete = true;
        },
      },
      { xmlMode: true, decodeEntities: true },
    );
  }

  write(chunk: Buffer): void {
    this.parser.write(this.decoder.write(chunk));
  }

  end(): void {
    this.parser.write(this.decoder.end());
    this.parser.end();
  }

  /** Why the document is not a usable sitemap/feed, or null when it is. */
  problem(expected: readonly string[]): string | null {
    if (!this.root || !expected.includes(this.root)) return `not a ${expected.join(' or ')} document (root element ${this.root ?? 'missing'})`;
    if (!this.complete) return `document cut off before </${this.root}>`;
    return null;
  }
}

function localName(name: string): string {
  const i = name.indexOf(':');
  return (i >= 0 ? name.slice(i + 1) : name).toLowerCase();
}
