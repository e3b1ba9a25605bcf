import { describe, expect, it } from 'vitest';
import { extractArticle, normalizeText, type Article } from '../src/extract/index.js';
import { calendarDateOf } from '../src/extract/published-date.js';
import { sputnikTurkiye } from '../src/site/profile.js';
import { formatSnapshot } from '../src/snapshot/format.js';

const URL_ = 'https://anlatilaninotesi.com.tr/20251220/haber-1102014239.html';

function page(opts: { head?: string; body?: string; blocks?: string[]; noHead?: boolean } = {}): string {
  const head = opts.head ?? '<meta property="og:title" content="Başlık"><meta property="article:published_time" content="20251220T1542+0300">';
  const blocks = opts.blocks ?? ['<div class="article__block" data-type="text"><div class="article__text">Metin.</div></div>'];
  const body = opts.body ?? `<div class="article__body">${blocks.join('\n')}</div>`;
  return opts.noHead ? `${head}${body}` : `<!DOCTYPE html><html><head>${head}</head><body>${body}</body></html>`;
}

function extract(html: string, url: string | null = URL_): Article {
  const r = extractArticle(html, url, sputnikTurkiye);
  if (!r.ok) throw new Error(`not an article: ${r.reason}`);
  return r.article;
}

describe('text normalization', () => {
  it('collapses every JavaScript whitespace to one space and trims', () => {
    const ws = ' \t\n\v\f\r\u00a0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';
    expect(normalizeText(`${ws}a${ws}b${ws}`)).toBe('a b');
  });
  it('removes control characters that are not whitespace, keeps U+0085 out', () => {
    expect(normalizeText('a\u0000b\u0008c\u000ed\u001fe\u007ff\u0085g\u009fh')).toBe('abcdefgh');
  });
  it('strips tags revealed by entity decoding (entities first, then tags)', () => {
    expect(normalizeText('a <b>kalın</b> <br>c<script>x()</script>d')).toBe('a kalın cd');
  });
  it('keeps a lone less-than sign that is not a tag', () => {
    expect(normalizeText('3 < 5 ve 7 > 2')).toBe('3 < 5 ve 7 > 2');
  });
});

describe('body', () => {
  it('joins text and h2 blocks with no separator, skips every other kind', () => {
    const a = extract(
      page({
        blocks: [
          '<div class="article__block" data-type="text"><div class="article__text">Bir.</div></div>',
          '<div class="article__block" data-type="quote"><div class="article__quote-text">Alıntı</div></div>',
          '<div class="article__block" data-type="h2"><h3 class="article__h2">Ara başlık</h3></div>',
          '<div class="article__block" data-type="photolenta"><div class="article__text">Foto</div></div>',
          '<div class="article__block" data-type="brand-new-kind"><div class="article__text">Yeni</div></div>',
          '<div class="article__block" data-type="text"><div class="article__text">İki.</div></div>',
        ],
      }),
    );
    expect(a.body).toBe('Bir.Ara başlıkİki.');
  });
  it('drops empty blocks and script/style/noscript/template content; <br> is a space', () => {
    const a = extract(
      page({
        blocks: [
          '<div class="article__block" data-type="text"><div class="article__text">  \n </div></div>',
          '<div class="article__block" data-type="text"><div class="article__text">a<br>b<script>var x="y";</script><style>p{}</style><noscript>ns</noscript><template>tp</template>c</div></div>',
        ],
      }),
    );
    expect(a.body).toBe('a bc');
  });
  it('only direct children of the first article__body count', () => {
    const a = extract(
      page({
        body: '<div class="article__body"><div><div class="article__block" data-type="text"><div class="article__text">iç</div></div></div><div class="article__block" data-type="text"><div class="article__text">dış</div></div></div>',
      }),
    );
    expect(a.body).toBe('dış');
  });
  it('an empty body is not an article', () => {
    const r = extractArticle(page({ blocks: [] }), URL_, sputnikTurkiye);
    expect(r).toMatchObject({ ok: false, reason: 'empty-body' });
  });
  it('decodes entities in text (named, numeric, NBSP)', () => {
    const a = extract(page({ blocks: ['<div class="article__block" data-type="text"><div class="article__text">Kahire&rsquo;de &amp; 2.&nbsp;Konferans &#39;x&#x27; &lt;b&gt;y&lt;/b&gt;</div></div>'] }));
    expect(a.body).toBe('Kahire\u2019de & 2. Konferans \'x\' y');
  });
});

describe('fields and fallbacks', () => {
  it('title: og:title, then h1.article__title, then <title> without the date tail', () => {
    expect(extract(page({ head: '<meta property="article:published_time" content="20251220T1542+0300"><title>T - 20.12.2025, Sputnik Türkiye</title>', body: '<h1 class="article__title"> H1  başlık </h1><div class="article__body"><div class="article__block" data-type="text"><div class="article__text">x</div></div></div>' })).title).toBe('H1 başlık');
    expect(extract(page({ head: '<meta property="article:published_time" content="20251220T1542+0300"><title>Sadece başlık - 20.12.2025, Sputnik Türkiye</title>' })).title).toBe('Sadece başlık');
    const r = extractArticle(page({ head: '<meta property="article:published_time" content="20251220T1542+0300">' }), URL_, sputnikTurkiye);
    expect(r).toMatchObject({ ok: false, reason: 'no-title' });
  });
  it('an empty og:title falls through to the next source', () => {
    expect(extract(page({ head: '<meta property="og:title" content="  "><title>Yedek - 01.01.2025, Sputnik Türkiye</title>' })).title).toBe('Yedek');
  });
  it('duplicate meta tags: the first non-empty one wins', () => {
    const a = extract(page({ head: '<meta property="og:title" content="Birinci"><meta property="og:title" content="İkinci"><meta property="og:site_name" content="S1"><meta property="og:site_name" content="S2">' }));
    expect([a.title, a.siteName]).toEqual(['Birinci', 'S1']);
  });
  it('entity-encoded attributes are decoded, in any attribute order and quoting', () => {
    const a = extract(page({ head: `<meta content='A &amp; B &quot;C&quot; &#x27;D&#39;' property=og:title><meta content="x&nbsp;y" name="description">` }));
    expect(a.title).toBe('A & B "C" \'D\'');
    expect(a.description).toBe('x y');
  });
  it('description: meta name=description (tail kept), then og:description; image: og:image, then twitter:image', () => {
    const a = extract(page({ head: '<meta property="og:title" content="T"><meta property="og:description" content="OG açıklama"><meta name="twitter:image" content="https://cdn/img.jpg">' }));
    expect([a.description, a.image, a.siteName]).toEqual(['OG açıklama', 'https://cdn/img.jpg', undefined]);
  });
  it('absent optional fields are left out of the snapshot with their blank line', () => {
    const text = formatSnapshot(extract(page()));
    expect(text).toBe(` date 2025-12-20 ${URL_}\n\nBaşlık\n\nMetin.\n\n`);
  });
  it('a page with no <head> at all still gives its article', () => {
    expect(extract(page({ noHead: true })).title).toBe('Başlık');
  });
  it('malformed HTML (unclosed tags, stray closers) does not lose the body', () => {
    const html = '<html><head><meta property="og:title" content="Bozuk"><body><div class="article__body"><div class="article__block" data-type="text"><div class="article__text"><b>kalın <i>eğik</div></div></span></div>';
    expect(extract(html).body).toBe('kalın eğik');
  });
  it('10 000-deep nesting keeps its text (script dropped, <br> a space)', () => {
    const deep = `${'<div><span>'.repeat(5_000)}a<br>b<script>gizli()</script><em>c</em>${'</span></div>'.repeat(5_000)}`;
    const html = page({ blocks: [`<div class="article__block" data-type="text"><div class="article__text">${deep} son</div></div>`] });
    // Its speed (the old O(nodes × depth) took seconds) is the benchmark's to measure: bench/run.mjs.
    expect(extract(html).body).toBe('a bc son');
  });

  it('a 5 MB page is extracted', () => {
    const filler = `<div class="sidebar">${'<p>dolgu metni</p>'.repeat(300_000)}</div>`;
    const html = page({ body: `${filler}<div class="article__body"><div class="article__block" data-type="text"><div class="article__text">Son.</div></div></div>` });
    expect(html.length).toBeGreaterThan(5_000_000);
    expect(extract(html).body).toBe('Son.');
  });
});

describe('URL', () => {
  it('canonical wins over og:url and the page URL, and is normalized (alias host, amp, query)', () => {
    const a = extract(page({ head: '<meta property="og:title" content="T"><link rel="canonical" href="http://tr.sputniknews.com/amp/20251219/baska-1102000000.html?chat_room_id=5#x"><meta property="og:url" content="https://anlatilaninotesi.com.tr/20251218/og-1101000000.html">' }));
    expect([a.id, a.url]).toEqual(['1102000000', 'https://anlatilaninotesi.com.tr/20251219/baska-1102000000.html']);
  });
  it('a relative canonical is resolved against the page URL', () => {
    expect(extract(page({ head: '<meta property="og:title" content="T"><link rel="canonical" href="/20251219/goreli-1102000001.html">' })).url).toBe('https://anlatilaninotesi.com.tr/20251219/goreli-1102000001.html');
  });
  it('a canonical on another site falls back to the page URL without query and fragment', () => {
    const a = extract(page({ head: '<meta property="og:title" content="T"><link rel="canonical" href="https://evil.example/20251219/x-1102000002.html">' }), `${URL_}?modal=feedback#top`);
    expect(a.url).toBe(URL_);
  });
  it('no article URL anywhere: not an article', () => {
    expect(extractArticle(page(), null, sputnikTurkiye)).toMatchObject({ ok: false, reason: 'no-article-url' });
    expect(extractArticle(page(), 'https://anlatilaninotesi.com.tr/world/', sputnikTurkiye)).toMatchObject({ ok: false, reason: 'no-article-url' });
  });
});

describe('date', () => {
  it('is the calendar date in the offset written, in both the site form and ISO 8601', () => {
    expect(calendarDateOf('20251201T0030+0300')).toBe('2025-12-01');
    expect(calendarDateOf('2025-12-01T00:30:00+03:00')).toBe('2025-12-01');
    expect(calendarDateOf('2025-11-30T23:30:00-05:00')).toBe('2025-11-30');
    expect(calendarDateOf('2025-12-01')).toBe('2025-12-01');
    expect(calendarDateOf('2025-02-30T10:00:00Z')).toBeNull();
    expect(calendarDateOf('dün')).toBeNull();
  });
  it('falls back to the URL day, then JSON-LD datePublished', () => {
    expect(extract(page({ head: '<meta property="og:title" content="T">' })).date).toBe('2025-12-20');
    expect(extract(page({ head: '<meta property="og:title" content="T"><meta property="article:published_time" content="bozuk">' })).date).toBe('2025-12-20');
  });
  it('published just after midnight Istanbul time keeps the Istanbul date', () => {
    expect(extract(page({ head: '<meta property="og:title" content="T"><meta property="article:published_time" content="20251221T0030+0300">' })).date).toBe('2025-12-21');
  });
});
