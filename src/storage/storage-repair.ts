// What opening a storage folder reads or tidies after a killed run: where state stands in the
// manifest, newsnap's stray temporaries, the size of a WARC file.
import { statSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readManifestLines, type ManifestPosition } from './manifest.js';
import { MANIFEST_OFFSET, MANIFEST_SEQ } from './state/state-schema.js';
import type { SqliteState } from './state/state-store.js';

/**
 * Where state stands in the manifest: the bytes it applied and the `seq` of the last line among
 * them. A store from before lines were numbered has its lines counted once, and their events
 * numbered, from the manifest itself.
 */
export async function appliedPosition(root: string, state: SqliteState): Promise<ManifestPosition> {
  const offset = Number(state.meta.get(MANIFEST_OFFSET) ?? '0');
  const known = state.meta.get(MANIFEST_SEQ);
  if (known !== undefined) return { offset, seq: Number(known) };
  const lines: Array<{ offset: number; seq: number }> = [];
  let seq = 0;
  for await (const line of readManifestLines(root, { end: offset })) {
    seq = line.seq;
    lines.push({ offset: line.offset, seq: line.seq });
    if (lines.length >= 10_000) state.articles.numberEvents(lines.splice(0));
  }
  state.articles.numberEvents(lines);
  state.meta.set(MANIFEST_SEQ, String(seq));
  return { offset, seq };
}

/** Removes `.….tmp` files (newsnap's temporaries) below `dir` (or in it only); returns how many. */
export async function removeStrayTemporaries(dir: string, recursive: boolean): Promise<number> {
  const entries = await readdir(dir, { recursive }).catch(() => [] as string[]);
  let removed = 0;
  for (const rel of entries) {
    const name = rel.split('/').at(-1) ?? '';
    if (name.startsWith('.') && name.endsWith('.tmp')) {
      await unlink(join(dir, rel)).then(() => removed++, () => undefined);
    }
  }
  return removed;
}

export function sizeOf(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}
