import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedSnapshot, MirrorServer } from '../src/mirror/index.js';
import { articleUrl } from '../src/mirror/site-model.js';
import { SqliteState } from '../src/storage/state/state-store.js';
import { SCHEMA_VERSION } from '../src/storage/state/state-schema.js';
import { logRecords, runCli } from './helpers/cli.js';
import { snapshotPath } from './helpers/mirror.js';
import { readManifest, tempDir } from './helpers/storage.js';

/** The state store as the previous newsnap wrote it: no versions, no schedule, no `gone`. */
const V0_SCHEMA = `
CREATE TABLE articles (
  id TEXT PRIMARY KEY, url TEXT NOT NULL, day TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'skipped')),
  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, reason TEXT, sha256 TEXT, path TEXT,
  discovered_at TEXT NOT NULL, updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX articles_work ON articles (state, day, id);
CREATE TABLE sources (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, body TEXT, checked_at TEXT NOT NULL);
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, status TEXT, summary TEXT);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

let mirror: MirrorServer;
beforeAll(async () => {
  mirror = new MirrorServer({ articles: 10, days: 2, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
});
afterAll(() => mirror.close());

describe('a storage folder written by the previous newsnap', () => {
  it('is upgraded in place: its manifest lines read as "new" versions, and the next edit keeps the old bytes in history', async () => {
    const storage = await tempDir();
    const a = mirror.all().find((x) => !x.gallery)!;
    const old = expectedSnapshot(a)!;
    const path = snapshotPath(a);
    mkdirSync(join(storage, path, '..'), { recursive: true });
    writeFileSync(join(storage, path), old);
    const line = `${JSON.stringify({ id: a.id, url: articleUrl(a), date: path.slice(10, 20), path, sha256: createHash('sha256').update(old).digest('hex'), bytes: Buffer.byteLength(old), fetchedAt: '2025-12-14T08:00:00.000Z' })}\n`;
    writeFileSync(join(storage, 'manifest.jsonl'), line);
    const db = new Database(join(storage, 'state.sqlite'));
    db.exec(V0_SCHEMA);
    db.prepare(`INSERT INTO articles VALUES (?, ?, ?, 'done', 0, NULL, NULL, ?, ?, ?, ?)`).run(a.id, articleUrl(a), a.day, createHash('sha256').update(old).digest('hex'), path, '2025-12-14T08:00:00.000Z', '2025-12-14T08:00:00.000Z');
    db.prepare(`INSERT INTO meta VALUES ('manifest.offset', ?)`).run(String(Buffer.byteLength(line)));
    db.close();

    mirror.edit(a.id, { at: '2025-12-15T11:00:00Z', title: 'Sonradan düzeltildi' });
    const res = await runCli(['fetch', articleUrl(a), '--origin', mirror.baseUrl, '--storage', storage], { env: { NEWSNAP_NOW: '2025-12-15T12:00:00Z', NEWSNAP_RENDER_POLICY: 'never' } });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.toString()).toBe(`updated ${path} ${articleUrl(a)}\n`);
    expect(logRecords(res.stderr).some((r) => r.msg === 'state upgraded from an earlier newsnap; the manifest was read again into it')).toBe(true);

    const history = `history/${path.slice(10, 20)}/${a.id}/20251214T080000Z.txt`;
    expect(readFileSync(join(storage, history), 'utf8')).toBe(old);
    expect(readFileSync(join(storage, path), 'utf8')).toBe(expectedSnapshot(a));
    const manifest = await readManifest(storage);
    expect(manifest[0]).not.toHaveProperty('event');
    expect(manifest[1]).toMatchObject({ event: 'updated', historyPath: history });
    const shown = JSON.parse((await runCli(['history', a.id, '--json', '--storage', storage])).stdout.toString()) as { versions: Array<{ event: string; at: string; path: string }> };
    expect(shown.versions).toEqual([
      expect.objectContaining({ event: 'new', at: '2025-12-14T08:00:00.000Z', path: history }),
      expect.objectContaining({ event: 'updated', at: '2025-12-15T12:00:00.000Z', path }),
    ]);
    const upgraded = new Database(join(storage, 'state.sqlite'), { readonly: true });
    expect(upgraded.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(upgraded.pragma('integrity_check', { simple: true })).toBe('ok');
    upgraded.close();
  });
});

describe('a storage folder that holds articles stranded by an outage (schema 1)', () => {
  it('is migrated: failures recorded as network errors no longer count; an article that used up its runs is retried on the slow schedule; all end captured', async () => {
    const storage = await tempDir();
    new SqliteState(storage).close();
    const db = new Database(join(storage, 'state.sqlite'));
    db.exec('ALTER TABLE articles DROP COLUMN given_up_at');
    db.pragma('user_version = 1');
    const [a, b, c] = mirror.all().filter((x) => !x.gallery);
    const insert = db.prepare(`INSERT INTO articles (id, url, day, state, attempts, last_error, discovered_at, updated_at) VALUES (?, ?, ?, 'failed', ?, ?, '2025-12-14T08:00:00.000Z', '2025-12-14T08:00:00.000Z')`);
    insert.run(a!.id, articleUrl(a!), a!.day, 5, `${articleUrl(a!)}: connection failed (ECONNREFUSED)`);
    insert.run(b!.id, articleUrl(b!), b!.day, 5, `${articleUrl(b!)} answered HTTP 500`);
    insert.run(c!.id, articleUrl(c!), c!.day, 2, `${articleUrl(c!)} timed out (UND_ERR_CONNECT_TIMEOUT)`);
    db.close();

    const res = await runCli(['crawl', '--since', mirror.all()[0]!.day, '--origin', mirror.baseUrl, '--storage', storage, '--rate', '0'], { env: { NEWSNAP_NOW: '2025-12-15T12:00:00Z', NEWSNAP_RENDER_POLICY: 'never' } });
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    const records = logRecords(res.stderr);
    expect(records.find((r) => r.msg === 'state upgraded from an earlier newsnap; articles that failed only because the site was unreachable are pending again')).toMatchObject({ from: 1, forgiven: 2 });
    expect(records.find((r) => r.msg === 'articles that failed all their runs are retried on the slow schedule')).toMatchObject({ articles: 1 });
    for (const x of [a!, b!, c!]) expect(readFileSync(join(storage, snapshotPath(x)), 'utf8')).toBe(expectedSnapshot(x));
  });
});

describe('a storage folder of the previous schema, given to a command that only reads', () => {
  // `events` needs no state to read the manifest from its start, so it works on any schema.
  it('is refused by verify, export and history (exit 2, naming the file and the command that upgrades it), and left as it was', async () => {
    const storage = await tempDir();
    new SqliteState(storage).close();
    const db = new Database(join(storage, 'state.sqlite'));
    db.pragma(`user_version = ${SCHEMA_VERSION - 1}`);
    db.close();
    writeFileSync(join(storage, 'manifest.jsonl'), '');
    for (const command of [['verify'], ['export'], ['history', '1102014239']]) {
      const res = await runCli([...command, '--storage', storage]);
      expect(res.code, `${command[0]}: ${res.stderr.slice(-800)}`).toBe(2);
      expect(res.stderr).toContain(`${join(storage, 'state.sqlite')} was written by an older newsnap (schema ${SCHEMA_VERSION - 1}, this one reads ${SCHEMA_VERSION})`);
      expect(res.stderr).toContain('run newsnap crawl (or fetch) on it once');
    }
    const after = new Database(join(storage, 'state.sqlite'), { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION - 1);
    after.close();
  });
});
