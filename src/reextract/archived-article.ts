import { createHash } from 'node:crypto';
import type { Extraction } from '../extract/article.js';
import type { WarcLocation } from '../fetch/exchange.js';
import type { SiteProfile } from '../site/profile.js';
import { formatSnapshot } from '../snapshot/format.js';
import { readArchived } from '../warc/warc-reader.js';
import { extractPage } from '../engine/pipeline/page-extraction.js';

/**
 * An archived page through the crawl's own decode → extract: the response's payload decoded by
 * its charset, or the rendered DOM as the browser built it.
 */
export function extractArchived(root: string, at: WarcLocation, profile: SiteProfile): { url: string; extraction: Extraction } {
  const page = readArchived(root, at);
  const source = page.type === 'conversion' ? { html: page.body.toString('utf8') } : { body: page.body, ...(page.contentType ? { contentType: page.contentType } : {}) };
  return { url: page.url, extraction: extractPage(source, page.url, profile).extraction };
}

/**
 * The search index's source of body blocks for a version read back from its file: the archived
 * page extracted again, when it gives that very version (the same snapshot bytes); else null.
 */
export function archivedBlocks(root: string, profile: SiteProfile): (at: WarcLocation, sha256: string) => readonly string[] | null {
  return (at, sha256) => {
    const { extraction } = extractArchived(root, at, profile);
    if (!extraction.ok || !extraction.article.blocks) return null;
    return createHash('sha256').update(formatSnapshot(extraction.article)).digest('hex') === sha256 ? extraction.article.blocks : null;
  };
}
