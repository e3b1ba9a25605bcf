import { FetchError } from '../../fetch/fetch-error.js';
import { RequestVeto } from '../../fetch/site-requests.js';
import type { ChainRequest, RequestMiddleware } from './policy.js';

/**
 * At most `max` sub-requests per render: a page that loads scripts without end (a loop, a
 * redesign that pulls hundreds of chunks) would otherwise cost the site unbounded requests inside
 * one rate slot. Past the cap, the page's further requests to the site are vetoed (the browser
 * aborts them); the first one vetoed is counted once, as `capped`, through `counted`.
 */
export class SubrequestCap implements RequestMiddleware {
  readonly name = 'subrequest-cap';
  private readonly made = new WeakMap<ChainRequest, number>();

  constructor(
    private readonly max: number,
    private readonly counted: (req: ChainRequest, error: FetchError) => void,
  ) {}

  before(req: ChainRequest): void {
    if (!req.parent || req.kind !== 'subrequest') return;
    const n = (this.made.get(req.parent) ?? 0) + 1;
    this.made.set(req.parent, n);
    if (n <= this.max) return;
    const message = `${req.parent.url}: the page asked for more than ${this.max} sub-requests (render.maxSubrequests); the rest were not sent`;
    if (n === this.max + 1) this.counted(req, new FetchError('capped', req.url, message));
    throw new RequestVeto(this.name, req.url, message);
  }
}
