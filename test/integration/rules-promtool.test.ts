/**
 * The committed Prometheus files through Debian's promtool 2.42: `check rules`, `check config`,
 * and `test rules` over prometheus/tests/*.yml (for every alert: firing with exact labels and
 * annotations, silent one evaluation before `for:`, silent on healthy series; the leak guards;
 * the recording rules). And proof that the leak-guard cases can fail: with the restart guard
 * removed from the alert, the restart case does fail.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROMETHEUS_INSTALL_HINT } from '../harness/prometheus';
import { requireBinary } from '../harness/require-binary';

const promDir = path.join(__dirname, '..', '..', 'prometheus');
const promtool = requireBinary('promtool', PROMETHEUS_INSTALL_HINT);

function run(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(promtool, args, { cwd, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

const ruleFiles = ['rules', 'alerts'].flatMap((d) => readdirSync(path.join(promDir, d)).filter((f) => f.endsWith('.yml')).map((f) => `${d}/${f}`));
const testFiles = readdirSync(path.join(promDir, 'tests')).filter((f) => f.endsWith('.yml')).map((f) => `tests/${f}`);

describe('promtool', () => {
  test('check rules: every rule and alert file is valid', async () => {
    expect(ruleFiles.length).toBeGreaterThanOrEqual(2);
    const r = await run(['check', 'rules', ...ruleFiles], promDir);
    if (r.code !== 0) throw new Error(r.out);
    expect(r.out).not.toMatch(/FAILED/);
  }, 60_000);

  test('check config: prometheus.yml is valid and finds the rule files', async () => {
    const r = await run(['check', 'config', 'prometheus.yml'], promDir);
    if (r.code !== 0) throw new Error(r.out);
    expect(r.out).toContain(`${ruleFiles.length} rule files found`);
  }, 60_000);

  test.each(testFiles)('test rules %s', async (file) => {
    const r = await run(['test', 'rules', file], promDir);
    if (r.code !== 0) throw new Error(r.out);
    expect(r.out).toContain('SUCCESS');
  }, 180_000);

  test.each([
    ['exporter', / unless on\(job, instance, collector\) label_replace\(stackwatch_docker_up\{job="stackwatch"\} == 0, "collector", "docker", "", ""\)/, 'StackwatchCollectorFailing: the docker collector failing while the engine is unreachable'],
    ['mqtt', / and on\(job, instance, broker\) stackwatch_mqtt_connected\{job="stackwatch"\} == 0/, 'StackwatchMqttAuthFailing: one refused attempt, then connected again'],
    ['docker', / unless on\(job, instance\) stackwatch_docker_up\{job="stackwatch"\} == 0/, 'StackwatchDockerEventsStreamDown: with the API down it is StackwatchDockerApiDown'],
    ['docker', / and on\(job, instance, container\) stackwatch_container_state\{job="stackwatch"\}/, 'StackwatchContainerCrashLooping: a removed container pages nobody'],
    ['docker', / and on\(job, instance\) \(time\(\) - process_start_time_seconds\{job="stackwatch"\} > 3600\)/, 'StackwatchContainerCrashLooping: a container found with its history'],
    ['mqtt', / unless on\(job, instance, broker\) \(increase\(stackwatch_mqtt_roundtrip_seconds_count\{job="stackwatch"\}\[1m\]\) > 0\)/, 'StackwatchMqttRoundtripFailing: it ends with the first probe that comes back'],
  ] as const)('alerts/%s.yml: its guard case fails when the guard is removed (the guard cases have teeth)', async (group, guard, failingCase) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-promtool-'));
    try {
      cpSync(promDir, dir, { recursive: true });
      const file = path.join(dir, 'alerts', `${group}.yml`);
      const text = readFileSync(file, 'utf8');
      const unguarded = text.replace(guard, '');
      expect(unguarded).not.toBe(text);
      writeFileSync(file, unguarded);
      const r = await run(['test', 'rules', `tests/${group}.yml`], dir);
      expect(r.code).not.toBe(0);
      expect(r.out).toContain(failingCase);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  test('the restart case fails when the restart guards are removed (the guard cases have teeth)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-promtool-'));
    try {
      cpSync(promDir, dir, { recursive: true });
      const file = path.join(dir, 'alerts', 'processes.yml');
      const text = readFileSync(file, 'utf8');
      // Drop the three guards of the leak alert: restarts, start-time changes, warm-up.
      const unguarded = text.replace(/ unless on\(job, instance, group\) \((increase\(stackwatch_process_restarts_total\{job="stackwatch"\}\[3h\]\) > 0|changes\(stackwatch_process_oldest_start_time_seconds\{job="stackwatch"\}\[3h\]\) > 0|time\(\) - stackwatch_process_oldest_start_time_seconds\{job="stackwatch"\} < 10800)\)/g, '');
      expect(text.length - unguarded.length).toBeGreaterThan(150);
      expect(unguarded).not.toBe(text);
      writeFileSync(file, unguarded);
      const r = await run(['test', 'rules', 'tests/processes.yml'], dir);
      expect(r.code).not.toBe(0);
      expect(r.out).toContain('StackwatchProcessMemoryLeakSuspected: restart mid-window');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
