import type { Config } from '../config/config.js';
import type { HttpClient } from '../fetch/http-client.js';
import { describeUnreachable } from '../fetch/unreachable.js';
import type { Logger } from '../log/logger.js';
import type { ArticleRef, SiteUrls } from '../site/site-urls.js';
import type { Storage } from '../storage/storage.js';
import { laneContext, LaneRun, type LaneName } from './lane.js';
import type { ArticlePipeline } from './pipeline/article-pipeline.js';
import type { ArticleOutcome } from './pipeline/article-outcome.js';
import type { RobotsRules } from '../discover/robots.js';
import type { RequestPolicies } from './policies/chain-order.js';
import type { CircuitBreaker } from './policies/circuit-breaker.js';
import { baselineOf, BASELINE_RUNS } from './policies/drift.js';
import type { RequestEvent } from './policies/policy.js';
import type { RequestScheduler } from './request-scheduler.js';

/** What an engine is made of: one of each, shared by every lane. */
export interface EngineParts {
  config: Config;
  log: Logger;
  urls: SiteUrls;
  http: HttpClient;
  /** The one queue every request of every lane waits in. */
  scheduler: RequestScheduler;
  /** The request chain every request passes, and its middlewares by name. */
  policies: RequestPolicies;
  breaker: CircuitBreaker;
  pipeline: ArticlePipeline;
  /** The storage writer; null for a fetch that only prints (`fetch --stdout`). */
  storage: Storage | null;
}

/**
 * The long-lived engine: it owns the request scheduler, the request chain (robots.txt, the rate
 * gate, Retry-After, the block-page pause, the circuit breaker, drift's render veto, the request
 * accounting: `policies/chain-order.ts`), the article pipeline and the storage writer. Lanes only
 * hand it work, each run with its lane and priority; every middleware sees every request and
 * outcome of every lane. A lane's failure ends that lane's run (`LaneRun.stop`); the shared parts
 * stop only at shutdown (`stop`).
 */
export class Engine {
  private readonly runs = new Set<LaneRun>();
  private readonly stopping = new AbortController();
  private readonly outcomeListeners = new Set<(o: ArticleOutcome, run: LaneRun) => void>();

  constructor(readonly parts: EngineParts) {
    const { breaker } = parts;
    // The site answers nothing: every lane's current run ends, with the address and the cause.
    breaker.onUnreachable((failure) => {
      for (const run of this.runs) {
        run.unreachable ??= failure;
        run.stop(new Error(describeUnreachable(failure)));
      }
    });
  }

  get storage(): Storage | null {
    return this.parts.storage;
  }

  /** Aborted once the engine stops (shutdown): every run stops with it. */
  get stopSignal(): AbortSignal {
    return this.stopping.signal;
  }

  /** Begins a run of a lane (its requests queue at the lane's rank); `end` it when it is over. It stops with `signal`, the engine, or a failure of its own. */
  begin(lane: LaneName, o: { signal?: AbortSignal } = {}): LaneRun {
    const run = new LaneRun(lane, o.signal ? [o.signal, this.stopping.signal] : [this.stopping.signal]);
    this.runs.add(run);
    return run;
  }

  /** The state rows of the runs under way now. */
  activeRunIds(): Set<number> {
    return new Set([...this.runs].map((r) => r.runId).filter((id): id is number => id !== null));
  }

  end(run: LaneRun): void {
    this.runs.delete(run);
    run.dispose();
  }

  /** Runs `work` (discovery, say) as part of `run`: its requests are counted under the run's lane. */
  within<T>(run: LaneRun, work: () => Promise<T>): Promise<T> {
    return laneContext.run(run, work);
  }

  /** One article for a run, through the pipeline; every policy and listener sees the outcome. Throws only a storage failure. */
  article(run: LaneRun, ref: ArticleRef): Promise<ArticleOutcome> {
    return laneContext.run(run, async () => {
      const outcome = await this.parts.pipeline.process(ref, this.parts.storage, run.signal, { priority: run.priority });
      this.settle(run, outcome);
      return outcome;
    });
  }

  /** A run ended with this summary's extraction: later runs judge drift against it. */
  runEnded(): void {
    const storage = this.parts.storage;
    if (storage) this.parts.policies.drift.rebase(baselineOf(storage.state.runs.recent(BASELINE_RUNS).filter((r) => r.finishedAt !== null)));
  }

  /** robots.txt as a run read it: its rules apply to every crawler lane's requests, its Crawl-delay to the rate gate. */
  followRobots(rules: RobotsRules): void {
    const { robots, rate } = this.parts.policies;
    robots.follow(rules);
    if (rules.crawlDelay === undefined) return;
    rate.applyCrawlDelay(rules.crawlDelay);
    this.parts.log.info({ crawlDelay: rules.crawlDelay, rate: rate.rate }, 'robots.txt Crawl-delay applied');
  }

  /** Hears every request that went out to the site, of every kind and lane. */
  onRequest(listener: (e: RequestEvent) => void): () => void {
    return this.parts.policies.accounting.listen(listener);
  }

  onOutcome(listener: (o: ArticleOutcome, run: LaneRun) => void): () => void {
    this.outcomeListeners.add(listener);
    return () => this.outcomeListeners.delete(listener);
  }

  /** Shutdown: every run stops, queued and running requests are aborted. The only way the shared parts stop. */
  stop(): void {
    this.stopping.abort(new Error('newsnap is stopping'));
    this.parts.scheduler.stop();
  }

  private settle(run: LaneRun, outcome: ArticleOutcome): void {
    this.parts.policies.chain.outcome(run, outcome);
    run.outcome(outcome);
    for (const listener of this.outcomeListeners) listener(outcome, run);
  }
}
