import { daysInMonth } from '../site/calendar.js';
import { publishedLastmod } from './article-edits.js';
import { articleUrl, dottedDay, escapeHtml, seededRandom, sentence, SITE_BASE, SITE_NAME, type MirrorArticle } from './site-model.js';

/**
 * Page chrome modelled on the site's pages: a real page is ~230 KB, almost all of it an icon
 * sprite, navigation, an application-state script and a sidebar. Built once, shared by every
 * page. Its titles, ids, slugs and paths vary as the site's do, so a page compresses nearly as a
 * real one does (55 KB at gzip level 1; the reference pages 66 KB): archive sizes are measured
 * on these pages.
 */
function buildChrome(): { head: string; icons: string; header: string; sidebar: string } {
  const rnd = seededRandom(7);
  const items: string[] = [];
  for (let i = 0; i < 200; i++) {
    items.push(`{"id": ${1_000_000_000 + Math.floor(rnd() * 1e8)}, "v": ${rnd()}, "k": "${Math.floor(rnd() * 1e15).toString(36)}", "tags": [${[0, 1, 2].map(() => `"${TAGS[Math.floor(rnd() * TAGS.length)]}"`).join(', ')}]}`);
  }
  const head = `<script>window.__APP_STATE__ = {"items": [${items.join(', ')}]};</script>`;
  const symbols: string[] = [];
  for (let i = 0; i < 420; i++) {
    const points = Array.from({ length: 24 }, () => `L${Math.floor(rnd() * 65)} ${Math.floor(rnd() * 65)}`).join(' ');
    symbols.push(`<symbol id="icon-${i}" viewBox="0 0 64 64"><path d="M0 0 ${points}Z"/></symbol>`);
  }
  const icons = `<svg xmlns="http://www.w3.org/2000/svg" style="display:none">\n${symbols.join('\n')}\n</svg>`;
  const links: string[] = [];
  for (let i = 0; i < 250; i++) {
    const words = sentence(rnd, 1, 3);
    links.push(`<li class="nav__item"><a href="/${words.toLocaleLowerCase('tr').replace(/[^a-z]+/g, '_')}_${Math.floor(rnd() * 1e6).toString(36)}/" class="nav__link">${words}</a></li>`);
  }
  const header = `<header class="header"><ul class="nav">${links.join('')}</ul></header>`;
  const cells: string[] = [];
  for (let i = 0; i < 200; i++) {
    cells.push(
      `<div class="cell-list__item"><a href="/20251202/haber-${1_090_000_000 + Math.floor(rnd() * 1e7)}.html" class="cell-list__item-link"><span class="cell-list__item-title">${sentence(rnd, 5, 11)}</span></a><div class="cell-list__item-date" data-unixtime="${1_766_000_000 + Math.floor(rnd() * 1e6)}"></div><img src="https://cdn.img.anlatilaninotesi.com.tr/img/${Math.floor(rnd() * 1e12).toString(16)}_0:0:1920:1080_600x0_80_0_0_${Math.floor(rnd() * 1e12).toString(36)}.jpg" alt=""></div>`,
    );
  }
  const sidebar = `<div class="sidebar"><div class="sidebar__title">Son haberler</div><div class="cell-list">${cells.join('')}</div></div>`;
  return { head, icons, header, sidebar };
}

let chrome: ReturnType<typeof buildChrome> | null = null;
const TAGS = ['world', 'economy', 'turkey', 'russia', 'sport', 'analysis', 'life', 'science'];

export function articlePage(a: MirrorArticle): string {
  chrome ??= buildChrome();
  const url = articleUrl(a);
  const title = escapeHtml(a.title);
  const published = `${a.day}T${a.time}+0300`;
  const iso = publishedLastmod(a);
  const meta = [
    `<meta charset="utf-8">`,
    `<title>${title} - ${dottedDay(a.day)}, ${SITE_NAME}</title>`,
    a.sparse ? '' : `<meta name="description" content="${escapeHtml(a.description)} ${dottedDay(a.day)}, ${SITE_NAME}">`,
    `<meta property="og:url" content="${url}">`,
    `<meta property="og:title" content="${title}">`,
    a.sparse ? '' : `<meta property="og:description" content="${escapeHtml(a.description)}">`,
    `<meta property="og:type" content="article">`,
    a.sparse ? '' : `<meta property="og:site_name" content="${SITE_NAME}">`,
    a.sparse ? '' : `<meta property="og:image" content="${a.image}">`,
    `<meta property="article:published_time" content="${published}">`,
    a.modifiedTime ? `<meta property="article:modified_time" content="${a.modifiedTime}">` : '',
    `<link rel="canonical" href="${url}">`,
    `<script type="application/ld+json">{"@context": "http://schema.org", "@type": "NewsArticle", "url": "${url}", "datePublished": "${iso}"}</script>`,
  ].filter(Boolean);
  const body = a.jsBuilt
    ? `<div class="article__body js-mediator-article" id="article-body"></div>
<script type="application/json" id="article-blocks">${JSON.stringify(a.blocks.map((b) => ({ html: b.html }))).replace(/</g, '\\u003c')}</script>
<script>
document.addEventListener('DOMContentLoaded', function () {
  var body = document.getElementById('article-body');
  JSON.parse(document.getElementById('article-blocks').textContent).forEach(function (b) {
    body.insertAdjacentHTML('beforeend', b.html);
  });
});
</script>`
    : `<div class="${a.drifted ? 'article__content' : 'article__body'} js-mediator-article mia-analytics">\n${a.blocks.map((b) => b.html).join('\n')}\n</div>`;
  return `<!DOCTYPE html>
<html lang="tr" prefix="og: http://ogp.me/ns# article: http://ogp.me/ns/article#">
<head>
${meta.join('\n')}
<link rel="stylesheet" href="/css/common.min.css">
${chrome.head}
</head>
<body class="body m-article">
${chrome.icons}
${chrome.header}
<div class="layout"><div class="layout-article"><div class="article" data-id="${a.id}">
  <div class="article__header"><h1 class="article__title">${title}</h1>
    <div class="article__info"><a href="/${a.day}/">${a.time.slice(0, 2)}:${a.time.slice(2)} ${dottedDay(a.day)}</a></div></div>
  ${body}
  <div class="article__footer"><a href="/world/" class="tag__text">Dünya</a></div>
</div></div>
${chrome.sidebar}
</div>
<img src="/i/pixel.gif" alt=""><script src="https://platform.twitter.com/widgets.js" async></script>
</body></html>`;
}

/** What some networks see instead of the site: a small challenge page with none of its markup. */
export function challengePage(status: number): string {
  if (status === 451) {
    return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>451 Unavailable For Legal Reasons</title></head><body><h1>Unavailable For Legal Reasons</h1><p>Bu içeriğe erişim, mahkeme kararıyla engellenmiştir.</p></body></html>`;
  }
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Just a moment...</title><meta name="robots" content="noindex,nofollow"></head><body><div class="main-wrapper"><h1 class="zone-name-title">anlatilaninotesi.com.tr</h1><h2>Checking if the site connection is secure</h2><div id="challenge-form"><noscript>Enable JavaScript and cookies to continue</noscript></div></div></body></html>`;
}

export function listItem(a: MirrorArticle): string {
  return `<div class="list__item"><div class="list__content"><a href="/${a.day}/${a.slug}-${a.id}.html" class="list__title" title="${escapeHtml(a.title)}">${escapeHtml(a.title)}</a></div></div>`;
}

export function dayArchivePage(day: string, items: MirrorArticle[], moreUrl: string | null): string {
  const more = moreUrl ? `<div class="list__more" data-url="${escapeHtml(moreUrl)}">Daha fazla</div>` : '';
  return `<!DOCTYPE html>
<html lang="tr"><head><meta charset="utf-8"><title>${day} - ${SITE_NAME}</title>
<link rel="canonical" href="${SITE_BASE}/${day}/"></head>
<body class="body m-archive"><div class="layout"><div class="list">
${items.map(listItem).join('')}
</div>${more}</div></body></html>`;
}

export function moreFragment(items: MirrorArticle[], moreUrl: string | null): string {
  const more = moreUrl ? `<div class="list__more" data-url="${escapeHtml(moreUrl)}">Daha fazla</div>` : '';
  return `${items.map(listItem).join('')}${more}`;
}

export function sectionPage(name: string, items: MirrorArticle[]): string {
  return `<!DOCTYPE html>
<html lang="tr"><head><meta charset="utf-8"><title>${escapeHtml(name)} - ${SITE_NAME}</title>
<meta property="og:title" content="${escapeHtml(name)}">
<meta property="og:site_name" content="${SITE_NAME}">
<link rel="canonical" href="${SITE_BASE}/${name}/"></head>
<body class="body m-section"><div class="layout"><h1 class="section__title">${escapeHtml(name)}</h1>
<div class="list">${items.map(listItem).join('')}</div></div></body></html>`;
}

export function sitemapIndex(months: string[]): string {
  const entries = months.map((m) => `<sitemap><loc>${SITE_BASE}/sitemap_article.xml?date_start=${m}01&amp;date_end=${m}${lastDayOfMonth(m)}</loc></sitemap>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${entries.join('\n')}\n</sitemapindex>\n`;
}

export function monthSitemap(items: MirrorArticle[]): string {
  const entries = items.map(
    (a) =>
      `<url><loc>${articleUrl(a)}</loc><lastmod>${a.lastmod ?? publishedLastmod(a)}</lastmod><image:image><image:loc>${a.image}</image:loc></image:image></url>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">\n${entries.join('\n')}\n</urlset>\n`;
}

export function rssFeed(items: MirrorArticle[]): string {
  const entries = items.map(
    (a) =>
      `<item><title>${escapeHtml(a.title)}</title><link>${articleUrl(a)}</link><guid>${articleUrl(a)}</guid><description>${escapeHtml(a.description)}</description></item>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n<title>${SITE_NAME}</title><link>${SITE_BASE}/</link>\n${entries.join('\n')}\n</channel></rss>\n`;
}

function lastDayOfMonth(month: string): string {
  return String(daysInMonth(month)).padStart(2, '0');
}
