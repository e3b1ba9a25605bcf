import type { StatusDocument } from '../service-status.js';
import { html, num, type Html } from './html.js';

/** The overview's readers: the search index's lag, the heavy reads and exports, the engine thread's loop delay. */
export function readersSection(s: StatusDocument): Html {
  const r = s.reads;
  const i = s.index;
  if (!r && !i) return html``;
  const lag = !i
    ? html``
    : i.behind === null
      ? html`<p class="warn" data-index="off">The search index is off for this run: searches may miss the newest versions; the next start catches it up.</p>`
      : i.behind > 0
        ? html`<p class="warn" data-index-behind="${i.behind}">The search index is ${num(i.behind)} manifest line${i.behind === 1 ? '' : 's'} behind: the newest versions are not searchable yet.</p>`
        : html`<p class="muted" data-index-behind="0">The search index holds every manifest line (seq ${num(i.manifestSeq)}).</p>`;
  const reads = r
    ? html`<dl class="stats">
  <div><dt>heavy reads now</dt><dd data-reads="running">${num(r.running)} of ${num(r.max)}</dd></div>
  <div><dt>answered</dt><dd data-reads="answered">${num(r.answered)}</dd></div>
  <div><dt>refused</dt><dd data-reads="refused">${num(r.refused)}</dd></div>
  <div><dt>timed out</dt><dd data-reads="timedOut">${num(r.timedOut)}</dd></div>
  <div><dt>client gone</dt><dd data-reads="hungUp">${num(r.hungUp)}</dd></div>
  <div><dt>failed</dt><dd data-reads="failed">${num(r.failed)}</dd></div>
  <div><dt>exports building / queued</dt><dd data-reads="exports">${num(r.exports.running)} / ${num(r.exports.queued)}</dd></div>
  <div><dt>event-loop delay p99</dt><dd data-reads="loop-p99">${r.eventLoopDelay.p99Ms} ms</dd></div>
</dl>`
    : html``;
  return html`<section data-section="readers"><h2>Readers and the search index</h2>${lag}${reads}</section>`;
}
