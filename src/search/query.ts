import { foldFor, type FoldMode } from './fold.js';

/**
 * The search query language (docs/search.md): words, "quoted phrases", a `*` after a word for a
 * prefix, AND / OR / NOT (upper case; words side by side are ANDed), parentheses, and `title:`,
 * `description:` or `body:` before a word, phrase or group. It is parsed here, not handed to
 * SQLite: a query that cannot be parsed is an error naming its position, and what reaches FTS5
 * is always built from quoted strings (no FTS5 syntax a user typed, no NEAR, no column sets).
 */

export const FIELDS = ['title', 'description', 'body'] as const;
export type Field = (typeof FIELDS)[number];

export type QueryNode =
  | { kind: 'text'; text: string; prefix: boolean; at: number }
  | { kind: 'field'; field: Field; node: QueryNode }
  | { kind: 'and' | 'or' | 'not'; left: QueryNode; right: QueryNode };

/** A query that cannot be parsed: `position` is 1-based, in characters of the query. */
export class QueryError extends Error {
  override readonly name = 'QueryError';
  constructor(
    readonly position: number,
    what: string,
  ) {
    super(`${what} at position ${position}`);
  }
}

/**
 * Bounds that keep any query cheap: its length, its words (a phrase counts each of its words:
 * FTS5 reads a position list for each), its prefixes, their letters, its nesting.
 */
export const QUERY_LIMITS = { characters: 500, words: 32, depth: 12, prefixLetters: 3, prefixes: 4 } as const;

type Token =
  | { t: 'text'; text: string; prefix: boolean; at: number }
  | { t: 'field'; field: Field; at: number }
  | { t: '(' | ')' | 'AND' | 'OR' | 'NOT'; at: number };

const WORD_CHAR = /[\p{L}\p{N}]/u;
const OPERATORS = new Set(['AND', 'OR', 'NOT']);

/** Parses a query; throws a QueryError naming the position of the first problem. */
export function parseQuery(query: string): QueryNode {
  if (query.length > QUERY_LIMITS.characters) throw new QueryError(QUERY_LIMITS.characters + 1, `the query is too long (${query.length} characters, at most ${QUERY_LIMITS.characters})`);
  const tokens = lex(query);
  const texts = tokens.filter((t) => t.t === 'text');
  if (tokens.length === 0) throw new QueryError(Math.max(1, query.length), 'nothing to search: give a word or a "phrase"');
  checkWords(texts as Array<Extract<Token, { t: 'text' }>>);
  // Each prefix merges every indexed term that starts with it: a few keep a query cheap on real text.
  const prefixes = texts.filter((t) => t.t === 'text' && t.prefix);
  if (prefixes.length > QUERY_LIMITS.prefixes) throw new QueryError((prefixes[QUERY_LIMITS.prefixes] as Token).at, `too many prefixes (${prefixes.length} words with *, at most ${QUERY_LIMITS.prefixes})`);
  return new Parser(tokens, query.length).parse();
}

function lex(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      out.push({ t: c, at: i + 1 });
      i++;
    } else if (c === '"') {
      const end = q.indexOf('"', i + 1);
      if (end < 0) throw new QueryError(i + 1, 'this quote is never closed (a phrase is "between two quotes")');
      const text = q.slice(i + 1, end);
      const prefix = q[end + 1] === '*';
      if (!WORD_CHAR.test(text)) throw new QueryError(i + 1, 'nothing to search between these quotes');
      if (prefix) checkPrefix(text, i + 1);
      out.push({ t: 'text', text, prefix, at: i + 1 });
      i = end + (prefix ? 2 : 1);
    } else {
      let end = i;
      while (end < q.length && !/[\s"()]/.test(q[end] as string)) end++;
      i = word(q.slice(i, end), i + 1, out);
    }
  }
  return out;
}

/** One bare word (or a field name before its value); returns where lexing goes on. */
function word(w: string, at: number, out: Token[]): number {
  const field = /^(\p{L}+):/u.exec(w);
  if (field) {
    const name = (field[1] as string).toLowerCase();
    const known = (FIELDS as readonly string[]).includes(name);
    const rest = w.length > field[0].length;
    if (known) {
      out.push({ t: 'field', field: name as Field, at });
      // The value follows at once: a word, "a phrase" or (a group).
      return at - 1 + field[0].length;
    }
    if (rest && /^[A-Za-z]+$/.test(name)) throw new QueryError(at, `unknown field "${field[1]}:" (fields are ${FIELDS.map((f) => `${f}:`).join(', ')}; put the word in quotes to search it as text)`);
  }
  if (OPERATORS.has(w)) {
    out.push({ t: w as 'AND' | 'OR' | 'NOT', at });
    return at - 1 + w.length;
  }
  if (/^NEAR\b/.test(w)) throw new QueryError(at, 'NEAR is not supported (search a "phrase", or put "near" in quotes to search the word)');
  const prefix = w.endsWith('*');
  const text = prefix ? w.slice(0, -1) : w;
  const star = text.indexOf('*');
  if (star >= 0) throw new QueryError(at + star, '* only ends a word (seçim* finds seçim, seçimler, seçimde…)');
  if (prefix) checkPrefix(text, at);
  // A word of punctuation only (a lone "&" or "–") separates words, as it does in the text.
  if (WORD_CHAR.test(text)) out.push({ t: 'text', text, prefix, at });
  return at - 1 + w.length;
}

/** The words FTS5's tokenizer makes of a text: runs of letters and digits (punctuation separates). */
function wordsOf(text: string): string[] {
  return text.match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The words limit, a phrase counted by its words: the error points at the text that crosses it. */
function checkWords(texts: ReadonlyArray<{ text: string; at: number }>): void {
  let words = 0;
  let crossing: { at: number } | undefined;
  for (const t of texts) {
    words += wordsOf(t.text).length;
    if (words > QUERY_LIMITS.words) crossing ??= t;
  }
  if (crossing) throw new QueryError(crossing.at, `too many words (${words}, at most ${QUERY_LIMITS.words}; a "phrase" counts each of its words)`);
}

function checkPrefix(text: string, at: number): void {
  const last = wordsOf(text).at(-1) ?? '';
  if ([...last].length < QUERY_LIMITS.prefixLetters) throw new QueryError(at, `a * needs at least ${QUERY_LIMITS.prefixLetters} letters before it (seçim*)`);
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly length: number,
  ) {}

  parse(): QueryNode {
    const node = this.or();
    const extra = this.tokens[this.i];
    if (extra) throw new QueryError(extra.at, extra.t === ')' ? 'this ) closes no (' : `unexpected ${describe(extra)}`);
    return node;
  }

  private or(): QueryNode {
    let left = this.and();
    while (this.peek()?.t === 'OR') {
      const op = this.next();
      this.operand(op);
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  /** Words side by side, AND and NOT: one level, left to right (`a b NOT c` is a and b, without c). */
  private and(): QueryNode {
    let left = this.unary();
    for (;;) {
      const p = this.peek();
      if (p?.t === 'AND' || p?.t === 'NOT') {
        const op = this.next();
        this.operand(op);
        left = { kind: p.t === 'AND' ? 'and' : 'not', left, right: this.unary() };
      } else if (p && (p.t === 'text' || p.t === 'field' || p.t === '(')) {
        left = { kind: 'and', left, right: this.unary() };
      } else {
        return left;
      }
    }
  }

  /** What follows an operator must be a word, a phrase, a field or a group. */
  private operand(op: Token): void {
    const p = this.peek();
    if (!p || p.t === ')' || OPERATORS.has(p.t)) throw new QueryError(op.at, `${op.t} needs a word, a "phrase" or a (group) after it`);
  }

  private unary(): QueryNode {
    const p = this.peek();
    if (!p) throw new QueryError(Math.max(1, this.length), 'the query ends where a word was expected');
    if (p.t === 'NOT') throw new QueryError(p.at, 'NOT needs something before it: write a NOT b (articles with a, without b)');
    if (p.t === 'AND' || p.t === 'OR') throw new QueryError(p.at, `${p.t} needs a word, a "phrase" or a (group) before it`);
    if (p.t === 'field') {
      this.next();
      const value = this.peek();
      if (!value || (value.t !== 'text' && value.t !== '(') || value.at !== p.at + p.field.length + 1) {
        throw new QueryError(p.at, `${p.field}: needs a word, a "phrase" or a (group) right after it`);
      }
      const node = this.primary();
      if (hasField(node)) throw new QueryError(p.at, `a field inside ${p.field}: cannot match`);
      return { kind: 'field', field: p.field, node };
    }
    return this.primary();
  }

  private primary(): QueryNode {
    const p = this.next();
    if (p.t === 'text') return { kind: 'text', text: p.text, prefix: p.prefix, at: p.at };
    if (p.t !== '(') throw new QueryError(p.at, p.t === ')' ? 'this ) closes no (' : `unexpected ${describe(p)}`);
    if (++this.depth > QUERY_LIMITS.depth) throw new QueryError(p.at, `groups nested too deep (at most ${QUERY_LIMITS.depth})`);
    if (this.peek()?.t === ')') throw new QueryError(p.at, 'an empty ( )');
    const node = this.or();
    if (this.peek()?.t !== ')') throw new QueryError(p.at, 'this ( is never closed');
    this.next();
    this.depth--;
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private next(): Token {
    const t = this.tokens[this.i++];
    if (!t) throw new QueryError(Math.max(1, this.length), 'the query ends where a word was expected');
    return t;
  }
}

function hasField(node: QueryNode): boolean {
  if (node.kind === 'field') return true;
  if (node.kind === 'text') return false;
  return hasField(node.left) || hasField(node.right);
}

function describe(t: Token): string {
  return t.t === 'text' ? `"${t.text}"` : t.t === 'field' ? `${t.field}:` : t.t;
}

/**
 * The FTS5 expression of a parsed query for one of the two indexes: every word and phrase folded
 * as that index folds its text, and quoted (so FTS5 reads nothing in it as syntax); every
 * operator parenthesized as the query grouped it.
 */
export function toFts5(node: QueryNode, mode: FoldMode): string {
  const fold = foldFor(mode);
  const walk = (n: QueryNode): string => {
    switch (n.kind) {
      case 'text':
        return `"${fold(n.text).replace(/"/g, '""')}"${n.prefix ? ' *' : ''}`;
      case 'field':
        return `${n.field} : ${walk(n.node)}`;
      default:
        return `(${walk(n.left)} ${n.kind.toUpperCase()} ${walk(n.right)})`;
    }
  };
  return walk(node);
}

/** Parses and compiles in one step: the FTS5 expression of a query, or a QueryError. */
export function compileQuery(query: string, mode: FoldMode): string {
  return toFts5(parseQuery(query), mode);
}
