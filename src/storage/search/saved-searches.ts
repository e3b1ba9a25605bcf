import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { foldTurkish } from '../../search/fold.js';
import { compileQuery } from '../../search/query.js';
import { indexedBody, searchDocFromSnapshot, type SearchDoc } from '../../search/search-doc.js';
import type { VersionSearch } from '../version-store.js';
import { FTS_TABLES } from './search-schema.js';

/** A saved search of the configuration (`delivery.searches`). */
export interface SavedSearch {
  name: string;
  query: string;
}

/** Where the replaced version's text is: the index has it (with its blocks), else its file. */
export type PreviousDocSource = (id: string, sha256: string) => SearchDoc | null;

/**
 * The saved searches a new version matches, decided before its manifest line is written (the
 * line carries their names as `matches`): the version, and the one it replaces, are put in a
 * one-row FTS5 table in memory with the index's own tokenizer and folding, and each saved query
 * is run on it. So a saved search matches exactly what the same query finds with `newsnap search`,
 * and it works with the index off too.
 */
export class SavedSearches implements VersionSearch {
  private readonly db: Database.Database;
  private readonly queries: Array<{ name: string; fts: string }>;
  private readonly s;

  constructor(
    saved: readonly SavedSearch[],
    private readonly root: string,
    private readonly siteName: string,
    private readonly indexed: PreviousDocSource,
  ) {
    this.db = new Database(':memory:');
    this.db.exec(`CREATE VIRTUAL TABLE doc USING fts5(title, description, body, tokenize='${FTS_TABLES.folded.tokenize}')`);
    this.queries = saved.map((s) => ({ name: s.name, fts: compileQuery(s.query, 'folded') }));
    this.s = {
      insert: this.db.prepare('INSERT INTO doc (rowid, title, description, body) VALUES (?, ?, ?, ?)'),
      hits: this.db.prepare<[string], { rowid: number }>('SELECT rowid FROM doc WHERE doc MATCH ?'),
      clear: this.db.prepare('DELETE FROM doc'),
    };
  }

  get enabled(): boolean {
    return this.queries.length > 0;
  }

  /**
   * The names of the saved searches the version matches, and of those its previous version
   * matched (an edit that removed a match is news too), in the configuration's order.
   */
  matches(doc: SearchDoc, previous: { id: string; sha256: string; path: string } | null): string[] {
    if (!this.enabled) return [];
    try {
      this.put(1, doc);
      const found = new Set(this.queries.filter((q) => this.hits(q.fts).includes(1)).map((q) => q.name));
      // The replaced version is read only when a search did not match the new one.
      const rest = this.queries.filter((q) => !found.has(q.name));
      if (rest.length > 0 && previous && this.putPrevious(previous)) {
        for (const q of rest) if (this.hits(q.fts).includes(2)) found.add(q.name);
      }
      return this.queries.filter((q) => found.has(q.name)).map((q) => q.name);
    } finally {
      this.s.clear.run();
    }
  }

  close(): void {
    this.db.close();
  }

  private put(rowid: number, doc: SearchDoc): void {
    this.s.insert.run(rowid, foldTurkish(doc.title), doc.description === null ? null : foldTurkish(doc.description), foldTurkish(indexedBody(doc)));
  }

  /** Puts the replaced version in as row 2; false when its text cannot be found. */
  private putPrevious(previous: { id: string; sha256: string; path: string }): boolean {
    const doc = this.indexed(previous.id, previous.sha256) ?? this.fromFile(previous.path, previous.sha256);
    if (!doc) return false;
    this.put(2, doc);
    return true;
  }

  private hits(fts: string): number[] {
    return this.s.hits.all(fts).map((r) => r.rowid);
  }

  private fromFile(path: string, sha256: string): SearchDoc | null {
    try {
      const data = readFileSync(join(this.root, path));
      if (createHash('sha256').update(data).digest('hex') !== sha256) return null;
      return searchDocFromSnapshot(data.toString('utf8'), this.siteName);
    } catch {
      return null;
    }
  }
}
