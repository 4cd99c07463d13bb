/**
 * The committed Prometheus files through Debian's promtool 2.42: `check rules`, `check config`,
 * and `test rules` over prometheus/tests/*.yml (for every alert: firing with exact labels and
 * annotations, silent one evaluation before `for:`, silent on healthy series; the leak guards;
 * the recording rules). And proof that the leak-guard cases can fail: with the restart guard
 * removed from the alert, the restart case does fail.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { onlyTests, promtool as run, PROMETHEUS_DIR as promDir, withEditedCopy } from '../harness/promtool';

const ruleFiles = ['rules', 'alerts'].flatMap((d) => readdirSync(path.join(promDir, d)).filter((f) => f.endsWith('.yml')).map((f) => `${d}/${f}`));
const testFiles = readdirSync(path.join(promDir, 'tests')).filter((f) => f.endsWith('.yml')).map((f) => `tests/${f}`);

// promtool runs two at a time (test/harness/promtool.ts); the tests queue there, hence the long bounds.
describe('promtool', () => {
  test.concurrent('check rules: every rule and alert file is valid', async () => {
    expect(ruleFiles.length).toBeGreaterThanOrEqual(2);
    const r = await run(['check', 'rules', ...ruleFiles]);
    if (r.code !== 0) throw new Error(r.out);
    expect(r.out).not.toMatch(/FAILED/);
  }, 900_000);

  test.concurrent('check config: prometheus.yml is valid and finds the rule files', async () => {
    const r = await run(['check', 'config', 'prometheus.yml']);
    if (r.code !== 0) throw new Error(r.out);
    expect(r.out).toContain(`${ruleFiles.length} rule files found`);
  }, 900_000);

  test.concurrent.each(testFiles)('test rules %s', async (file) => {
    const r = await run(['test', 'rules', file]);
    if (r.code !== 0) throw new Error(r.out);
    expect(r.out).toContain('SUCCESS');
  }, 900_000);

  // Each guard's case runs alone (onlyTests), against the committed rule files with the guard cut.
  test.concurrent.each([
    ['exporter', / unless on\(job, instance, collector\) label_replace\(stackwatch_docker_up\{job="stackwatch"\} == 0, "collector", "docker", "", ""\)/, 'StackwatchCollectorFailing: the docker collector failing while the engine is unreachable'],
    ['mqtt', / and on\(job, instance, broker\) stackwatch_mqtt_connected\{job="stackwatch"\} == 0/, 'StackwatchMqttAuthFailing: one refused attempt, then connected again'],
    ['docker', / unless on\(job, instance\) stackwatch_docker_up\{job="stackwatch"\} == 0/, 'StackwatchDockerEventsStreamDown: with the API down it is StackwatchDockerApiDown'],
    ['docker', / and on\(job, instance, container\) stackwatch_container_state\{job="stackwatch"\}/, 'StackwatchContainerCrashLooping: a removed container pages nobody'],
    ['docker', / and on\(job, instance\) \(time\(\) - process_start_time_seconds\{job="stackwatch"\} > 3600\)/, 'StackwatchContainerCrashLooping: a container found with its history'],
    ['mqtt', / unless on\(job, instance, broker\) \(increase\(stackwatch_mqtt_roundtrip_seconds_count\{job="stackwatch"\}\[1m\]\) > 0\)/, 'StackwatchMqttRoundtripFailing: it ends with the first probe that comes back'],
  ] as const)('alerts/%s.yml: its guard case fails when the guard is removed (the guard cases have teeth)', async (group, guard, failingCase) => {
    const r = await withEditedCopy(`alerts/${group}.yml`, (text) => text.replace(guard, ''), (dir) =>
      run(['test', 'rules', onlyTests(dir, `tests/${group}.yml`, failingCase)], dir));
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(failingCase);
  }, 900_000);

  test.concurrent('the restart case fails when the restart guards are removed (the guard cases have teeth)', async () => {
    const failingCase = 'StackwatchProcessMemoryLeakSuspected: restart mid-window';
    const r = await withEditedCopy('alerts/processes.yml', (text) => {
      // Drop the three guards of the leak alert: restarts, start-time changes, warm-up.
      const unguarded = text.replace(/ unless on\(job, instance, group\) \((increase\(stackwatch_process_restarts_total\{job="stackwatch"\}\[3h\]\) > 0|changes\(stackwatch_process_oldest_start_time_seconds\{job="stackwatch"\}\[3h\]\) > 0|time\(\) - stackwatch_process_oldest_start_time_seconds\{job="stackwatch"\} < 10800)\)/g, '');
      expect(text.length - unguarded.length).toBeGreaterThan(150);
      return unguarded;
    }, (dir) => run(['test', 'rules', onlyTests(dir, 'tests/processes.yml', failingCase)], dir));
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(failingCase);
  }, 900_000);
});
