import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Storage } from '../src/storage/storage.js';
import { LockedError } from '../src/storage/run-lock.js';
import { Manifest } from '../src/storage/manifest.js';
import { SnapshotStore } from '../src/storage/snapshot-store.js';
import { fileIdentity, listFiles, readManifest, tempDir } from './helpers/storage.js';

const article = { id: '1102014239', url: 'https://anlatilaninotesi.com.tr/20251220/x-1102014239.html', date: '2025-12-20', title: 'T', body: 'B' };

describe('snapshot store', () => {
  it('writes atomically into a date folder, leaves no temporary file, and leaves an identical file untouched', async () => {
    const root = await tempDir();
    const store = new SnapshotStore(root);
    const first = await store.save(article, 'v1\n\n');
    expect(first).toMatchObject({ outcome: 'written', path: 'snapshots/2025-12-20/1102014239.txt', bytes: 4 });
    const id = await fileIdentity(join(root, first.path));
    expect((await store.save(article, 'v1\n\n')).outcome).toBe('unchanged');
    expect(await fileIdentity(join(root, first.path))).toBe(id);
    expect((await store.save(article, 'v2\n\n')).outcome).toBe('written');
    expect(readFileSync(join(root, first.path), 'utf8')).toBe('v2\n\n');
    expect(await listFiles(root)).toEqual(['snapshots/2025-12-20/1102014239.txt']);
  });

  it('builds paths only from a numeric id and a date', () => {
    expect(() => SnapshotStore.relativePath({ id: '../../etc/passwd', date: '2025-12-20' })).toThrow(/not numeric/);
    expect(() => SnapshotStore.relativePath({ id: '1', date: '2025/../../x' })).toThrow(/refusing/);
  });

  it('an article that moved to another date keeps one snapshot', async () => {
    const root = await tempDir();
    const store = new SnapshotStore(root);
    const old = await store.save(article, 'a\n\n');
    await store.save({ ...article, date: '2025-12-21' }, 'a\n\n', old.path);
    expect(await listFiles(root)).toEqual(['snapshots/2025-12-21/1102014239.txt']);
  });
});

describe('manifest and storage', () => {
  it('drops a line cut off by a crash and applies lines the state never recorded', async () => {
    const root = await tempDir();
    const archive = await Storage.open(root);
    await archive.commit({ event: 'new', article, text: 'x\n\n', capturedAt: '2025-12-20T10:00:00.000Z', previous: null });
    await archive.close();
    const line = readFileSync(join(root, 'manifest.jsonl'), 'utf8');
    // A second record appended after state was last updated, then a torn write.
    appendFileSync(join(root, 'manifest.jsonl'), line.replace(/1102014239/g, '1102014240') + '{"id":"11020');
    const reopened = await Storage.open(root);
    expect(reopened.state.articles.get('1102014240')?.state).toBe('done');
    await reopened.close();
    const records = await readManifest(root);
    expect(records.map((r) => r.id)).toEqual(['1102014239', '1102014240']);
  });

  it('a second writer on the same storage is refused with LockedError naming the holder; the lock file stays', async () => {
    const root = await tempDir();
    const storage = await Storage.open(root, { command: 'newsnap crawl --since 2025-12-01' });
    const refused = await Storage.open(root).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(LockedError);
    expect((refused as LockedError).holder).toMatchObject({ pid: process.pid, command: 'newsnap crawl --since 2025-12-01', host: hostname() });
    expect((refused as Error).message).toMatch(/^storage .+ is in use by "newsnap crawl --since 2025-12-01" \(pid \d+ on host .+, since \d{4}-\d\d-\d\dT.+\); the lock is released when that run ends, even if it is killed/);
    await storage.close();
    expect(existsSync(join(root, 'newsnap.lock'))).toBe(true);
    const again = await Storage.open(root);
    await again.close();
  });

  it('the pid lock file an older newsnap left is not guessed at: the message says to delete it once', async () => {
    const root = await tempDir();
    writeFileSync(join(root, 'newsnap.lock'), '999999\n');
    await expect(Storage.open(root)).rejects.toThrow(/holds the lock file of an older newsnap \(.+newsnap\.lock, pid 999999\): if no older newsnap uses this storage any more, delete that file once/);
    expect(readFileSync(join(root, 'newsnap.lock'), 'utf8')).toBe('999999\n');
  });

  it('appends are serialized: concurrent saves give whole lines', async () => {
    const root = await tempDir();
    const m = new Manifest(root);
    await m.open();
    await Promise.all(Array.from({ length: 50 }, (_, i) => m.append({ event: 'new', id: String(i), url: 'u', date: 'd', path: 'p', sha256: 's', bytes: i, capturedAt: 'f', fetchedAt: 'f' })));
    await m.close();
    expect((await readManifest(root)).map((r) => r.id).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });
});
