import { DomHandler, type Document } from 'domhandler';
import { Parser, QuoteType } from 'htmlparser2';
import type { PageText } from './article.js';
import { IndexOfTokenizer } from './indexof-tokenizer.js';

/**
 * A DOM of only what extraction can look at: every `meta`, `link` and `title`, JSON-LD scripts,
 * and the whole subtree of each element matching one of `keep` (the headline and the article
 * body). Everything else — navigation, sidebars, application-state scripts, most of a 230 KB
 * page — is tokenized but never becomes a node. Kept elements stay in document order, so
 * "first match" means the same as in the full DOM.
 */
/**
 * Depth past which elements are not built, only their text kept (script/style/noscript/template
 * text still dropped, `<br>` still a space). domutils' queries cost O(nodes × depth), so a
 * 10 000-deep page would take seconds; real pages are some 20 levels deep.
 */
export const MAX_DOM_DEPTH = 256;
const DROPPED_TEXT = new Set(['script', 'style', 'noscript', 'template']);

type Frame = 'kept' | 'skipped' | 'flat' | 'flat-dropped';

class PrunedDomHandler extends DomHandler {
  private readonly kept: Frame[] = [];
  private depth = 0;
  /** Open flattened elements whose text is dropped. */
  private droppedText = 0;

  constructor(private readonly keep: SimpleSelector[]) {
    super(undefined, { decodeEntities: true } as never);
  }

  override onopentag(name: string, attribs: Record<string, string>): void {
    if (this.depth >= MAX_DOM_DEPTH) {
      const dropped = DROPPED_TEXT.has(name);
      if (dropped) this.droppedText++;
      else if (name === 'br' && this.droppedText === 0) super.ontext(' ');
      this.kept.push(dropped ? 'flat-dropped' : 'flat');
      return;
    }
    if (this.depth > 0 || this.wanted(name, attribs)) {
      super.onopentag(name, attribs);
      this.kept.push('kept');
      this.depth++;
      return;
    }
    this.kept.push('skipped');
    this.lastNode = null;
  }

  override onclosetag(): void {
    const frame = this.kept.pop();
    if (frame === 'kept') {
      super.onclosetag();
      this.depth--;
    } else if (frame === 'flat-dropped') {
      this.droppedText--;
    } else if (frame === 'skipped') {
      this.lastNode = null;
    }
  }

  override ontext(data: string): void {
    if (this.depth > 0 && this.droppedText === 0) super.ontext(data);
  }

  override oncomment(): void {
    // Comments carry no text a snapshot uses.
  }

  override oncommentend(): void {
    // See oncomment.
  }

  /** Whether the element opening now could become a node: only then are its attributes gathered. */
  attributesWanted = true;

  onopentagname(name: string): void {
    this.attributesWanted = this.depth > 0 || ALWAYS_LOOKED_AT.has(name) || this.keep.some((s) => s.mayMatch(name));
  }

  private wanted(name: string, attribs: Record<string, string>): boolean {
    if (name === 'meta' || name === 'link' || name === 'title') return true;
    if (name === 'script') return attribs.type === 'application/ld+json';
    return this.keep.some((s) => s.matches(name, attribs));
  }
}

const ALWAYS_LOOKED_AT = new Set(['meta', 'link', 'title', 'script']);

/**
 * htmlparser2's parser that does not gather the attributes of an element the pruned DOM cannot
 * keep (outside every kept subtree, with a name no selector takes): the handler would drop them.
 * Most tags of a page are such, and their attribute strings were most of the garbage a parse made.
 */
class PrunedParser extends Parser {
  constructor(private readonly pruned: PrunedDomHandler) {
    super(pruned, { decodeEntities: true, Tokenizer: IndexOfTokenizer });
  }

  override onattribname(start: number, endIndex: number): void {
    if (this.pruned.attributesWanted) super.onattribname(start, endIndex);
    else this.startIndex = start;
  }

  override onattribdata(start: number, endIndex: number): void {
    if (this.pruned.attributesWanted) super.onattribdata(start, endIndex);
  }

  override onattribentity(cp: number): void {
    if (this.pruned.attributesWanted) super.onattribentity(cp);
  }

  override onattribend(quote: QuoteType, endIndex: number): void {
    if (this.pruned.attributesWanted) super.onattribend(quote, endIndex);
    else this.endIndex = endIndex;
  }
}

/** A compound selector without combinators: `tag`, `.class`, `tag.class.other`, `#id`. */
export interface SimpleSelector {
  matches(name: string, attribs: Record<string, string>): boolean;
  /** Whether an element of this name could match, whatever its attributes. */
  mayMatch(name: string): boolean;
}

const SIMPLE = /^([a-zA-Z][a-zA-Z0-9-]*)?((?:[.#][A-Za-z0-9_-]+)*)$/;

/** Parses a selector list of simple selectors, or null when any part needs a full DOM. */
export function simpleSelectors(selector: string): SimpleSelector[] | null {
  const out: SimpleSelector[] = [];
  for (const part of selector.split(',').map((p) => p.trim())) {
    const m = SIMPLE.exec(part);
    if (!m || part === '') return null;
    const tag = m[1]?.toLowerCase();
    const classes: string[] = [];
    const ids: string[] = [];
    for (const token of (m[2] ?? '').match(/[.#][^.#]+/g) ?? []) (token[0] === '.' ? classes : ids).push(token.slice(1));
    out.push({
      mayMatch: (name) => !tag || name === tag,
      matches(name, attribs) {
        if (tag && name !== tag) return false;
        if (ids.some((id) => attribs.id !== id)) return false;
        if (classes.length === 0) return true;
        const have = (attribs.class ?? '').split(/\s+/);
        return classes.every((c) => have.includes(c));
      },
    });
  }
  return out;
}

/** The pruned DOM of a page given whole or in pieces (htmlparser2 parses a stream of them). */
export function parsePrunedDocument(html: PageText, keep: SimpleSelector[]): Document {
  const handler = new PrunedDomHandler(keep);
  const parser = new PrunedParser(handler);
  if (typeof html === 'string') parser.end(html);
  else {
    for (const piece of html) parser.write(piece);
    parser.end();
  }
  return handler.root;
}
