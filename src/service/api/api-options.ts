import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../log/logger.js';
import type { StorageHealth } from '../../storage/storage-health.js';
import type { SiteUrls } from '../../site/site-urls.js';
import type { CrawlService } from '../crawl-service.js';
import type { ServiceMetrics } from '../metrics.js';
import type { ChangeSource, Waiters } from '../events-api.js';
import type { HeavyReads } from '../reads/heavy-reads.js';
import type { StatusDocument } from '../service-status.js';

/** What serves `GET /export?format=…` (and its alias `/export.wacz`): builds off the engine's thread, one at a time. */
export interface ExportHandler {
  handle(req: IncomingMessage, res: ServerResponse, params: URLSearchParams, format?: string): Promise<void>;
}

export interface ApiOptions {
  service: CrawlService;
  metrics: ServiceMetrics;
  urls: SiteUrls;
  log: Logger;
  storage: string;
  /** When set, guarded routes need `Authorization: Bearer <token>` (access.ts). */
  token: string;
  /** The status pages, the change feed and the Atom feeds need the token too (as a bearer token, or as the password of HTTP Basic). */
  protectPages: boolean;
  isStateOpen: () => boolean;
  /** Whether each kind of write goes through now: /readyz is 503 while one fails. */
  storageHealth: StorageHealth;
  /** What `GET /events` reads and waits on. */
  changes: ChangeSource;
  /** The places of held `GET /events?wait=` requests. */
  waiters: Waiters;
  /** Aborted when serve stops: held `/events?wait=` answers return at once. */
  stopping: AbortSignal;
  /** The heavy reads, in reader processes. */
  reads: HeavyReads;
  exports: ExportHandler;
  /** `GET /status`, and what the overview page shows: the service's, with the reads and the index. */
  status: () => StatusDocument;
}
