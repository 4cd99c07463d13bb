/**
 * The traffic rules' guard cases have teeth: with a guard removed from the committed alert
 * file, promtool's test of that guard fails. (The committed tests themselves run in
 * rules-promtool.test.ts with every other prometheus/tests/*.yml.)
 */
import { onlyTests, promtool as run, withEditedCopy } from '../harness/promtool';

describe('traffic alerts (promtool)', () => {
  test.concurrent('the committed cases pass', async () => {
    const r = await run(['test', 'rules', 'tests/traffic.yml']);
    if (r.code !== 0) throw new Error(r.out);
    expect(r.out).toContain('SUCCESS');
  }, 600_000);

  // Each guard's case runs alone (onlyTests), against the committed rule files with the guard cut.
  test.concurrent.each([
    [/ unless on\(job, instance, source\) \(sum by \(job, instance, source\) \(increase\(stackwatch_log_requests_total\{code=~"502\|504", job="stackwatch"\}\[2m\]\)\) >= 10\)/, 'a 502 burst is StackwatchTrafficBadGateway, the cause: no second page'],
    [/ and on\(job, instance, source, route\) sum by \(job, instance, source, route\) \(increase\(stackwatch_log_requests_total\{job="stackwatch"\}\[1h\]\)\) >= 60/, 'too few requests: 0.25 a minute, half of them failing, is noise'],
    [/ unless on\(job, instance, target\) max_over_time\(ALERTS\{alertstate="firing", notify="page", role="cause", job="stackwatch"\}\[4m\]\)/, 'the backend came back: the 502s counted just before do not page after its cause resolved'],
    // The link to the upstream, cut: its label_replace never matches.
    [/"upstream", "\(\.\+\)"/, 'a source whose proxy fronts backend: the target is backend', '"upstream", "(never)"'],
  ])('a guard removed makes its case fail (%#)', async (guard: RegExp, failingCase: string, replacement = '') => {
    // Every occurrence: the expressions repeat their body for sources with and without an upstream.
    const r = await withEditedCopy('alerts/traffic.yml', (text) => text.replace(new RegExp(guard.source, 'g'), replacement), (dir) =>
      run(['test', 'rules', onlyTests(dir, 'tests/traffic.yml', failingCase)], dir));
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(failingCase);
  }, 600_000);
});
