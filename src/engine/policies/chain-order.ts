import type { Config } from '../../config/config.js';
import type { Logger } from '../../log/logger.js';
import type { Storage } from '../../storage/storage.js';
import { BlockedPause } from './blocked-pause.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { baselineOf, BASELINE_RUNS } from './drift.js';
import { DriftWatch } from './drift-watch.js';
import type { RequestMiddleware } from './policy.js';
import { RateGate } from './rate-gate.js';
import { RequestAccounting } from './request-accounting.js';
import { RequestChain } from './request-chain.js';
import { RetryAfterPause } from './retry-after.js';
import { RobotsGuard } from './robots-guard.js';
import { SubrequestCap } from './subrequest-cap.js';

/** The middlewares other parts talk to by name (the scheduler to the gate, the pipeline to the breaker…). */
export interface ChainParts {
  robots: RobotsGuard;
  drift: DriftWatch;
  rate: RateGate;
  breaker: CircuitBreaker;
  blocked: BlockedPause;
  accounting: RequestAccounting;
}

export interface RequestPolicies extends ChainParts {
  chain: RequestChain;
}

/**
 * The order every request passes the middlewares in (docs/operations.md lists it): a veto comes
 * before the wait for a rate slot, so a request that never goes out holds none (the sub-request
 * cap is one: a capped request stamps nothing into the rate window); Retry-After comes
 * after the gate, so its pause is set before the slot frees; the breaker and the accounting last,
 * so they hear only what went out. A new policy is one file and one line here.
 */
function ordered(p: ChainParts, config: Config): RequestMiddleware[] {
  return [
    p.robots,
    p.drift,
    new SubrequestCap(config.render.maxSubrequests, (req, error) => p.accounting.count(req, null, error)),
    p.rate,
    RetryAfterPause.on(p.rate, config.crawl.maxRetryAfterMs),
    p.blocked,
    p.breaker,
    p.accounting,
  ];
}

/**
 * The request chain of one engine, built from config. `extend` sees the list in order and may
 * return another (a test adds a middleware of its own).
 */
export function requestPolicies(
  config: Config,
  o: { log: Logger; storage: Storage | null; extend?: (list: RequestMiddleware[]) => RequestMiddleware[] },
): RequestPolicies {
  const c = config.crawl;
  const rate = new RateGate(c.rate);
  const parts: ChainParts = {
    robots: new RobotsGuard(),
    drift: new DriftWatch(o.storage ? baselineOf(o.storage.state.runs.recent(BASELINE_RUNS).filter((r) => r.finishedAt !== null)) : null, o.log),
    rate,
    breaker: new CircuitBreaker(c.unreachableAfter),
    blocked: new BlockedPause({ inARow: c.blockedInARow, pauseMs: c.blockedPauseMs, pause: (ms) => rate.pauseFor(ms), log: o.log }),
    accounting: new RequestAccounting(),
  };
  const list = ordered(parts, config);
  return { ...parts, chain: new RequestChain(o.extend ? o.extend(list) : list, o.log) };
}
