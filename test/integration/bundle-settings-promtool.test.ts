/**
 * `stackwatch bundle --config bundle.yml` writes rule tests that pass for the settings it accepts:
 * bundle.yml files drawn (fast-check, fixed seed) across the windows, counts, thresholds and for:
 * durations the generated cases derive from (short windows down to 1m included), generated with
 * the built CLI, then `promtool test rules` on every generated case the drawn settings change:
 * its own text, or a rule it can see (changed-rule-tests.ts). A case identical to the
 * committed bundle's, seeing identical rules, is rules-promtool.test.ts's run over again.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { runCli } from '../harness/cli';
import { changedRuleTests } from '../harness/changed-rule-tests';
import { promtool } from '../harness/promtool';

const SEED = 20261126;
const CONFIGS = 4;

/** A duration in seconds, as bundle.yml takes it (`90s`). */
const secs = (lo: number, hi: number): fc.Arbitrary<string> => fc.integer({ min: lo, max: hi }).map((s) => `${s}s`);
const mins = (lo: number, hi: number): fc.Arbitrary<string> => fc.integer({ min: lo, max: hi }).map((m) => `${m}m`);

const settings = fc.record({
  restarts: fc.record({ window: secs(60, 7200), count: fc.integer({ min: 1, max: 6 }) }),
  flapping: fc.record({ window: secs(60, 7200), outages: fc.integer({ min: 1, max: 6 }) }),
  mqtt: fc.record({
    roundtrip_failure_window: secs(60, 900),
    roundtrip_failures: fc.integer({ min: 1, max: 8 }),
    auth_failure_window: secs(60, 900),
    roundtrip_recovery_window: secs(60, 300),
  }),
  leak: fc.record({
    slope_window: mins(30, 120),
    // The restart case's warm-up (an hour, then the 30m floor) must have left the slope's window when the guard ends.
    quiet_extra: fc.integer({ min: 90, max: 240 }),
    min_bytes_per_hour: fc.integer({ min: 256 * 1024, max: 8 * 1024 * 1024 }),
    min_ratio_per_hour: fc.double({ min: 0.005, max: 0.04, noNaN: true }).map((x) => Math.round(x * 1000) / 1000),
  }),
  for: fc.record({
    StackwatchContainerCrashLooping: mins(0, 10),
    StackwatchProcessRestarting: mins(0, 10),
    StackwatchTargetFlapping: mins(0, 15),
    StackwatchMqttRoundtripFailing: mins(0, 5),
    StackwatchContainerMemoryLeakSuspected: mins(0, 60),
    StackwatchProcessMemoryLeakSuspected: mins(0, 60),
    StackwatchContainerMemoryExhaustion: mins(0, 60),
  }),
  slo_objective: fc.constantFrom(0.99, 0.995, 0.999, 0.9995),
});

type Drawn = typeof settings extends fc.Arbitrary<infer T> ? T : never;

/** The drawn settings as bundle.yml data. */
function bundleYaml(d: Drawn, withSlo: boolean): Record<string, unknown> {
  const { quiet_extra: quietExtra, ...leak } = d.leak;
  return {
    restarts: d.restarts,
    flapping: d.flapping,
    mqtt: d.mqtt,
    leak: { ...leak, quiet_window: `${Number(leak.slope_window.replace('m', '')) + quietExtra}m` },
    for: d.for,
    ...(withSlo ? { slo: { objective: d.slo_objective } } : {}),
  };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const drawn = fc.sample(settings, { seed: SEED, numRuns: CONFIGS });

describe(`generated rule tests pass for drawn bundle.yml settings (seed ${SEED})`, () => {
  test.concurrent.each(drawn.map((d, i) => [i, d] as const))('config %i', async (i, d) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-settings-'));
    dirs.push(dir);
    const yml = stringify(bundleYaml(d, i === 0));
    writeFileSync(path.join(dir, 'bundle.yml'), yml);
    const out = path.join(dir, 'out');
    const gen = runCli(['bundle', '--config', path.join(dir, 'bundle.yml'), '--out', out]);
    const context = `seed ${SEED}, config ${i}:\n${yml}`;
    if (gen.status !== 0) throw new Error(`stackwatch bundle failed (${context})\n${gen.stderr}`);
    const prom = path.join(out, 'prometheus');
    const runs = changedRuleTests(prom);
    // The drawn settings reach the alerts the cases are derived from: every config changes some.
    expect(runs.length).toBeGreaterThan(0);
    const failures: string[] = [];
    await Promise.all(runs.map(async (f) => {
      const r = await promtool(['test', 'rules', f], prom);
      if (r.code !== 0) failures.push(`${f}:\n${r.out.split('\n').filter((l) => !/^\s*SUCCESS/.test(l)).join('\n')}`);
    }));
    if (failures.length > 0) throw new Error(`promtool test rules failed (${context})\n${failures.join('\n')}`);
  }, 900_000);
});
