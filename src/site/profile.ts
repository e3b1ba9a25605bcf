/**
 * A site profile: everything newsnap knows about one site of the Sputnik/RIA CMS.
 * A sister site of the same CMS is another profile in config, not new code.
 */
export interface SiteProfile {
  /** Human name; also the tail the site appends to `<title>`. */
  name: string;
  /** Production base URL, e.g. `https://anlatilaninotesi.com.tr`. Snapshots always carry it. */
  baseUrl: string;
  /** Other hosts that serve the same articles (older domains, `www.`). */
  aliasHosts: string[];
  /**
   * Regex source matched against a URL path (an `/amp` prefix removed first); named groups
   * `id` (required) and `day` (YYYYMMDD, optional).
   */
  articlePath: string;
  /** Regex source of the tail removed from `<title>` when it is the title's source. */
  titleTail: string;
  selectors: {
    headline: string;
    body: string;
    block: string;
    text: string;
    heading: string;
  };
  discovery: {
    rss: string;
    sitemapIndex: string;
    /** Month sitemap path; `{start}` and `{end}` become YYYYMMDD. */
    monthSitemap: string;
    /** Day archive path; `{day}` becomes YYYYMMDD. */
    dayArchive: string;
  };
}

export const sputnikTurkiye: SiteProfile = {
  name: 'Sputnik Türkiye',
  baseUrl: 'https://anlatilaninotesi.com.tr',
  aliasHosts: ['www.anlatilaninotesi.com.tr', 'tr.sputniknews.com', 'sputniknews.com.tr', 'www.sputniknews.com.tr'],
  // Real slugs are lowercase ASCII letters, digits and hyphens; anything else (dots, percent
  // escapes such as `..%2F..%2Fetc%2Fpasswd`) is not an article URL and never sent.
  articlePath: '^/(?<day>\\d{8})/[A-Za-z0-9-]+-(?<id>\\d{10})\\.html$',
  titleTail: '\\s+-\\s+\\d{2}\\.\\d{2}\\.\\d{4},\\s+Sputnik Türkiye$',
  selectors: {
    headline: 'h1.article__title',
    body: 'div.article__body',
    block: 'div.article__block',
    text: '.article__text',
    heading: 'h1, h2, h3, h4, h5, h6',
  },
  discovery: {
    rss: '/export/rss2/archive/index.xml',
    sitemapIndex: '/sitemap_article_index.xml',
    monthSitemap: '/sitemap_article.xml?date_start={start}&date_end={end}',
    dayArchive: '/{day}/',
  },
};
