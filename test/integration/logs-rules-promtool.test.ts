/**
 * The traffic rules' guard cases have teeth: with a guard removed from the committed alert
 * file, promtool's test of that guard fails. (The committed tests themselves run in
 * rules-promtool.test.ts with every other prometheus/tests/*.yml.)
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROMETHEUS_INSTALL_HINT } from '../harness/prometheus';
import { requireBinary } from '../harness/require-binary';

const promDir = path.join(__dirname, '..', '..', 'prometheus');
const promtool = requireBinary('promtool', PROMETHEUS_INSTALL_HINT);

function run(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(promtool, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : 1, out: `${stdout}${stderr}` });
    });
  });
}

describe('traffic alerts (promtool)', () => {
  test('the committed cases pass', async () => {
    const r = await run(['test', 'rules', 'tests/traffic.yml'], promDir);
    if (r.code !== 0) throw new Error(r.out);
    expect(r.out).toContain('SUCCESS');
  }, 60_000);

  test.each([
    [/ unless on\(job, instance, source\) \(sum by \(job, instance, source\) \(increase\(stackwatch_log_requests_total\{code=~"502\|504", job="stackwatch"\}\[2m\]\)\) >= 10\)/, 'a 502 burst is StackwatchTrafficBadGateway, the cause: no second page'],
    [/ and on\(job, instance, source, route\) sum by \(job, instance, source, route\) \(increase\(stackwatch_log_requests_total\{job="stackwatch"\}\[1h\]\)\) >= 60/, 'too few requests: 1 of 2 a minute failing is noise'],
    [/ unless on\(job, instance, target\) max_over_time\(ALERTS\{alertstate="firing", notify="page", role="cause", job="stackwatch"\}\[2m\]\)/, 'the backend came back: the 502s counted just before do not page after its cause resolved'],
    // The link to the upstream, cut: its label_replace never matches.
    [/"upstream", "\(\.\+\)"/, 'a source whose proxy fronts backend: the target is backend', '"upstream", "(never)"'],
  ])('a guard removed makes its case fail (%#)', async (guard: RegExp, failingCase: string, replacement = '') => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-traffic-'));
    try {
      cpSync(promDir, dir, { recursive: true });
      const file = path.join(dir, 'alerts', 'traffic.yml');
      const text = readFileSync(file, 'utf8');
      // Every occurrence: the expressions repeat their body for sources with and without an upstream.
      const unguarded = text.replace(new RegExp(guard.source, 'g'), replacement);
      expect(unguarded).not.toBe(text);
      writeFileSync(file, unguarded);
      const r = await run(['test', 'rules', 'tests/traffic.yml'], dir);
      expect(r.code).not.toBe(0);
      expect(r.out).toContain(failingCase);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
