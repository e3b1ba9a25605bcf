import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParquetTable, type Column } from '../src/export/parquet-table.js';
import { MirrorServer, type MirrorArticle } from '../src/mirror/index.js';
import { articleUrl } from '../src/mirror/site-model.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/storage.js';
import { readWarcByHand } from './helpers/warc-files.js';

const T0 = '2025-12-15T12:00:00.000Z';
const T1 = '2025-12-15T13:00:00.000Z';
const env = (now: string) => ({ NEWSNAP_NOW: now, NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_RATE: '0' });
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

let mirror: MirrorServer;
let storage: string;
let out: string;
let db: DuckDBConnection;
let retitled: MirrorArticle;
let extended: MirrorArticle;
type Row = Record<string, unknown>;

async function query(sql: string): Promise<Row[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJson() as Row[];
}
const table = (name: string) => `'${join(out, `${name}.parquet`)}'`;

async function jsonl(args: string[]): Promise<Array<Record<string, string>>> {
  const res = await runCli(['export', '--storage', storage, ...args]);
  expect(res.code, res.stderr.slice(-1000)).toBe(0);
  return res.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
}

beforeAll(async () => {
  mirror = new MirrorServer({ articles: 40, days: 3, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
  storage = await tempDir();
  expect((await runCli(['crawl', '--since', '20251213', '--origin', mirror.baseUrl, '--storage', storage], { env: env(T0) })).code).toBe(0);
  [retitled, extended] = mirror.all().filter((a) => !a.gallery) as [MirrorArticle, MirrorArticle];
  mirror.edit(retitled.id, { at: '2025-12-15T12:30:00Z', title: 'Başlık değişti' });
  mirror.edit(extended.id, { at: '2025-12-15T12:30:00Z', addParagraph: 'Güncelleme: habere yeni bir paragraf eklendi.' });
  expect((await runCli(['fetch', articleUrl(retitled), articleUrl(extended), '--origin', mirror.baseUrl, '--storage', storage], { env: env(T1) })).code).toBe(0);
  out = join(await tempDir(), 'dataset');
  const res = await runCli(['export', '--format', 'parquet', '--out', out, '--storage', storage], { env: env(T1) });
  expect(res.code, res.stderr.slice(-2000)).toBe(0);
  db = await (await DuckDBInstance.create(':memory:')).connect();
});
afterAll(async () => {
  db?.closeSync();
  await mirror?.close();
});

describe('newsnap export --format parquet, read by DuckDB', () => {
  it('DESCRIBE shows the types: text VARCHAR (UTF-8), instants TIMESTAMP WITH TIME ZONE, no INT96', async () => {
    const types = async (name: string) => Object.fromEntries((await query(`DESCRIBE ${table(name)}`)).map((r) => [r.column_name, r.column_type]));
    const tz = 'TIMESTAMP WITH TIME ZONE';
    expect(await types('articles')).toEqual({
      id: 'VARCHAR', url: 'VARCHAR', published: tz, first_seen: tz, last_seen: tz, removed_at: tz, state: 'VARCHAR',
      versions: 'INTEGER', title: 'VARCHAR', description: 'VARCHAR', image: 'VARCHAR', body: 'VARCHAR',
    });
    expect(await types('versions')).toEqual({
      id: 'VARCHAR', version: 'INTEGER', captured_at: tz, event: 'VARCHAR', title: 'VARCHAR', description: 'VARCHAR', body: 'VARCHAR',
      chars_added: 'INTEGER', chars_removed: 'INTEGER', title_changed: 'BOOLEAN', similarity: 'DOUBLE',
    });
    expect(await types('captures')).toEqual({
      url: 'VARCHAR', url_surtkey: 'VARCHAR', fetch_time: tz, fetch_status: 'INTEGER', content_mime_type: 'VARCHAR', payload_digest: 'VARCHAR',
      warc_filename: 'VARCHAR', warc_record_offset: 'BIGINT', warc_record_length: 'BIGINT', warc_record_type: 'VARCHAR',
    });
    const physical = await query(`SELECT DISTINCT type, logical_type FROM parquet_schema(${table('versions')}) WHERE name = 'captured_at'`);
    expect(physical).toEqual([{ type: 'INT64', logical_type: 'TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=MilliSeconds(), MICROS=<null>, NANOS=<null>))' }]);
  });

  it('row counts and a checksum of ids and bodies match the JSON-lines export (current, and with --versions)', async () => {
    const current = await jsonl([]);
    const all = await jsonl(['--versions']);
    const digest = (rows: Array<Record<string, string>>) => sha(rows.map((r) => `${r.id}\t${r.body}`).sort().join('\n'));
    const inDuck = async (name: string) =>
      (await query(`SELECT count(*)::INTEGER AS n, sha256(string_agg(id || chr(9) || body, chr(10) ORDER BY id || chr(9) || body)) AS digest FROM ${table(name)}`))[0];
    expect(await inDuck('articles')).toEqual({ n: current.length, digest: digest(current) });
    expect(await inDuck('versions')).toEqual({ n: all.length, digest: digest(all) });
    expect(all.length).toBe(current.length + 2);
  });

  it('each edit is a version with what changed; articles count their versions', async () => {
    const edits = await query(
      `SELECT id, version, captured_at::VARCHAR AS at, event, chars_added, chars_removed, title_changed, round(similarity, 3) AS similarity FROM ${table('versions')} WHERE id IN ('${retitled.id}', '${extended.id}') ORDER BY id, version`,
    );
    // The added paragraph, whatever whitespace joins it; what was added less what was removed is the growth of the body.
    const [growth] = await query(
      `SELECT max(length(body)) FILTER (WHERE version = 2) - max(length(body)) FILTER (WHERE version = 1) AS d FROM ${table('versions')} WHERE id = '${extended.id}'`,
    );
    const added = Number(growth!.d);
    expect(added).toBeGreaterThanOrEqual('Güncelleme: habere yeni bir paragraf eklendi.'.length);
    expect(edits).toEqual(
      [
        { id: retitled.id, version: 1, at: '2025-12-15 12:00:00+00', event: 'new', chars_added: null, chars_removed: null, title_changed: null, similarity: null },
        { id: retitled.id, version: 2, at: '2025-12-15 13:00:00+00', event: 'updated', chars_added: 0, chars_removed: 0, title_changed: true, similarity: 1 },
        { id: extended.id, version: 1, at: '2025-12-15 12:00:00+00', event: 'new', chars_added: null, chars_removed: null, title_changed: null, similarity: null },
        { id: extended.id, version: 2, at: '2025-12-15 13:00:00+00', event: 'updated', chars_added: added, chars_removed: 0, title_changed: false, similarity: expect.any(Number) },
      ].sort((a, b) => a.id.localeCompare(b.id) || a.version - b.version),
    );
    const [row] = await query(`SELECT versions, first_seen::VARCHAR AS first, state, title FROM ${table('articles')} WHERE id = '${retitled.id}'`);
    expect(row).toEqual({ versions: 2, first: '2025-12-15 12:00:00+00', state: 'done', title: 'Başlık değişti' });
  });

  it('each capture row leads back to its WARC record', async () => {
    const rows = await query(`SELECT url, fetch_time::VARCHAR AS at, fetch_status, warc_filename, warc_record_offset::BIGINT AS offset, warc_record_length::BIGINT AS length, warc_record_type, payload_digest FROM ${table('captures')}`);
    const urls = new Set((await jsonl([])).map((r) => r.url));
    const records = readdirSync(join(storage, 'warc')).flatMap((name) => readWarcByHand(join(storage, 'warc', name)).map((r) => ({ ...r, file: `warc/${name}` })));
    const expected = records.filter((r) => ['response', 'revisit', 'conversion'].includes(r.type) && urls.has(r.headers['warc-target-uri']!));
    expect(rows.length).toBe(expected.length);
    for (const row of rows) {
      const member = readFileSync(join(storage, String(row.warc_filename))).subarray(Number(row.offset), Number(row.offset) + Number(row.length));
      const head = gunzipSync(member).toString('latin1').split('\r\n\r\n')[0]!;
      expect(head).toContain(`WARC-Target-URI: ${String(row.url)}`);
      expect(head).toContain(`WARC-Type: ${String(row.warc_record_type)}`);
      expect(head).toContain(`WARC-Payload-Digest: ${String(row.payload_digest)}`);
    }
    expect(rows.filter((r) => r.url === articleUrl(retitled)).map((r) => [r.at, r.fetch_status])).toEqual([
      ['2025-12-15 12:00:00+00', 200],
      ['2025-12-15 13:00:00+00', 200],
    ]);
  });

  it('parquet_metadata: snappy-compressed column chunks; the card beside the tables names every column', async () => {
    for (const name of ['articles', 'versions', 'captures']) {
      const meta = await query(`SELECT DISTINCT compression, row_group_id::INTEGER AS g, row_group_num_rows::INTEGER AS n FROM parquet_metadata(${table(name)})`);
      const [{ n }] = (await query(`SELECT count(*)::INTEGER AS n FROM ${table(name)}`)) as [{ n: number }];
      expect(meta, name).toEqual([{ compression: 'SNAPPY', g: 0, n }]);
    }
    const card = readFileSync(join(out, 'README.md'), 'utf8');
    expect(card.startsWith('---\nconfigs:\n  - config_name: articles\n    data_files: articles.parquet\n')).toBe(true);
    for (const name of ['articles', 'versions', 'captures']) {
      for (const r of await query(`DESCRIBE ${table(name)}`)) expect(card, `${name}.${String(r.column_name)}`).toContain(`| \`${String(r.column_name)}\` | ${String(r.column_type)} |`);
    }
  });
});

describe('a Parquet table is written a row group at a time', () => {
  it('rows past the group size start a new group; DuckDB reads every group', async () => {
    const columns: Column[] = [
      { name: 'n', kind: 'int32', required: true, doc: '' },
      { name: 'at', kind: 'timestamp', doc: '' },
      { name: 'text', kind: 'string', doc: '' },
    ];
    const path = join(await tempDir(), 'groups.parquet');
    const t = new ParquetTable(path, columns, { createdBy: 'test', kv: {}, groupRows: 7 });
    for (let n = 0; n < 20; n++) t.add({ n, at: new Date(Date.parse(T0) + n * 1000), text: n % 3 === 0 ? null : `satır ${n} ğüşıöç` });
    t.close();
    expect(t.groups).toBe(3);
    const groups = await query(`SELECT row_group_id::INTEGER AS g, row_group_num_rows::INTEGER AS n FROM parquet_metadata('${path}') WHERE path_in_schema = 'n' ORDER BY g`);
    expect(groups).toEqual([{ g: 0, n: 7 }, { g: 1, n: 7 }, { g: 2, n: 6 }]);
    const rows = await query(`SELECT n, "at"::VARCHAR AS ts, text FROM '${path}' WHERE n IN (0, 19) ORDER BY n`);
    expect(rows).toEqual([
      { n: 0, ts: '2025-12-15 12:00:00+00', text: null },
      { n: 19, ts: '2025-12-15 12:00:19+00', text: 'satır 19 ğüşıöç' },
    ]);
  });
});
