/**
 * bundle.yml, the user's bundle settings: snake_case keys mirroring the bundle config, every key
 * optional and deep-merged over the defaults, unknown keys and wrong types reported with their
 * path, durations checked. The example in examples/bundle.yml (shown in docs/bundle.md) stays valid.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { bundleConfig, durationSeconds, exporterMatchers } from '../../src/bundle/bundle-config';
import { bundleConfigAsYaml, deepMerge, loadBundleYaml, parseBundleYaml } from '../../src/bundle/bundle-yaml';
import { ConfigErrors } from '../../src/config/errors';
import { trafficAlertGroups } from '../../src/bundle/logs-rules';
import { latencyBuckets } from '../../src/bundle/logs-rules-tests';

const root = path.join(__dirname, '..', '..');

/** The error lines of a config that must fail. */
function errorsOf(text: string): string[] {
  try {
    parseBundleYaml(text, 'bundle.yml');
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => e.message);
    throw err;
  }
  throw new Error('expected the bundle config to be rejected');
}

describe('bundle.yml loader', () => {
  test('an empty file, or an empty mapping, gives the defaults', () => {
    expect(parseBundleYaml('', 'bundle.yml')).toEqual(bundleConfig);
    expect(parseBundleYaml('{}\n', 'bundle.yml')).toEqual(bundleConfig);
    expect(parseBundleYaml('# only comments\n', 'bundle.yml')).toEqual(bundleConfig);
  });

  test('durations as Prometheus writes them, with several units, load and keep their length', () => {
    const cfg = parseBundleYaml('restarts: { window: 1h30m }\nfor: { StackwatchTargetDown: 1m30s }\nalertmanager: { ticket: { repeat_interval: 1d12h } }\n', 'bundle.yml');
    expect(cfg.restarts.window).toBe('1h30m');
    expect(durationSeconds(cfg.restarts.window)).toBe(5400);
    expect(durationSeconds(cfg.for.StackwatchTargetDown)).toBe(90);
    expect(durationSeconds(cfg.alertmanager.ticket.repeatInterval)).toBe(129600);
  });

  test('every setting of the bundle config has its snake_case key: the defaults written out load back unchanged', () => {
    const full = bundleConfigAsYaml(bundleConfig);
    expect(full).toHaveProperty('slo.objective', bundleConfig.slo.objective);
    expect(full).toHaveProperty('alertmanager.page.group_wait', bundleConfig.alertmanager.page.groupWait);
    // Alert names under for: keep their spelling.
    expect(full).toHaveProperty(['for', 'StackwatchTargetDown'], bundleConfig.for.StackwatchTargetDown);
    expect(parseBundleYaml(stringify(full), 'bundle.yml')).toEqual(bundleConfig);
  });

  test('what is given is deep-merged over the defaults: siblings keep their defaults, lists replace', () => {
    const cfg = parseBundleYaml(`
exporter: { job: myjob }
slo:
  objective: 0.995
  fast: [{ long: 1h, short: 5m, factor: 10 }]
alertmanager:
  page: { group_wait: 5s }
for:
  StackwatchTargetDown: 3m
`, 'bundle.yml');
    expect(cfg.exporter).toEqual({ ...bundleConfig.exporter, job: 'myjob' });
    expect(exporterMatchers(cfg)).toEqual([{ label: 'job', op: '=', value: 'myjob' }]);
    expect(cfg.slo).toEqual({ objective: 0.995, fast: [{ long: '1h', short: '5m', factor: 10 }], slow: bundleConfig.slo.slow });
    expect(cfg.alertmanager.page).toEqual({ ...bundleConfig.alertmanager.page, groupWait: '5s' });
    expect(cfg.alertmanager.ticket).toEqual(bundleConfig.alertmanager.ticket);
    expect(cfg.for).toEqual({ ...bundleConfig.for, StackwatchTargetDown: '3m' });
    // The defaults themselves are untouched.
    expect(bundleConfig.exporter.job).toBe('stackwatch');
    expect(bundleConfig.for.StackwatchTargetDown).toBe('1m');
  });

  test('deepMerge: mappings merge, values and lists replace, undefined keeps', () => {
    expect(deepMerge({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { c: [3] }, d: undefined })).toEqual({ a: { b: 1, c: [3] }, d: 'x' });
  });

  test('runbook_url: the exporter\'s own /runbook by default, at external_url if given, or as set', () => {
    expect(parseBundleYaml('', 'b.yml').runbookBaseUrl).toBe('http://127.0.0.1:9967/runbook');
    expect(parseBundleYaml('exporter: { external_url: "https://watch.example.org/" }', 'b.yml').runbookBaseUrl).toBe('https://watch.example.org/runbook');
    expect(parseBundleYaml('runbook_url: https://wiki.example.org/rb\nexporter: { external_url: "https://w.example.org" }', 'b.yml').runbookBaseUrl).toBe('https://wiki.example.org/rb');
  });

  test('unknown keys are errors naming their path, at any depth, all reported at once', () => {
    expect(errorsOf('exporter: { jobb: x }\nslo: { objective: 0.99, windows: [] }\nalertmanager: { page: { wait: 1s } }\nsomething: 1\n').sort()).toEqual([
      'bundle.yml: alertmanager.page.wait: unknown key',
      'bundle.yml: exporter.jobb: unknown key',
      'bundle.yml: slo.windows: unknown key',
      'bundle.yml: something: unknown key',
    ]);
    expect(errorsOf('for: { StackwatchTargetDwn: 1m }')).toEqual(['bundle.yml: for.StackwatchTargetDwn: unknown key']);
    expect(errorsOf('slo: { fast: [{ long: 1h, short: 5m, factor: 2, extra: 1 }] }')).toEqual(['bundle.yml: slo.fast[0].extra: unknown key']);
  });

  test.each([
    ['for: { StackwatchTargetDown: 5 minutes }', 'for.StackwatchTargetDown: expected a Prometheus duration like 30s, 5m or 1h30m, got "5 minutes"'],
    ['for: { StackwatchTargetDown: 60 }', 'for.StackwatchTargetDown: expected a Prometheus duration like 30s, 5m or 1h30m, got number 60'],
    ['oom_window: 15', 'oom_window: expected a Prometheus duration like 30s, 5m or 1h30m, got number 15'],
    ['flapping: { window: 2hours }', 'flapping.window: expected a Prometheus duration like 30s, 5m or 1h30m, got "2hours"'],
    ['alertmanager: { ticket: { repeat_interval: "" } }', 'alertmanager.ticket.repeat_interval: expected a Prometheus duration like 30s, 5m or 1h30m, got ""'],
    ['restarts: { window: 30m1h }', 'restarts.window: expected a Prometheus duration like 30s, 5m or 1h30m, got "30m1h"'],
    ['restarts: { window: 1.5h }', 'restarts.window: expected a Prometheus duration like 30s, 5m or 1h30m, got "1.5h"'],
    ['restarts: { window: 1h1h }', 'restarts.window: expected a Prometheus duration like 30s, 5m or 1h30m, got "1h1h"'],
  ])('a bad duration is named with its path: %s', (yaml, msg) => {
    expect(errorsOf(yaml)).toEqual([`bundle.yml: ${msg}`]);
  });

  test.each([
    ['exporter: { job: 3 }', 'exporter.job: expected text, got number 3'],
    ['exporter: [a, b]', 'exporter: expected object, got a list'],
    ['slo: { objective: "99.5%" }', 'slo.objective: expected a number, got "99.5%"'],
    ['slo: { objective: 99.5 }', 'slo.objective: expected a number between 0 and 1'],
    ['flapping: { outages: 2.5 }', 'flapping.outages: expected a whole number, got number 2.5'],
    ['target_down_kinds: [http, bogus]', 'target_down_kinds[1]: expected one of "http", "mqtt", "container", "process", got "bogus"'],
    ['slo: { fast: [{ long: 2h, short: 5m, factor: 3 }] }', 'slo.fast[0].long: expected one of "1h", "6h", "1d", "3d", got "2h"'],
    ['runbook_url: not a url', 'runbook_url: expected an http(s) URL'],
  ])('a wrong type or value is named with its path: %s', (yaml, msg) => {
    expect(errorsOf(yaml)).toEqual([`bundle.yml: ${msg}`]);
  });

  test('the selector: only job and instance, valid matchers, and it must select the exporter itself', () => {
    expect(errorsOf('exporter: { selector: \'env="prod"\' }')).toEqual(['bundle.yml: exporter.selector: may only match on job and instance (the labels every rule keeps), got env']);
    expect(errorsOf('exporter: { selector: \'job=\' }')).toEqual(['bundle.yml: exporter.selector: expected label matchers such as job="stackwatch" or job=~"stackwatch|stackwatch-eu"']);
    expect(errorsOf('exporter: { job: a, selector: \'job="b"\' }')[0]).toMatch(/exporter\.selector: must select the exporter's own series \(job "a"/);
    const cfg = parseBundleYaml('exporter: { job: sw-eu, address: "eu:9967", selector: \'job=~"sw-.+", instance!="x"\' }', 'b.yml');
    expect(exporterMatchers(cfg)).toEqual([{ label: 'job', op: '=~', value: 'sw-.+' }, { label: 'instance', op: '!=', value: 'x' }]);
  });

  test('cross-field checks', () => {
    expect(errorsOf('tls_cert: { critical_days: 20 }')).toEqual(['bundle.yml: tls_cert.critical_days: must be below tls_cert.warning_days (14)']);
    expect(errorsOf('pending_requests: { floor: 200 }')).toEqual(['bundle.yml: pending_requests.floor: must be below pending_requests.ceiling (100)']);
    expect(errorsOf('symptom_hold_down: 30s')).toEqual(['bundle.yml: symptom_hold_down: must be at least 2m and twice prometheus.evaluation_interval (15s): a cause page\'s samples, one per rule evaluation, must fall inside it']);
    expect(errorsOf('prometheus: { evaluation_interval: 2m }')[0]).toMatch(/^bundle\.yml: symptom_hold_down: must be at least 2m and twice prometheus\.evaluation_interval \(2m\)/);
    expect(parseBundleYaml('symptom_hold_down: 3m\nprometheus: { evaluation_interval: 1m30s }', 'b.yml').symptomHoldDown).toBe('3m');
  });

  test('traffic: the real-traffic alerts\' thresholds and for:, merged over the defaults and checked', () => {
    const cfg = parseBundleYaml('traffic: { bad_gateway: { count: 25 }, latency: { seconds: 0.75 } }\nfor: { StackwatchTrafficBadGateway: 3m }\n', 'b.yml');
    expect(cfg.traffic).toEqual({ ...bundleConfig.traffic, badGateway: { ...bundleConfig.traffic.badGateway, count: 25 }, latency: { ...bundleConfig.traffic.latency, seconds: 0.75 } });
    expect(cfg.for.StackwatchTrafficBadGateway).toBe('3m');
    expect(cfg.for.StackwatchTrafficFastBurn).toBe(bundleConfig.for.StackwatchTrafficFastBurn);
    const rules = trafficAlertGroups(cfg)[0]!.rules;
    const burst = rules.find((r) => r.alert === 'StackwatchTrafficBadGateway')!;
    expect(burst.for).toBe('3m');
    expect(burst.expr).toContain('[2m])) >= 25');
    expect(rules.find((r) => r.alert === 'StackwatchTrafficLatencyHigh')!.expr).toContain('> 0.75 and');
    // The request-duration histogram's buckets bound the latency threshold; a burst needs two samples a minute apart.
    expect(errorsOf('traffic: { latency: { seconds: 60 } }')).toEqual(['bundle.yml: traffic.latency.seconds: must be at least 0.005 and below 60 (the buckets of stackwatch_log_request_duration_seconds)']);
    expect(errorsOf('traffic: { latency: { seconds: 0.001 } }')[0]).toMatch(/traffic\.latency\.seconds: must be at least 0\.005/);
    expect(errorsOf('traffic: { bad_gateway: { window: 90s } }')).toEqual(['bundle.yml: traffic.bad_gateway.window: must be at least 2m: the rule tests stackwatch bundle writes count the burst from samples a minute apart']);
    expect(errorsOf('traffic: { bad_gateway: { count: 2.5 } }')[0]).toMatch(/traffic\.bad_gateway\.count: expected a whole number/);
    expect(errorsOf('traffic: { latency: { quantile: 0.99 } }')[0]).toMatch(/traffic\.latency\.quantile: unknown key/);
  });

  test.each([0.005, 0.3, 1, 2, 2.6, 29, 45, 59.9])('the latency cases\' buckets put healthy requests below %s s and slow ones above it', (seconds) => {
    const { healthy, slow, bounds } = latencyBuckets(seconds);
    const at = (x: string): number => (x === '+Inf' ? Infinity : Number(x));
    expect(bounds).toEqual(expect.arrayContaining([healthy, slow, '+Inf']));
    // Every request in the bucket ending at `le`: the quantile lies in (previous bound, le], or is the last finite bound past it.
    const quantile = (le: string): [number, number] => {
      const finite = bounds.filter((b) => b !== '+Inf').map(Number);
      if (le === '+Inf') return [finite[finite.length - 1]!, finite[finite.length - 1]!];
      const prev = finite.filter((b) => b < at(le)).pop() ?? 0;
      return [prev, at(le)];
    };
    expect(quantile(healthy)[1]).toBeLessThanOrEqual(seconds);
    const [lo, hi] = quantile(slow);
    expect(lo).toBeGreaterThanOrEqual(seconds);
    expect(lo + 0.95 * (hi - lo)).toBeGreaterThan(seconds);
  });

  test('a window the rules read with increase(), changes() or deriv() holds two one-minute samples: 1m and longer load, shorter is refused by its path', () => {
    const cfg = parseBundleYaml('restarts: { window: 1m }\nflapping: { window: 90s }\nmqtt: { roundtrip_recovery_window: 1m }\n', 'bundle.yml');
    expect(cfg.restarts.window).toBe('1m');
    expect(cfg.flapping.window).toBe('90s');
    const why = 'must be at least 1m: the rule tests stackwatch bundle writes sample every minute, and a window needs two samples to see a change';
    expect(errorsOf('mqtt: { roundtrip_recovery_window: 30s }')).toEqual([`bundle.yml: mqtt.roundtrip_recovery_window: ${why} (got 30s)`]);
    const fields: [string, string][] = [
      ['restarts: { window: 59s }', 'restarts.window'], ['flapping: { window: 30s }', 'flapping.window'], ['oom_window: 15s', 'oom_window'],
      ['mqtt: { roundtrip_failure_window: 45s }', 'mqtt.roundtrip_failure_window'], ['mqtt: { auth_failure_window: 10s }', 'mqtt.auth_failure_window'],
      ['pending_requests: { growth_window: 30s }', 'pending_requests.growth_window'], ['leak: { slope_window: 30s }', 'leak.slope_window'],
      ['leak: { quiet_window: 30s }', 'leak.quiet_window'], ['fds: { window: 30s }', 'fds.window'],
    ];
    for (const [yml, field] of fields) expect(errorsOf(yml)).toEqual([expect.stringContaining(`bundle.yml: ${field}: must be at least 1m`)]);
  });

  test('not YAML, or not a mapping', () => {
    expect(errorsOf('exporter: { job: [ }')[0]).toMatch(/^bundle\.yml: line \d+, column \d+: not valid YAML/);
    expect(errorsOf('- a\n- b\n')).toEqual(['bundle.yml: expected a mapping of settings (exporter:, slo:, for:, ...)']);
    expect(errorsOf('a: 1\na: 2\n')[0]).toMatch(/not valid YAML/);
  });

  test('a missing file is a clear error', () => {
    expect(() => loadBundleYaml('/nonexistent/bundle.yml')).toThrow(/\/nonexistent\/bundle\.yml: cannot read the bundle configuration/);
  });

  test('examples/bundle.yml is valid and changes what it says', () => {
    const cfg = loadBundleYaml(path.join(root, 'examples', 'bundle.yml'));
    expect(cfg.exporter.job).toBe('stackwatch-prod');
    expect(cfg.slo.objective).toBe(0.995);
    expect(cfg.runbookBaseUrl).toBe('https://stackwatch.example.org/runbook');
  });

  test('the bundle.yml shown in docs/bundle.md is examples/bundle.yml', () => {
    const doc = readFileSync(path.join(root, 'docs', 'bundle.md'), 'utf8');
    const block = /```yaml\n# Settings for `stackwatch bundle[\s\S]*?```/.exec(doc);
    expect(block).not.toBeNull();
    expect(block![0].replace(/^```yaml\n/, '').replace(/```$/, '')).toBe(readFileSync(path.join(root, 'examples', 'bundle.yml'), 'utf8'));
  });
});
