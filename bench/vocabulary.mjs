// A vocabulary of realistic size for the benchmark stores, read at bench time from the project's
// reference pages and snapshot texts (/work/shared/reference, /work/shared/seed; NEWSNAP_SHARED
// moves it): every word they hold, and the inflected forms Turkish builds from them (case and
// plural suffixes by vowel harmony), so that a prefix such as `bir*` or `ver*` spreads over
// many terms as it does on the real site. Words are drawn with a Zipf law over
// their rank, so a few are in most articles and most are rare. Nothing of those texts is committed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SHARED = process.env.NEWSNAP_SHARED ?? '/work/shared';

/** The text of the reference pages (markup stripped) and of the snapshot files. */
function sourceTexts() {
  const out = [];
  for (const dir of ['reference/expected', 'reference/pages', 'reference/discovery', 'seed']) {
    const at = join(SHARED, dir);
    if (!existsSync(at)) continue;
    for (const name of readdirSync(at).sort()) {
      const text = readFileSync(join(at, name), 'utf8');
      out.push(/\.(html|xml)$/.test(name) ? text.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/g, ' ').replace(/<[^>]+>/g, ' ').replace(/&[a-z#0-9]+;/gi, ' ') : text);
    }
  }
  return out;
}

const BACK = /[aıou]/;
const VOWELS = /[aeıioöuü]/g;

/** A few suffixes of each kind, by the last vowel of the stem (two- and four-way harmony). */
function inflections(stem) {
  const vowels = stem.toLocaleLowerCase('tr').match(VOWELS);
  if (!vowels) return [];
  const v = vowels.at(-1);
  const back = BACK.test(v);
  const four = { a: 'ı', ı: 'ı', o: 'u', u: 'u', e: 'i', i: 'i', ö: 'ü', ü: 'ü' }[v];
  const two = back ? 'a' : 'e';
  const plural = back ? 'lar' : 'ler';
  return [`${plural}`, `d${two}`, `d${two}n`, `n${four}n`, `${plural}${four}`, `${plural}d${two}`, `${plural}${four}n`, `y${two}`, `l${four}`, `s${four}`].map((s) => stem + s);
}

/**
 * The words, distinct, in a fixed order (the source words first, in their order of frequency,
 * then their inflected forms): the same files give the same vocabulary.
 */
export function realisticVocabulary() {
  const counts = new Map();
  // Addresses are no prose: their parts (https, com, tr) would be the commonest "words".
  for (const text of sourceTexts().map((t) => t.replace(/https?:\/\/\S+|\b[\w.-]+\.(com|tr|ru)\b\S*/g, ' '))) for (const w of text.match(/\p{L}{2,}/gu) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([w]) => w);
  if (words.length < 100) throw new Error(`the reference texts under ${SHARED} give ${words.length} words: set NEWSNAP_SHARED to the folder with reference/ and seed/`);
  const seen = new Set(words.map((w) => w.toLocaleLowerCase('tr')));
  const forms = [];
  // Suffixes go on stems, not on particles and conjunctions (ve, da, ile).
  for (const w of words.filter((x) => [...x].length >= 4)) {
    for (const f of inflections(w)) {
      const key = f.toLocaleLowerCase('tr');
      if (!seen.has(key)) seen.add(key), forms.push(f);
    }
  }
  return [...words, ...forms];
}

/**
 * A word picker over `vocabulary`: the word of rank r is drawn with weight 1/(r+1) (Zipf). The
 * ranks are the vocabulary's order: the source words by their frequency there ("ve", "bir",
 * "ile" come first, as in Turkish), then the inflected forms, each rarer than its stem.
 */
export function zipfPicker(vocabulary) {
  const order = vocabulary;
  const cumulative = new Float64Array(order.length);
  let sum = 0;
  for (let r = 0; r < order.length; r++) cumulative[r] = sum += 1 / (r + 1);
  return (rnd) => {
    const x = rnd() * sum;
    let lo = 0;
    let hi = order.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return order[lo];
  };
}

/** A sentence of `min` to `max` words, capitalized, with a full stop. */
export function realisticSentence(pick, rnd, min, max) {
  const n = min + Math.floor(rnd() * (max - min + 1));
  const words = [];
  for (let i = 0; i < n; i++) words.push(pick(rnd));
  const s = words.join(' ');
  return `${s.charAt(0).toLocaleUpperCase('tr')}${s.slice(1)}`;
}
