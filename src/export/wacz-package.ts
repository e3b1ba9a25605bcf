import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import type { StagedPart } from './staged-file.js';

export const WACZ_VERSION = '1.1.1';

/** What `datapackage.json` says of the collection besides its files. */
export interface PackageInfo {
  title: string;
  description: string;
  /** RFC 3339. */
  created: string;
  software: string;
  mainPageUrl?: string;
  mainPageDate?: string;
}

/**
 * `datapackage.json` (Frictionless Data Package, WACZ 1.1.1: profile, wacz_version, and every
 * file with its path, size and SHA-256) and `datapackage-digest.json` (the SHA-256 of the first,
 * so one hash stands for the whole package), written into the staging folder.
 */
export async function writeDatapackage(staging: string, parts: StagedPart[], info: PackageInfo): Promise<StagedPart[]> {
  const datapackage = {
    profile: 'data-package',
    wacz_version: WACZ_VERSION,
    title: info.title,
    description: info.description,
    created: info.created,
    software: info.software,
    ...(info.mainPageUrl ? { mainPageUrl: info.mainPageUrl, mainPageDate: info.mainPageDate } : {}),
    resources: parts.map((p) => ({ name: basename(p.name), path: p.name, hash: p.hash, bytes: p.bytes })),
  };
  const main = await staged(staging, 'datapackage.json', `${JSON.stringify(datapackage, null, 2)}\n`);
  const digest = await staged(staging, 'datapackage-digest.json', `${JSON.stringify({ path: 'datapackage.json', hash: main.hash }, null, 2)}\n`);
  return [main, digest];
}

async function staged(dir: string, name: string, text: string): Promise<StagedPart> {
  const data = Buffer.from(text, 'utf8');
  const path = join(dir, name);
  await writeFile(path, data);
  return { path, name, bytes: data.length, hash: `sha256:${createHash('sha256').update(data).digest('hex')}` };
}

/**
 * The zip: files already compressed (`.gz`) are stored, so a reader reaches any record by one
 * range request; the rest is deflated. Streamed from the staged files (yazl writes ZIP64 when
 * the package passes 4 GB); written to `<out>.part` and renamed, so `out` is whole or absent.
 */
export async function writeZip(out: string, parts: ReadonlyArray<Pick<StagedPart, 'path' | 'name'>>, mtime: Date, onBytes: (bytes: number) => void = () => undefined): Promise<number> {
  const zip = new ZipFile();
  // yazl reports a file it cannot read (removed meanwhile, as serve's stop removes its exports'
  // folder) on the ZipFile, not on its stream: unheard, that 'error' would end the process.
  zip.on('error', (err: Error) => (zip.outputStream as Readable).destroy(err));
  // The mode is fixed, not the staged file's (the umask's), and the time's fields are UTC's: the same inputs, the same bytes.
  const time = utcFields(mtime);
  for (const p of parts) zip.addFile(p.path, p.name, { compress: !p.name.endsWith('.gz'), mtime: time, mode: 0o100644 });
  zip.end();
  let written = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      written += chunk.length;
      onBytes(written);
      done(null, chunk);
    },
  });
  const part = `${out}.part`;
  try {
    await pipeline(zip.outputStream, counter, createWriteStream(part));
    await rename(part, out);
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
  return written;
}

/** A folder's files (a Parquet dataset) as one zip, in name order, each entry dated `mtime`: the same folder gives the same bytes. */
export async function zipFolder(dir: string, out: string, mtime: Date): Promise<number> {
  const names = (await readdir(dir)).sort();
  return writeZip(out, names.map((name) => ({ path: join(dir, name), name })), mtime);
}

/**
 * `d` with its local-time fields answering UTC's: yazl writes an entry's DOS time from
 * getHours() and the like, so a package built with TZ set would differ from one built in UTC.
 * Its epoch, which yazl's extended timestamp holds, is unchanged.
 */
function utcFields(d: Date): Date {
  const u = new Date(d.getTime());
  return Object.assign(u, {
    getFullYear: () => u.getUTCFullYear(),
    getMonth: () => u.getUTCMonth(),
    getDate: () => u.getUTCDate(),
    getHours: () => u.getUTCHours(),
    getMinutes: () => u.getUTCMinutes(),
    getSeconds: () => u.getUTCSeconds(),
  });
}
