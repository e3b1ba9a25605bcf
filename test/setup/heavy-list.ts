/** Test files that must not run beside each other (see heavy-files.ts). */
export const HEAVY_FILES = [
  'test/crash.test.ts',
  'test/shutdown.test.ts',
  'test/drift.test.ts',
  'test/render.test.ts',
  'test/versions.test.ts',
  'test/warc.test.ts',
  'test/freshness.test.ts',
  'test/outage.test.ts',
  'test/status-page.test.ts',
  'test/export-wacz.test.ts',
  'test/search-heavy.test.ts',
];

export function isHeavy(relativePath: string): boolean {
  return HEAVY_FILES.includes(relativePath.replace(/\\/g, '/')) || /\.heavy\.test\.ts$/.test(relativePath);
}
