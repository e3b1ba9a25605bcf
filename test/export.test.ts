import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { articleUrl } from '../src/mirror/site-model.js';
import { formatSnapshot } from '../src/snapshot/format.js';
import { runCli } from './helpers/cli.js';
import { listFiles, readManifest, tempDir } from './helpers/storage.js';

const env = { NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_RATE: '0' };
let mirror: MirrorServer;
let storage: string;

type Row = Record<string, string | number | boolean | null>;

/** The snapshot a record says, rebuilt by the snapshot format itself. */
function rebuild(r: Row): string {
  const field = (k: string) => (r[k] === null || r[k] === '' ? undefined : String(r[k]));
  return formatSnapshot({ id: String(r.id), date: String(r.date), url: String(r.url), title: String(r.title), siteName: field('siteName'), description: field('description'), image: field('image'), body: String(r.body) } as never);
}

beforeAll(async () => {
  // Sparse articles (no site name, description or image) among them, and two edits.
  mirror = new MirrorServer({ articles: 40, days: 3, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
  storage = await tempDir();
  expect((await runCli(['crawl', '--since', '20251213', '--origin', mirror.baseUrl, '--storage', storage], { env: { ...env, NEWSNAP_NOW: '2025-12-15T12:00:00Z' } })).code).toBe(0);
  const edited = mirror.all().filter((a) => !a.gallery).slice(0, 2);
  for (const a of edited) mirror.edit(a.id, { at: '2025-12-15T12:30:00Z', addParagraph: 'Ek, "tırnaklı", paragraf.' });
  expect((await runCli(['fetch', ...edited.map(articleUrl), '--origin', mirror.baseUrl, '--storage', storage], { env: { ...env, NEWSNAP_NOW: '2025-12-15T13:00:00Z' } })).code).toBe(0);
});
afterAll(() => mirror.close());

describe('newsnap export', () => {
  it('JSON lines: one record per article with the fields of the format; each rebuilds its snapshot file byte for byte', async () => {
    const res = await runCli(['export', '--storage', storage]);
    expect(res.code, res.stderr.slice(-1000)).toBe(0);
    const rows = res.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as Row);
    const snapshots = (await listFiles(join(storage, 'snapshots'))).map((f) => `snapshots/${f}`);
    expect(rows).toHaveLength(snapshots.length);
    expect(Object.keys(rows[0]!)).toEqual(['id', 'url', 'date', 'title', 'siteName', 'description', 'image', 'body', 'sha256', 'bytes', 'capturedAt', 'modifiedTime', 'state']);
    const manifest = new Map((await readManifest(storage)).map((l) => [l.id as string, l]));
    for (const r of rows) {
      const path = manifest.get(String(r.id))!.path as string;
      expect(rebuild(r), path).toBe(readFileSync(join(storage, path), 'utf8'));
      expect(r).toMatchObject({ sha256: manifest.get(String(r.id))!.sha256, bytes: readFileSync(join(storage, path)).length, state: 'done' });
    }
    // Sparse articles: their optional fields are null, not missing.
    expect(rows.some((r) => r.siteName === null && r.description === null && r.image === null)).toBe(true);
  });

  it('CSV (RFC 4180, read back by Python\'s csv module), gzipped by its name; --versions adds the earlier versions', async () => {
    const out = join(await tempDir(), 'export.csv.gz');
    const res = await runCli(['export', '--storage', storage, '--format', 'csv', '--versions', '--out', out]);
    expect(res.code, res.stderr.slice(-1000)).toBe(0);
    const csv = gunzipSync(readFileSync(out));
    expect(csv.toString('utf8').split('\r\n')[0]).toBe('id,url,date,title,siteName,description,image,body,sha256,bytes,capturedAt,modifiedTime,state,current');
    const parsed = spawnSync('/usr/bin/python3', ['-c', 'import csv, json, sys, io\nprint(json.dumps(list(csv.DictReader(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline="")))))'], { input: csv, encoding: 'utf8' });
    expect(parsed.status, parsed.stderr).toBe(0);
    const rows = JSON.parse(parsed.stdout) as Row[];
    const history = await listFiles(join(storage, 'history'));
    expect(history).toHaveLength(2);
    expect(rows.filter((r) => r.current === 'false')).toHaveLength(2);
    // Every row rebuilds a file newsnap wrote: a current snapshot, or a version kept in history/.
    const files = new Set([...(await listFiles(join(storage, 'snapshots'))).map((f) => readFileSync(join(storage, 'snapshots', f), 'utf8')), ...history.map((f) => readFileSync(join(storage, 'history', f), 'utf8'))]);
    for (const r of rows) expect(files.has(rebuild(r)), String(r.id)).toBe(true);
    expect(rows.length).toBe(files.size);
  });

  it('takes no lock and reads a date range only', async () => {
    const res = await runCli(['export', '--storage', storage, '--since', '2025-12-15', '--until', '2025-12-15']);
    const rows = res.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as Row);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.date === '2025-12-15')).toBe(true);
  });
});
