import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Archive } from '../src/crawl/archive.js';
import { LockedError } from '../src/frontier/run-lock.js';
import { Manifest, SnapshotStore } from '../src/snapshot/index.js';
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

describe('manifest and archive', () => {
  it('drops a line cut off by a crash and applies lines the state never recorded', async () => {
    const root = await tempDir();
    const archive = await Archive.open(root);
    await archive.commit({ event: 'new', article, text: 'x\n\n', capturedAt: '2025-12-20T10:00:00.000Z', previous: null });
    await archive.close();
    const line = readFileSync(join(root, 'manifest.jsonl'), 'utf8');
    // A second record appended after state was last updated, then a torn write.
    appendFileSync(join(root, 'manifest.jsonl'), line.replace(/1102014239/g, '1102014240') + '{"id":"11020');
    const reopened = await Archive.open(root);
    expect(reopened.state.get('1102014240')?.state).toBe('done');
    await reopened.close();
    const records = await readManifest(root);
    expect(records.map((r) => r.id)).toEqual(['1102014239', '1102014240']);
  });

  it('a second writer on the same storage is refused with LockedError', async () => {
    const root = await tempDir();
    const archive = await Archive.open(root);
    await expect(Archive.open(root)).rejects.toBeInstanceOf(LockedError);
    await archive.close();
    const again = await Archive.open(root);
    await again.close();
  });

  it('a lock left by a dead process is taken over', async () => {
    const root = await tempDir();
    writeFileSync(join(root, 'newsnap.lock'), '999999\n');
    const archive = await Archive.open(root);
    await archive.close();
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
