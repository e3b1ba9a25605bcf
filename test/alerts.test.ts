import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT } from './helpers/paths.js';
import { startServe } from './helpers/serve.js';
import { tempDir } from './helpers/storage.js';

const dir = join(PROJECT, 'deploy', 'prometheus');
const rules = parse(readFileSync(join(dir, 'newsnap-alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string; annotations: { summary: string; description: string } }> }> };
const tests = parse(readFileSync(join(dir, 'newsnap-alerts.test.yml'), 'utf8')) as { tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> };
const alerts = rules.groups.flatMap((g) => g.rules);

describe('deploy/prometheus/newsnap-alerts.yml', () => {
  it('promtool checks the rules and runs their unit tests', () => {
    const check = spawnSync('promtool', ['check', 'rules', 'newsnap-alerts.yml'], { cwd: dir, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
    const run = spawnSync('promtool', ['test', 'rules', 'newsnap-alerts.test.yml'], { cwd: dir, encoding: 'utf8' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('SUCCESS');
  });

  it('alerts on drift, blocking, no success for twice the schedule, an unreachable site, articles given up on, a storage that cannot be written and writes that fail; each tested firing and not firing', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual(['NewsnapArticlesNeedAttention', 'NewsnapBlocked', 'NewsnapExtractionDrift', 'NewsnapNoSuccessfulCrawl', 'NewsnapSiteUnreachable', 'NewsnapStorageNotWritable', 'NewsnapStorageWritesFailing']);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const { alert } of alerts) {
      expect(cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0), `${alert} firing`).toBe(true);
      expect(cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0), `${alert} not firing`).toBe(true);
    }
  });

  it('every metric the rules read is one serve exposes', async () => {
    const served = await startServe(['--origin', 'http://127.0.0.1:1', '--storage', await tempDir(), '--schedule', '0 0 1 1 *']);
    try {
      const text = await (await fetch(`${served.api}/metrics`)).text();
      const exposed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
      const read = new Set(alerts.flatMap((a) => [...a.expr.matchAll(/\bnewsnap_[a-z_]+/g)].map((m) => m[0])));
      expect([...read].filter((m) => !exposed.has(m))).toEqual([]);
      // The promtool lint of /metrics itself is the serve test's.
      expect(execFileSync('promtool', ['check', 'metrics'], { input: text }).toString()).toBe('');
    } finally {
      served.child.kill('SIGTERM');
      await served.done;
    }
  });
});
