// bench/RESULTS.md: `npm run bench` (bench/run.mjs) writes the part above the mark; every other
// benchmark writes its own section below it (`--write`), replacing its previous one.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const MARK = '<!-- The sections below come from the other benchmarks (bench/*.mjs), each with its command; bench/run.mjs keeps them. -->';

/** The part of the file below the mark (with the mark), for bench/run.mjs to keep. */
export function keptSections(path) {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  return text.includes(MARK) ? text.slice(text.indexOf(MARK)) : `${MARK}\n`;
}

/** Writes `body` as the section titled `title` below the mark, in place of an earlier one. */
export function writeSection(path, title, body) {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n';
  const [head, rest = ''] = text.includes(MARK) ? text.split(MARK) : [`${text.trimEnd()}\n\n`, ''];
  const others = rest.split(/\n(?=## )/).filter((s) => s.trim() && !s.trimStart().startsWith(title));
  writeFileSync(path, `${head}${MARK}\n\n${[...others.map((s) => `${s.trim()}\n`), `${title}\n\n${body.trim()}\n`].join('\n')}`);
}
