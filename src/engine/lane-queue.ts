import type { QueueAddOptions } from 'p-queue';

/**
 * The request queue's order (p-queue's `queueClass`): one FIFO per rank, the highest rank served
 * first, except that one rank (the revisit lane's) is owed a share of the requests whenever it
 * waits. Without the share, a schedule with thousands of new articles (a first crawl, a busy
 * month) would hold every due check back until it ran dry; with it, at least `share` of what
 * leaves the queue while due checks wait is a due check.
 */

type Run = () => Promise<unknown>;

/** What p-queue hands the queue with each task: its `priority` (the lane's rank) and `id`. */
export type LaneQueueOptions = QueueAddOptions;

/** The rank owed a share, and how much of the requests it is owed while it waits (0..1). */
export interface RankShare {
  rank: number;
  share: number;
}

interface Entry {
  run: Run;
  id: string | undefined;
}

export class LaneQueue {
  private readonly ranks = new Map<number, Entry[]>();
  /** Ranks with entries, highest first. */
  private order: number[] = [];
  private count = 0;
  /**
   * Requests the shared rank is owed: grows by `share` each dequeue, a turn costs 1. It grows
   * while the rank has nothing queued too, up to one turn: a lane that refills its next request
   * only when the last one ends is absent at the very dequeue that follows, and a credit reset
   * there would give it less than its share. Never more than one turn is banked.
   */
  private credit = 0;

  constructor(private readonly owed: RankShare | null = null) {}

  get size(): number {
    return this.count;
  }

  enqueue(run: Run, options?: Partial<LaneQueueOptions>): void {
    const rank = options?.priority ?? 0;
    let list = this.ranks.get(rank);
    if (!list) {
      list = [];
      this.ranks.set(rank, list);
      this.order = [...this.ranks.keys()].sort((a, b) => b - a);
    }
    list.push({ run, id: options?.id });
    this.count++;
  }

  dequeue(): Run | undefined {
    const top = this.order[0];
    if (top === undefined) return undefined;
    return this.take(this.pick(top));
  }

  /** The rank that goes next: the highest, unless the shared rank waits and its credit is due. */
  private pick(top: number): number {
    const owed = this.owed;
    if (!owed || owed.share <= 0) return top;
    if (!this.ranks.has(owed.rank)) {
      this.credit = Math.min(1, this.credit + owed.share);
      return top;
    }
    // A due check that waits only behind lanes below it goes first anyway, and pays for the turn
    // from what it was owed (never below zero).
    if (top === owed.rank) {
      this.credit = Math.max(0, this.credit - 1);
      return top;
    }
    this.credit += owed.share;
    if (this.credit >= 1) {
      this.credit -= 1;
      return owed.rank;
    }
    return top;
  }

  private take(rank: number): Run | undefined {
    const list = this.ranks.get(rank);
    const entry = list?.shift();
    if (!list || !entry) return undefined;
    if (list.length === 0) this.drop(rank);
    this.count--;
    return entry.run;
  }

  private drop(rank: number): void {
    this.ranks.delete(rank);
    this.order = this.order.filter((r) => r !== rank);
  }

  filter(options: Readonly<Partial<LaneQueueOptions>>): Run[] {
    return (this.ranks.get(options.priority ?? 0) ?? []).map((e) => e.run);
  }

  /** p-queue asks this only through `setPriority`, which newsnap never calls. */
  setPriority(id: string, priority: number): void {
    const rank = [...this.ranks.entries()].find(([, list]) => list.some((e) => e.id === id));
    if (!rank) throw new ReferenceError(`No promise function with the id "${id}" exists in the queue.`);
    const entry = rank[1].find((e) => e.id === id) as Entry;
    this.remove(id);
    this.enqueue(entry.run, { priority, id });
  }

  /** A queued request whose signal aborted leaves the queue. */
  remove(id: string): void {
    for (const [rank, list] of this.ranks) {
      const i = list.findIndex((e) => e.id === id);
      if (i < 0) continue;
      list.splice(i, 1);
      this.count--;
      if (list.length === 0) this.drop(rank);
      return;
    }
  }
}

/** A queue class for p-queue (which builds its queue itself, with no arguments) that owes `owed` its share. */
export function laneQueueClass(owed: RankShare | null): new () => LaneQueue {
  return class extends LaneQueue {
    constructor() {
      super(owed);
    }
  };
}
