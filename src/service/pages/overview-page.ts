import type { CrawlSummary } from '../../engine/lanes/crawl-run.js';
import { COUNTED_AS } from '../../engine/progress.js';
import { crawlExitCode } from '../../exit-codes.js';
import { OUTCOMES, type OutcomeKind } from '../../storage/state/article-states.js';
import type { DayCount, ErrorCount, RecentEvent, RunRecord } from '../../storage/state/state-store.js';
import { dashed, shiftDay, siteToday } from '../../site/calendar.js';
import type { StatusDocument } from '../crawl-service.js';
import { stackedBars, type BarGroup } from './charts.js';
import { readersSection } from './readers-section.js';
import { duration, html, layout, num, when, whenShort, type Html } from './html.js';

export interface OverviewData {
  status: StatusDocument;
  nowMs: number;
  /** Events a day over the chart's days. */
  perDay: DayCount[];
  /** Recent runs, newest first, with their summaries. */
  runs: RunRecord[];
  failures: ErrorCount[];
  changes: RecentEvent[];
  /** What `/readyz` says of the storage folder, when it cannot be written. */
  storageProblem: string | null;
}

export const CHART_DAYS = 30;

const CAPTURES = [
  { kind: 'new', label: 'new', color: '#2e7d32' },
  { kind: 'updated', label: 'updated', color: '#1565c0' },
  { kind: 'gone', label: 'gone', color: '#c62828' },
];
const REQUESTS = [
  { kind: '2xx', label: '2xx', color: '#2e7d32' },
  { kind: '304', label: '304 not modified', color: '#7cb342' },
  { kind: '4xx', label: '4xx', color: '#b26a00' },
  { kind: '5xx', label: '5xx', color: '#c62828' },
  { kind: 'error', label: 'no answer', color: '#6a1b9a' },
];

/** `GET /`: is it healthy, what it captured, what failed, what the site changed. */
export function overviewPage(d: OverviewData): string {
  const { status: s, nowMs } = d;
  const lastRun = d.runs.find((r) => r.finishedAt);
  const failedRun = lastRun?.status === 'failed' ? lastRun : null;
  const healthy = !s.alarms.drift && !s.alarms.blocked && !s.alarms.unreachable && !s.alarms.needsAttention && !s.alarms.webhooks && !s.alarms.storage && !s.alarms.scheduleFailure && !d.storageProblem && !failedRun;
  const body = html`
<section>
  <h1>${healthy ? html`<span class="ok" data-health="ok">● Healthy</span>` : html`<span class="bad" data-health="alarm">● Needs attention</span>`}</h1>
  <p class="muted">Snapshots of ${s.site} · storage <code>${s.storage}</code> · ${when(new Date(nowMs).toISOString(), nowMs)}</p>
</section>
${alarms(s, d.storageProblem, failedRun)}
<div class="grid">
  ${crawlState(s, nowMs)}
  <section>
    <h2>Articles</h2>
    <dl class="stats">${(['done', 'gone', 'pending', 'failed', 'skipped'] as const).map((k) => stat(`articles.${k}`, k === 'done' ? 'captured' : k, s.articles[k]))}${stat('articles.needsAttention', 'needs attention', s.articles.needsAttention)}</dl>
    <h2 style="margin-top:1rem">Since the service started <span class="muted" style="font-weight:400">${when(s.startedAt, nowMs)}</span></h2>
    <dl class="stats">${Object.entries(s.outcomes).map(([k, v]) => stat(`outcomes.${k}`, label(k), v))}</dl>
  </section>
</div>
<div class="grid">
  <section>
    <h2>Captured per day, last ${CHART_DAYS} days</h2>
    ${stackedBars({ name: 'per-day', groups: perDay(d), series: CAPTURES, caption: 'Articles captured per day: new, updated, gone' })}
  </section>
  <section>
    <h2>Requests by status, recent runs</h2>
    ${stackedBars({ name: 'requests', groups: requestsByRun(d.runs), series: REQUESTS, caption: 'Requests of each recent run, by status' })}
  </section>
</div>
${runsTable(d.runs, nowMs)}
${webhooks(s)}
${readersSection(s)}
<div class="grid">
  ${failures(d.failures, nowMs)}
  ${changes(d.changes, nowMs)}
</div>`;
  return layout({ title: healthy ? 'newsnap · healthy' : 'newsnap · needs attention', body, ...(s.running ? { refreshSeconds: 5 } : {}) });
}

function stat(key: string, name: string, value: number): Html {
  return html`<div><dt>${name}</dt><dd data-stat="${key}">${num(value)}</dd></div>`;
}

/** The outcome table's word for a count (`notArticle` → `not articles`). */
function label(count: string): string {
  if (count === 'written') return 'new';
  if (count === 'unchanged') return 'unchanged on revisit';
  const kind = (Object.entries(COUNTED_AS) as Array<[OutcomeKind, string | null]>).find(([, key]) => key === count)?.[0];
  return kind ? OUTCOMES[kind].word : count;
}

function alarms(s: StatusDocument, storage: string | null, failedRun: RunRecord | null): Html {
  const out: Html[] = [];
  if (storage) out.push(html`<section class="alarm" data-alarm="storage"><h2 class="bad">Storage</h2><p>${storage}</p></section>`);
  if (s.alarms.storage) {
    const w = s.alarms.storage;
    out.push(html`<section class="alarm" data-alarm="storage-writes"><h2 class="bad">Writes to the storage fail</h2>
<ul>${w.problems.map((p) => html`<li><code>${p.op}</code> since ${p.since} (${num(p.failures)} failure${p.failures === 1 ? '' : 's'}): ${p.message}</li>`)}</ul><p>${w.remedy}.</p></section>`);
  }
  if (s.alarms.scheduleFailure) {
    out.push(html`<section class="alarm" data-alarm="schedule-failure"><h2 class="bad">The last scheduled crawl failed (${s.alarms.scheduleFailure.at})</h2><p>${s.alarms.scheduleFailure.error}</p><p>The next tick tries again.</p></section>`);
  }
  // An unreachable site has an alarm of its own, with the runs in a row it lasted.
  if (failedRun && !s.alarms.unreachable) {
    const message = (failedRun.summary as CrawlSummary | null)?.message ?? 'see its log records';
    out.push(html`<section class="alarm" data-alarm="failed-run"><h2 class="bad">The last crawl failed (run ${failedRun.id})</h2><p>${message}</p></section>`);
  }
  if (s.alarms.drift) {
    out.push(html`<section class="alarm" data-alarm="drift"><h2 class="bad">Extraction drift (run ${s.alarms.drift.runId})</h2>
<ul>${s.alarms.drift.said.map((line) => html`<li>${line}</li>`)}</ul><p>Remedy: ${s.alarms.drift.remedy}.</p></section>`);
  }
  if (s.alarms.unreachable) {
    const u = s.alarms.unreachable;
    out.push(html`<section class="alarm" data-alarm="unreachable"><h2 class="bad">The site could not be reached (${u.runsInARow} run${u.runsInARow === 1 ? '' : 's'} in a row)</h2>
<p>${u.message}</p><p class="muted">No article is counted as failed for this; each run stops after a handful of requests and the next one tries again.</p></section>`);
  }
  if (s.alarms.needsAttention) {
    const a = s.alarms.needsAttention;
    out.push(html`<section class="alarm warn" data-alarm="needs-attention"><h2 class="warn">${num(a.articles)} article${a.articles === 1 ? '' : 's'} failed all ${a.maxFailedRuns} runs</h2>
<p>They are retried on the slow schedule (<code>${a.schedule}</code>); see their errors below. ${a.remedy}.</p></section>`);
  }
  if (s.alarms.webhooks) {
    const w = s.alarms.webhooks;
    const what = [w.dead > 0 ? `${num(w.dead)} webhook deliver${w.dead === 1 ? 'y' : 'ies'} failed their last attempt` : '', w.disabled.length > 0 ? `${w.disabled.length} endpoint(s) answered 410 and are turned off: ${w.disabled.join(', ')}` : '']
      .filter(Boolean)
      .join('; ');
    out.push(html`<section class="alarm warn" data-alarm="webhooks"><h2 class="warn">Webhooks</h2><p>${what}.</p><p>Remedy: ${w.remedy}.</p></section>`);
  }
  if (s.alarms.blocked) {
    out.push(html`<section class="alarm warn" data-alarm="blocked"><h2 class="warn">Blocked (run ${s.alarms.blocked.runId})</h2>
<p>The site answered with challenge or block pages; the run paused ${s.alarms.blocked.pauses} time(s). Check the network newsnap crawls from, or its proxy.</p></section>`);
  }
  return html`${out}`;
}

function crawlState(s: StatusDocument, nowMs: number): Html {
  const r = s.running;
  const running = r
    ? html`<div data-section="running"><p><strong>Crawl running</strong> since ${when(r.startedAt, nowMs)}</p>
<div class="progress"><span style="width:${r.total > 0 ? Math.min(100, Math.round((100 * r.done) / r.total)) : 0}%"></span></div>
<p><span data-stat="running.done">${num(r.done)}</span> of <span data-stat="running.total">${num(r.total)}</span> done: ${num(r.counts.written)} new, ${num(r.counts.updated)} updated, ${num(r.counts.unchanged)} unchanged, ${num(r.counts.gone)} gone, ${num(r.counts.failed)} failed</p></div>`
    : html`<p data-section="running"><strong>No crawl running.</strong></p>`;
  const f = s.freshness;
  const w = s.feedWatch;
  return html`<section><h2>Crawls</h2>${running}
<dl class="stats" style="grid-template-columns: 1fr">
<div><dt>next scheduled run</dt><dd style="font-size:1rem" data-stat="nextRun">${when(s.nextRun, nowMs)}</dd></div>
<div><dt>last successful run</dt><dd style="font-size:1rem" data-stat="lastSuccess">${s.lastSuccess ? html`run ${s.lastSuccess.runId}, ended ${when(s.lastSuccess.finishedAt, nowMs)}` : html`<span class="muted">none yet</span>`}</dd></div>
<div><dt>capture lag, articles published in the last 24 h</dt><dd style="font-size:1rem" data-stat="captureLag">${
    f.captured > 0 ? html`median <span data-stat="captureLag.median">${seconds(f.medianSeconds)}</span>, 95th percentile <span data-stat="captureLag.p95">${seconds(f.p95Seconds)}</span> (${num(f.captured)} articles)` : html`<span class="muted">no article published in the last 24 h captured yet</span>`
  }</dd></div>
<div><dt>next feed poll (every ${w.every})</dt><dd style="font-size:1rem" data-stat="nextFeedPoll">${
    w.nextPollAt ? when(w.nextPollAt, nowMs) : html`<span class="muted">${w.every === 'off' || w.every === '0' ? 'the feed watch is off' : 'none'}</span>`
  }${w.lastPoll ? html` <span class="muted">· last: ${w.lastPoll.outcome}${w.lastPoll.newArticles ? `, ${w.lastPoll.newArticles} new` : ''}${w.failuresInARow ? `, ${w.failuresInARow} failed in a row` : ''}</span>` : ''}</dd></div>
</dl></section>${backfill(s, nowMs)}${sweep(s, nowMs)}`;
}

/** The sweep of the history: how much of the cycle is read, the month read longest ago, the next read. */
function sweep(s: StatusDocument, nowMs: number): Html {
  const w = s.sweep;
  if (!w) return html``;
  const last = w.lastRead;
  return html`<section data-section="sweep"><h2>Sweep of the history</h2>
<p><span data-stat="sweep.readThisCycle">${num(w.readThisCycle)}</span> of <span data-stat="sweep.months">${num(w.months)}</span> months read in the last ${w.every}; the read longest ago <span data-stat="sweep.oldestReadAt">${w.oldestReadAt ? when(w.oldestReadAt, nowMs) : html`<span class="muted">none yet</span>`}</span>; next read <span data-stat="sweep.nextAt">${when(w.nextAt, nowMs)}</span>.</p>
${last ? html`<p class="muted">Last: ${last.month.slice(0, 4)}-${last.month.slice(4)}, ${last.outcome}${last.unlisted ? `, ${last.unlisted} no longer listed` : ''}${last.error ? ` (${last.error})` : ''}, ${when(last.at, nowMs)}.</p>` : ''}
<p class="muted">Each month's sitemap is read again (a 304 when unchanged): a moved lastmod or a removed article makes it due for the revisits.</p></section>`;
}

function seconds(value: number | null): string {
  if (value === null) return '–';
  return value < 120 ? `${value} s` : value < 7200 ? `${Math.round(value / 60)} min` : `${(value / 3600).toFixed(1)} h`;
}

/** The backfill serve works through beside its schedule: its progress and when it should end. */
function backfill(s: StatusDocument, nowMs: number): Html {
  const b = s.backfill;
  if (!b) return html``;
  const range = `${dashed(b.since)} to ${dashed(b.until)}`;
  if (b.phase === 'done') return html`<section data-section="backfill"><h2>Backfill</h2><p>${range}: <span class="ok">done</span> ${when(b.completedAt, nowMs)}.</p></section>`;
  const what =
    b.phase === 'discovering'
      ? 'reading the sitemaps of its months'
      : b.phase === 'waiting'
        ? html`<span class="bad" data-stat="backfill.failing">failing</span>${b.failing ? ` (${b.failing.runsInARow} runs in a row: ${b.failing.error})` : ''}: trying again ${b.failing?.retryAt ? when(b.failing.retryAt, nowMs) : 'later'}`
        : html`<span data-stat="backfill.done">${num(b.done)}</span> of <span data-stat="backfill.total">${num(b.total)}</span> articles${b.perHour ? `, ${num(b.perHour)} an hour` : ''}${b.etaAt ? html`, done ${when(b.etaAt, nowMs)} at this pace` : ''}`;
  return html`<section data-section="backfill"><h2>Backfill</h2><p>${range}, requested ${when(b.requestedAt, nowMs)}: ${what}.</p>
<div class="progress"><span style="width:${b.total > 0 ? Math.min(100, Math.round((100 * b.done) / b.total)) : 0}%"></span></div>
<p class="muted">It gets the request budget left over: manual fetches, the feed watch, new articles, due revisits and the sweep go first, inside the same rate limit.</p></section>`;
}

function perDay(d: OverviewData): BarGroup[] {
  const today = siteToday(d.nowMs);
  const byDay = new Map<string, Record<string, number>>();
  for (const row of d.perDay) {
    const kind = row.event === 'new' ? 'new' : row.event === 'gone' ? 'gone' : row.event === 'updated' || row.event === 'restored' ? 'updated' : null;
    if (!kind) continue;
    const values = byDay.get(row.day) ?? {};
    values[kind] = (values[kind] ?? 0) + row.count;
    byDay.set(row.day, values);
  }
  return Array.from({ length: CHART_DAYS }, (_, i) => {
    const day = shiftDay(today, i - (CHART_DAYS - 1));
    const key = dashed(day);
    return { key, label: key.slice(5), values: byDay.get(key) ?? {} };
  });
}

function requestsByRun(runs: RunRecord[]): BarGroup[] {
  return runs
    .filter((r) => r.finishedAt && (r.summary as CrawlSummary | null)?.requests)
    .slice(0, 20)
    .reverse()
    .map((r) => {
      const values: Record<string, number> = {};
      for (const [status, n] of Object.entries((r.summary as CrawlSummary).requests)) {
        const code = Number(status);
        const kind = status === '304' ? '304' : code >= 200 && code < 300 ? '2xx' : code >= 400 && code < 500 ? '4xx' : code >= 500 ? '5xx' : 'error';
        values[kind] = (values[kind] ?? 0) + n;
      }
      return { key: String(r.id), label: `#${r.id}`, values };
    });
}

function runsTable(runs: RunRecord[], nowMs: number): Html {
  const rows = runs.slice(0, 15).map((r) => {
    const s = r.summary as CrawlSummary | null;
    const c = s?.counts;
    const state = r.finishedAt ? (r.status ?? 'unknown') : 'running';
    const code = s && r.finishedAt ? crawlExitCode(s) : null;
    return html`<tr data-run="${r.id}"><td class="n">${r.id}</td><td>${r.kind}</td><td>${when(r.startedAt, nowMs)}</td>
<td class="n">${s ? duration(s.durationMs) : '–'}</td>
<td>${c ? `${num(c.written)} new, ${num(c.updated)} updated, ${num(c.unchanged)} unchanged, ${num(c.gone)} gone, ${num(c.failed)} failed` : '–'}</td>
<td class="${state === 'done' ? 'ok' : state === 'failed' ? 'bad' : 'warn'}">${state}${s?.drift ? ' (drift)' : ''}</td><td class="n">${code ?? '–'}</td></tr>`;
  });
  return html`<section><h2>Recent runs</h2><div class="table"><table data-table="runs">
<thead><tr><th>run</th><th>kind</th><th>started</th><th>took</th><th>articles</th><th>status</th><th>exit code</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="7" class="muted">No run yet.</td></tr>`}</tbody></table></div></section>`;
}

/** Errors name the URL they happened to; grouped, only the reason counts. */
export function reasonOf(error: string): string {
  return error.replace(/https?:\/\/\S+?(?=[\s:]|$)/g, '').replace(/^[\s:]+/, '').replace(/\s+/g, ' ').trim() || error;
}

function failures(rows: ErrorCount[], nowMs: number): Html {
  const groups = new Map<string, { count: number; lastAt: string; states: Set<string> }>();
  for (const r of rows) {
    const key = reasonOf(r.error);
    const g = groups.get(key) ?? { count: 0, lastAt: '', states: new Set<string>() };
    g.count += r.count;
    if (r.lastAt > g.lastAt) g.lastAt = r.lastAt;
    g.states.add(r.state === 'done' ? 'on revisit' : r.state);
    groups.set(key, g);
  }
  const sorted = [...groups.entries()].sort((a, b) => b[1].count - a[1].count).slice(0, 12);
  return html`<section><h2>Recent failures, by reason (7 days)</h2><div class="table"><table data-table="failures" class="fit">
<thead><tr><th>reason</th><th>articles</th><th>last</th></tr></thead>
<tbody>${
    sorted.length
      ? sorted.map(([reason, g]) => html`<tr><td>${reason} <span class="muted">(${[...g.states].join(', ')})</span></td><td class="n" data-count>${num(g.count)}</td><td>${whenShort(g.lastAt, nowMs)}</td></tr>`)
      : html`<tr><td colspan="3" class="muted">Nothing failed.</td></tr>`
  }</tbody></table></div></section>`;
}

/** The webhook endpoints and their deliveries (nothing when none is configured or has any). */
function webhooks(s: StatusDocument): Html {
  if (s.webhooks.length === 0) return html``;
  const rows = s.webhooks.map(
    (w) => html`<tr data-webhook="${w.url}"><td>${w.url}${w.disabled ? html` <span class="bad">(turned off: ${w.disabled.reason})</span>` : ''}</td><td>${w.events.join(', ')}</td>
<td class="n" data-stat="delivered">${num(w.delivered)}</td><td class="n" data-stat="pending">${num(w.pending)}</td><td class="n ${w.dead > 0 ? 'bad' : ''}" data-stat="dead">${num(w.dead)}</td><td class="muted">${w.lastError ?? ''}</td></tr>`,
  );
  return html`<section><h2>Webhooks</h2><div class="table"><table data-table="webhooks">
<thead><tr><th>endpoint</th><th>events</th><th>delivered</th><th>pending</th><th>dead</th><th>last error</th></tr></thead>
<tbody>${rows}</tbody></table></div>
<p class="muted">Change feed: <a href="/events">/events</a> · Atom: <a href="/feed.atom">/feed.atom</a></p></section>`;
}

function changes(rows: RecentEvent[], nowMs: number): Html {
  return html`<section><h2>Recently edited and removed</h2><ul class="list" data-list="changes">${
    rows.length
      ? rows.map(
          (e) => html`<li data-event="${e.event}" data-id="${e.id}"><span class="tag ${e.event}">${e.event}</span> <a href="/articles/${e.id}">${e.title ?? e.url}</a>
<br><span class="muted">${when(e.at, nowMs)}${e.reason ? ` · ${e.reason}` : ''}</span></li>`,
        )
      : html`<li class="muted">The site has not edited or removed anything newsnap holds.</li>`
  }</ul></section>`;
}
