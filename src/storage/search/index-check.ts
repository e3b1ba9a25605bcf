import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ManifestRecord } from '../manifest.js';
import { INDEXED_SEQ, SEARCH_FILE, SEARCH_SCHEMA_VERSION } from './search-schema.js';

/** A disagreement between the search index and the manifest, with its fix (verify's Problem, kind `index`). */
export interface IndexProblem {
  detail: string;
  fix: string;
}

const REBUILD = 'newsnap index --rebuild (it is built from the manifest and the files; nothing else depends on it)';
const CATCH_UP = 'newsnap index (it applies the lines it lacks; every crawl, fetch or serve does at its start)';

/**
 * `verify`'s look at the search index: it must hold one row per version the manifest records
 * (the same article and bytes), as far as state has applied the manifest, each article's last
 * version marked current and its removal marked gone. Fed the manifest's lines as verify streams
 * them; a disagreement is counted by kind and said once, with an example.
 */
export class IndexCheck {
  private readonly indexed: number;
  private readonly byArticle = new Map<string, { seq: number; gone: boolean }>();
  private readonly wrong = { missing: 0, differs: 0, example: '' };
  private versions = 0;
  private readonly docAt: Database.Statement<[number], { article_id: string; sha256: string }>;

  private constructor(private readonly db: Database.Database) {
    this.docAt = db.prepare(`SELECT article_id, sha256 FROM docs WHERE seq = ?`);
    this.indexed = Number((db.prepare(`SELECT value FROM meta WHERE key = ?`).get(INDEXED_SEQ) as { value: string } | undefined)?.value ?? '0');
  }

  /** The check of `root`'s index, or the one problem that stops it (missing, unreadable). */
  static open(root: string): IndexCheck | IndexProblem {
    const path = join(root, SEARCH_FILE);
    if (!existsSync(path)) return { detail: 'the search index is missing', fix: `${REBUILD}; the next crawl, fetch or serve builds it too` };
    let db: Database.Database | null = null;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      // Beside a serve that writes it, a read may wait a moment for a checkpoint.
      db.pragma('busy_timeout = 5000');
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== SEARCH_SCHEMA_VERSION) throw new Error(`schema ${version}, this newsnap reads ${SEARCH_SCHEMA_VERSION}`);
      // Its pages whole (it is written without fsync: a power cut may tear it).
      const check = db.pragma('quick_check', { simple: true }) as string;
      if (check !== 'ok') throw new Error(`damaged: ${check}`);
      return new IndexCheck(db);
    } catch (err) {
      db?.close();
      return { detail: `the search index cannot be read: ${(err as { code?: string }).code ?? (err as Error).message}`, fix: REBUILD };
    }
  }

  /** One manifest line, in order. */
  line(r: ManifestRecord): void {
    // Lines past the index's watermark are the next catch-up's: the index is judged as of it.
    if (r.seq > this.indexed) return;
    const known = this.byArticle.get(r.id);
    if (r.event === 'gone') {
      if (known) known.gone = true;
      return;
    }
    this.byArticle.set(r.id, { seq: r.seq, gone: r.event === 'reextracted' ? (known?.gone ?? false) : false });
    this.versions++;
    const doc = this.docAt.get(r.seq);
    if (!doc) this.note('missing', `line ${r.seq} (${r.event} of ${r.id}) is not in it`);
    else if (doc.article_id !== r.id || doc.sha256 !== r.sha256) this.note('differs', `line ${r.seq} is there as article ${doc.article_id} (sha256 ${doc.sha256.slice(0, 12)}…), the manifest says ${r.id} (${r.sha256.slice(0, 12)}…)`);
  }

  /**
   * The problems found, once the manifest has been read up to line `appliedSeq` (as state has
   * applied it). Beside a running crawl (which writes the index as it goes) only the lines read are
   * checked, not the count of rows nor which ones are current.
   */
  finish(appliedSeq: number, runInProgress: boolean): IndexProblem[] {
    const out: IndexProblem[] = [];
    try {
      if (this.wrong.missing + this.wrong.differs > 0) {
        out.push({ detail: `the search index disagrees with the manifest: ${this.wrong.missing} version(s) missing, ${this.wrong.differs} different (e.g. ${this.wrong.example})`, fix: REBUILD });
      }
      if (runInProgress) return out;
      if (this.indexed < appliedSeq) out.push({ detail: `the search index holds ${this.indexed} of the ${appliedSeq} manifest lines state has applied`, fix: CATCH_UP });
      const rows = this.db.prepare(`SELECT COUNT(*) AS n FROM docs WHERE seq <= ?`).get(appliedSeq) as { n: number };
      if (rows.n > this.versions) out.push({ detail: `the search index has ${rows.n - this.versions} version(s) the manifest does not record`, fix: REBUILD });
      const flags = this.flagProblems();
      if (flags) out.push(flags);
      return out;
    } finally {
      this.db.close();
    }
  }

  /** Each article's last indexed version is its only current one, gone as its last event says. */
  private flagProblems(): IndexProblem | null {
    const current = this.db.prepare(`SELECT article_id, gone FROM docs WHERE seq = ? AND +current = 1`);
    let wrong = 0;
    let example = '';
    for (const [id, last] of this.byArticle) {
      if (last.seq > this.indexed) continue;
      const row = current.get(last.seq) as { article_id: string; gone: number } | undefined;
      if (!row || row.gone !== (last.gone ? 1 : 0)) {
        wrong++;
        example ||= `article ${id}: line ${last.seq} ${row ? `is ${row.gone ? '' : 'not '}marked gone` : 'is not marked current'}`;
      }
    }
    const currents = (this.db.prepare(`SELECT COUNT(*) AS n FROM docs WHERE current = 1 AND seq <= ?`).get(this.indexed) as { n: number }).n;
    const expected = [...this.byArticle.values()].filter((a) => a.seq <= this.indexed).length;
    if (currents !== expected) {
      wrong += Math.abs(currents - expected);
      example ||= `${currents} versions marked current for ${expected} articles`;
    }
    return wrong > 0 ? { detail: `the search index marks ${wrong} article(s) wrongly current or gone (e.g. ${example})`, fix: REBUILD } : null;
  }

  private note(kind: 'missing' | 'differs', example: string): void {
    this.wrong[kind]++;
    this.wrong.example ||= example;
  }
}
