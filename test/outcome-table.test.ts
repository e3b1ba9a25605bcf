import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COUNTED_AS } from '../src/engine/progress.js';
import { ExitCode } from '../src/exit-codes.js';
import { PROJECT } from './helpers/paths.js';
import { ARTICLE_STATES, exitCodeOf, OUTCOME_KINDS, OUTCOMES, STATE_MACHINE, stateAfterEvent, transition } from '../src/storage/state/article-states.js';

/**
 * The one table of outcomes and the state machine, read as tables: a new outcome kind or state
 * cannot be added without its rows here, and a changed rule shows as a changed line.
 */
const MACHINE = `
pending  written      done     reset  schedule           new
pending  updated      impossible
pending  restored     impossible
pending  reextracted  done     reset  keep               reextracted
pending  unchanged    impossible
pending  printed      keep     keep   keep               -
pending  gone         impossible
pending  missing      impossible
pending  not-article  skipped  keep   none               -
pending  disallowed   keep     keep   runs-left-or-slow  -
pending  blocked      keep     keep   keep               -
pending  failed       failed   add    runs-left-or-slow  -
pending  unreachable  keep     keep   keep               -
pending  postponed    keep     keep   keep               -
pending  interrupted  keep     keep   keep               -
done     written      impossible
done     updated      done     reset  schedule           updated
done     restored     impossible
done     reextracted  done     reset  keep               reextracted
done     unchanged    done     keep   schedule           -
done     printed      keep     keep   keep               -
done     gone         gone     keep   gone-schedule      gone
done     missing      done     keep   missing            -
done     not-article  done     keep   schedule           -
done     disallowed   done     keep   schedule           -
done     blocked      done     keep   retry              -
done     failed       done     keep   retry              -
done     unreachable  done     keep   keep               -
done     postponed    impossible
done     interrupted  keep     keep   keep               -
failed   written      done     reset  schedule           new
failed   updated      impossible
failed   restored     impossible
failed   reextracted  done     reset  keep               reextracted
failed   unchanged    impossible
failed   printed      keep     keep   keep               -
failed   gone         impossible
failed   missing      impossible
failed   not-article  skipped  keep   none               -
failed   disallowed   keep     keep   runs-left-or-slow  -
failed   blocked      keep     keep   keep               -
failed   failed       failed   add    runs-left-or-slow  -
failed   unreachable  keep     keep   keep               -
failed   postponed    keep     keep   keep               -
failed   interrupted  keep     keep   keep               -
skipped  written      done     reset  schedule           new
skipped  updated      impossible
skipped  restored     impossible
skipped  reextracted  done     reset  keep               reextracted
skipped  unchanged    impossible
skipped  printed      keep     keep   keep               -
skipped  gone         impossible
skipped  missing      impossible
skipped  not-article  skipped  keep   none               -
skipped  disallowed   keep     keep   keep               -
skipped  blocked      keep     keep   keep               -
skipped  failed       failed   add    runs-left-or-slow  -
skipped  unreachable  keep     keep   keep               -
skipped  postponed    keep     keep   keep               -
skipped  interrupted  keep     keep   keep               -
gone     written      impossible
gone     updated      impossible
gone     restored     done     reset  schedule           restored
gone     reextracted  gone     reset  keep               reextracted
gone     unchanged    impossible
gone     printed      keep     keep   keep               -
gone     gone         gone     keep   gone-schedule      -
gone     missing      impossible
gone     not-article  gone     keep   gone-schedule      -
gone     disallowed   gone     keep   gone-schedule      -
gone     blocked      gone     keep   retry              -
gone     failed       gone     keep   retry              -
gone     unreachable  gone     keep   keep               -
gone     postponed    impossible
gone     interrupted  keep     keep   keep               -
`;

const OUTCOME_ROWS = `
written      false 0   200 written      written
updated      false 0   200 updated      updated
restored     false 0   200 restored     restored
reextracted  false 0   200 reextracted  reextracted
unchanged    false 0   200 unchanged    unchanged
printed      false 0   200 printed      printed
gone         false 0   200 gone         gone
missing      false 0   200 missing      answering 404 (not yet gone)
not-article  false 5   422 not_article  not articles
disallowed   false 0   403 disallowed   disallowed by robots.txt
blocked      true  8   502 blocked      blocked (not the site's page)
failed       true  3   502 failed       failed
unreachable  true  3   504 unreachable  not reached (site unreachable)
postponed    true  7   503 postponed    left for later (drift suspected)
interrupted  false 130 503 interrupted  interrupted
`;

describe('the outcome table and the state machine', () => {
  it('(state, outcome) → (state, attempts, next check, manifest event), for every pair', () => {
    const rows: string[] = [];
    for (const s of ARTICLE_STATES) {
      for (const k of OUTCOME_KINDS) {
        const t = STATE_MACHINE[s][k];
        rows.push(`${s.padEnd(8)} ${k.padEnd(12)} ${t ? `${t.state.padEnd(8)} ${t.attempts.padEnd(6)} ${t.next.padEnd(18)} ${t.event ?? '-'}` : 'impossible'}`);
      }
    }
    expect(`\n${rows.join('\n')}\n`).toBe(MACHINE);
  });

  it('each outcome: failure, exit code, POST /fetch status, metric label, summary word', () => {
    const rows = OUTCOME_KINDS.map((k) => {
      const o = OUTCOMES[k];
      return `${k.padEnd(12)} ${String(o.failure).padEnd(5)} ${String(o.exit).padEnd(3)} ${o.fetchStatus} ${o.metric.padEnd(12)} ${o.word}`;
    });
    expect(`\n${rows.join('\n')}\n`).toBe(OUTCOME_ROWS);
    // Every outcome has a count in a run's summary, or says why it has none.
    for (const k of OUTCOME_KINDS) expect(k in COUNTED_AS, k).toBe(true);
    expect(OUTCOME_KINDS.filter((k) => COUNTED_AS[k] === null)).toEqual(['printed', 'interrupted']);
    // Metric labels are Prometheus label values, one per outcome.
    expect(new Set(OUTCOME_KINDS.map((k) => OUTCOMES[k].metric)).size).toBe(OUTCOME_KINDS.length);
  });

  it('a manifest event replayed after a crash leaves the state the machine gives', () => {
    for (const s of ARTICLE_STATES) {
      for (const k of OUTCOME_KINDS) {
        const t = STATE_MACHINE[s][k];
        if (t?.event) expect(stateAfterEvent(s, t.event), `${s} ${k}`).toBe(t.state);
      }
    }
  });

  it('an impossible pair is a bug, said so', () => {
    expect(() => transition('pending', 'updated')).toThrow(/an article in state pending cannot end updated: a newsnap bug/);
  });

  it('the exit code of a command over its items', () => {
    expect(exitCodeOf([])).toBe(ExitCode.OK);
    expect(exitCodeOf(['written', 'unchanged', 'gone'])).toBe(ExitCode.OK);
    expect(exitCodeOf(['not-article'])).toBe(ExitCode.NOT_ARTICLE);
    expect(exitCodeOf(['written', 'not-article'])).toBe(ExitCode.OK);
    expect(exitCodeOf(['blocked'])).toBe(ExitCode.BLOCKED);
    expect(exitCodeOf(['written', 'blocked'])).toBe(ExitCode.PARTIAL);
    expect(exitCodeOf(['failed', 'failed'])).toBe(ExitCode.FAILED);
    expect(exitCodeOf(['failed', 'blocked'])).toBe(ExitCode.FAILED);
    expect(exitCodeOf(['unreachable'])).toBe(ExitCode.FAILED);
    expect(exitCodeOf(['written', 'interrupted'])).toBe(ExitCode.INTERRUPTED);
  });

  it('the outcome table of docs/operations.md says what the code says', () => {
    const readme = readFileSync(join(PROJECT, 'docs', 'operations.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `([a-z-]+)` \| (yes|no) \| (\d+) \| (\d+) \| `([a-z_]+)` \| (.+) \|$/gm)].map((m) => m.slice(1).join(' | '));
    expect(rows).toEqual(OUTCOME_KINDS.map((k) => [k, OUTCOMES[k].failure ? 'yes' : 'no', OUTCOMES[k].exit, OUTCOMES[k].fetchStatus, OUTCOMES[k].metric, OUTCOMES[k].means].join(' | ')));
  });
});
