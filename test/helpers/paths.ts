import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = resolve(PROJECT, '..', 'shared');
export const REFERENCE = join(SHARED, 'reference');
export const CLI = join(PROJECT, 'dist', 'cli', 'main.js');

if (!existsSync(SHARED)) throw new Error(`../shared not found at ${SHARED}: tests read the reference pages from there`);
if (!existsSync(CLI)) throw new Error(`${CLI} not built: run npm test (it builds first)`);

/** Reference page file, expected snapshot file, and the page's production URL. */
export const REFERENCE_CASES = [
  { id: '1102014239', url: 'https://anlatilaninotesi.com.tr/20251220/lavrov-rusya-ve-afrika-ulkeleri-guvenlik-alaninda-isbirligini-guclendirecek-1102014239.html' },
  { id: '1098700591', url: 'https://anlatilaninotesi.com.tr/20250819/lavrov-ve-misir-disisleri-bakani-abdulati-orta-dogudaki-gelismeleri-gorustu-1098700591.html' },
  { id: '1100000001', url: 'https://anlatilaninotesi.com.tr/20251201/kapadokyada-balon-turlari-yeniden-basladi-1100000001.html' },
  { id: '1100000002', url: 'https://anlatilaninotesi.com.tr/20251202/kis-lastigi-uygulamasi-bugun-basladi-1100000002.html' },
].map((c) => ({ ...c, page: join(REFERENCE, 'pages', `${c.id}.html`), expected: join(REFERENCE, 'expected', `${c.id}.txt`) }));

export const SEED = join(SHARED, 'seed', '000_bfbe88a92d59965d.txt');
