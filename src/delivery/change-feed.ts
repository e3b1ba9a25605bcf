import { readManifestLines, type ManifestPosition, type ManifestRecord } from '../storage/manifest.js';

/** A page of the change feed: the events after a `seq`, and the `seq` to ask after next. */
export interface EventPage {
  events: ManifestRecord[];
  /** The `seq` of the last event given (or the one asked after, when none): resume after it. */
  next: number;
}

export const MAX_EVENTS_PAGE = 1000;

/**
 * The manifest read as a change feed a consumer resumes from: the events after a `seq`, each the
 * manifest line with its `seq`. Where state knows the line's offset it starts there; otherwise it
 * reads from the start (a reader beside a run, or a state that lags). It takes no lock.
 */
export class ChangeFeed {
  constructor(
    private readonly root: string,
    /** The byte offset of the line numbered `seq`, when known. */
    private readonly offsetOf: (seq: number) => number | undefined = () => undefined,
    /**
     * Where the lines state has applied end: the feed gives those only. A line still being made
     * durable, or one state has not recorded yet, is not given: it could still be cut back, and a
     * consumer must never see a `seq` the storage does not stand by.
     */
    private readonly appliedEnd: () => number | undefined = () => undefined,
  ) {}

  /** Up to `limit` events after `after`. */
  async read(after: number, limit: number): Promise<EventPage> {
    const events: ManifestRecord[] = [];
    // A few lines (a webhook's one event) read a few KB, not a stream's 256 KB.
    for await (const record of this.from(after, Math.min(256 * 1024, 4096 * limit))) {
      events.push(record);
      if (events.length >= limit) break;
    }
    return { events, next: events.at(-1)?.seq ?? after };
  }

  /** Every event after `after`, to the manifest's end now (corrupt lines are passed over: they have no event). */
  async *from(after: number, chunkBytes?: number): AsyncGenerator<ManifestRecord> {
    const start = this.position(after);
    const end = this.appliedEnd();
    for await (const line of readManifestLines(this.root, { from: start, ...(end === undefined ? {} : { end }), ...(chunkBytes ? { chunkBytes } : {}) })) {
      if (line.seq <= after || !('record' in line)) continue;
      yield line.record;
    }
  }

  /** Where to read from for the lines after `after`, as far as state tells; else the manifest's start. */
  private position(after: number): ManifestPosition {
    if (after <= 0) return { offset: 0, seq: 0 };
    const next = this.offsetOf(after + 1);
    if (next !== undefined) return { offset: next, seq: after };
    // The newest line may not be in state yet: from the last one it has (passed over when read).
    const last = this.offsetOf(after);
    return last === undefined ? { offset: 0, seq: 0 } : { offset: last, seq: after - 1 };
  }
}
