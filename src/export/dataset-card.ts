import { sqlType, type Column } from './parquet-table.js';

export interface CardInput {
  siteName: string;
  siteUrl: string;
  since?: string;
  until?: string;
  ids?: readonly string[];
  now: string;
  software: string;
  result: { articles: number; versions: number; captures: number };
  tables: Record<'articles' | 'versions' | 'captures', readonly Column[]>;
}

const TABLE_TEXT: Record<'articles' | 'versions' | 'captures', string> = {
  articles: 'One row per article: what it says now, and when it was seen.',
  versions: 'One row per version of an article, oldest first, with what changed since the one before.',
  captures:
    "One row per archived capture (Common Crawl's index shape): join `url` to `articles.url`, and read the record itself at `warc_record_offset` (`warc_record_length` bytes, one gzip member) in `warc_filename` of the storage folder.",
};

const day = (d: string) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;

/**
 * README.md beside the tables: a dataset card (the YAML header Hugging Face reads to find the
 * tables, then the tables and their columns, the licence note, and how the files were made).
 * Made from the same column lists the writer uses, so it cannot drift from the files.
 */
export function datasetCard(c: CardInput): string {
  const scope = c.ids ? `articles ${c.ids.join(', ')}` : `articles of ${c.since ? day(c.since) : 'the first day'} to ${c.until ? day(c.until) : 'the last day'}`;
  const tables = (['articles', 'versions', 'captures'] as const).map((name) => [
    `### ${name}.parquet (${c.result[name]} rows)`,
    '',
    TABLE_TEXT[name],
    '',
    '| column | type | null | meaning |',
    '| --- | --- | --- | --- |',
    ...c.tables[name].map((col) => `| \`${col.name}\` | ${sqlType(col.kind)} | ${col.required ? 'never' : 'may be'} | ${col.doc} |`),
    '',
  ]);
  return [
    '---',
    'configs:',
    ...(['articles', 'versions', 'captures'] as const).flatMap((name) => [`  - config_name: ${name}`, `    data_files: ${name}.parquet`, ...(name === 'articles' ? ['    default: true'] : [])]),
    'license: other',
    `pretty_name: ${c.siteName} articles (newsnap)`,
    '---',
    '',
    `# ${c.siteName} articles, as newsnap archived them`,
    '',
    `News articles of ${c.siteUrl} (${scope}), every version newsnap captured, and the index of its web archive (WARC) records. Made by ${c.software}; it holds what was captured up to ${c.now}.`,
    '',
    '## Tables',
    '',
    'Timestamps are UTC instants (Parquet TIMESTAMP, adjusted to UTC: TIMESTAMP WITH TIME ZONE in DuckDB); text is UTF-8.',
    '',
    ...tables.flat(),
    '## Reading it',
    '',
    '```sql',
    "-- DuckDB: articles per month that mention a word",
    "SELECT date_trunc('month', published) AS month, count(*) FROM 'articles.parquet' WHERE body ILIKE '%ekonomi%' GROUP BY ALL ORDER BY month;",
    '```',
    '',
    '```python',
    'import pandas as pd',
    "versions = pd.read_parquet('versions.parquet')",
    "edits = versions[versions.version > 1].sort_values('similarity')",
    '```',
    '',
    '## Licence',
    '',
    `The articles are the work of ${c.siteName} and remain under its copyright and terms of use; this dataset does not license them. It is a record kept for research, archiving and checking what was published when: keep to what copyright law allows you where you use it (quotation, research, text and data mining), and name the source. The table layout and this card may be used freely.`,
    '',
    '## How it was made',
    '',
    `newsnap fetched each article page politely (robots.txt obeyed, at its configured rate), kept every HTTP exchange in WARC files and wrote the text of each version to a snapshot file; \`newsnap export --format parquet\` read those files (${c.result.articles} articles, ${c.result.versions} versions, ${c.result.captures} captures) and wrote these tables with hyparquet-writer, snappy-compressed, in row groups. The text is what newsnap's extraction took from the page: headline, summary, image URL and the paragraphs of the article body.`,
    '',
  ].join('\n');
}
