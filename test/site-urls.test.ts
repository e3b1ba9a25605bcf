import { describe, expect, it } from 'vitest';
import { sputnikTurkiye } from '../src/site/profile.js';
import { SiteUrls } from '../src/site/site-urls.js';

const urls = new SiteUrls(sputnikTurkiye, 'http://127.0.0.1:8080');
const CANON = 'https://anlatilaninotesi.com.tr/20251220/lavrov-1102014239.html';

describe('article URLs', () => {
  it('every variant of one article gives one id and one canonical URL', () => {
    for (const v of [
      CANON,
      'http://anlatilaninotesi.com.tr/20251220/lavrov-1102014239.html',
      `${CANON}?chat_room_id=1102014239`,
      `${CANON}?modal=feedback#comments`,
      'https://tr.sputniknews.com/20251220/lavrov-1102014239.html',
      'https://sputniknews.com.tr/20251220/lavrov-1102014239.html',
      'https://anlatilaninotesi.com.tr/amp/20251220/lavrov-1102014239.html',
      'https://ANLATILANINOTESI.com.tr/20251220/lavrov-1102014239.html',
      'http://127.0.0.1:8080/20251220/lavrov-1102014239.html',
    ]) {
      expect(urls.parseArticle(v), v).toEqual({ id: '1102014239', day: '20251220', url: CANON });
    }
  });
  it('refuses what only looks like the site', () => {
    for (const v of [
      'https://anlatilaninotesi.com.tr.evil.example/20251220/lavrov-1102014239.html',
      'https://anlatilaninotesi.com.tr@evil.example/20251220/lavrov-1102014239.html',
      'https://user:pw@anlatilaninotesi.com.tr/20251220/lavrov-1102014239.html',
      'https://xn--anlatlanotesi-9ob.com.tr/20251220/lavrov-1102014239.html',
      'ftp://anlatilaninotesi.com.tr/20251220/lavrov-1102014239.html',
      'file:///20251220/lavrov-1102014239.html',
      'javascript:alert(1)',
      'https://anlatilaninotesi.com.tr:8443/20251220/lavrov-1102014239.html',
      'http://127.0.0.1:9999/20251220/lavrov-1102014239.html',
      'https://anlatilaninotesi.com.tr/world/',
      'https://anlatilaninotesi.com.tr/20251220/',
      'https://anlatilaninotesi.com.tr/20251320/lavrov-1102014239.html',
      'https://anlatilaninotesi.com.tr/20251220/lavrov-110201423.html',
      'https://anlatilaninotesi.com.tr/20251220/../../etc/passwd-1102014239.html',
      'https://anlatilaninotesi.com.tr/20251220/a%2F..%2F..-1102014239.html/x',
      'https://anlatilaninotesi.com.tr/20251220/..%2F..%2Fetc%2Fpasswd-1102014239.html',
      'https://anlatilaninotesi.com.tr/20251220/lavrov.rusya-1102014239.html',
      'https://anlatilaninotesi.com.tr/20251220/lavrov~1-1102014239.html',
      'https://anlatilaninotesi.com.tr/20251220/lavrov%20rusya-1102014239.html',
      'https://anlatilaninotesi.com.tr/20251220/lavrov_rusya-1102014239.html',
      'https://anlatilaninotesi.com.tr/20251220/türkiye-1102014239.html',
    ]) {
      expect(urls.parseArticle(v), v).toBeNull();
    }
  });
  it('maps site URLs to the origin and back', () => {
    expect(urls.toOrigin(CANON).href).toBe('http://127.0.0.1:8080/20251220/lavrov-1102014239.html');
    expect(urls.fromContacted(new URL('http://127.0.0.1:8080/x?y=1'))?.href).toBe('https://anlatilaninotesi.com.tr/x?y=1');
    expect(urls.fromContacted(new URL('http://10.0.0.1/x'))).toBeNull();
  });
});
