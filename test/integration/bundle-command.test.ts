/**
 * `stackwatch bundle`, the built CLI (node dist/main.js bundle), as a user runs it:
 * - without --config it writes exactly the committed bundle (what `npm run bundle` writes);
 * - with a bundle.yml of a non-default job, thresholds, SLO objective and `for:` durations, the
 *   output passes `promtool check rules`, and `promtool test rules` on every generated case the
 *   settings change beyond the job's name (the generated cases follow the settings); every
 *   selector of every rule, alert, dashboard query and dashboard variable carries the configured
 *   exporter selector (read with Prometheus' own grammar, @prometheus-io/lezer-promql), and the
 *   settings reach the alerts and the runbook;
 * - a bad bundle.yml exits 2 naming the key;
 * - the daemon serves the runbook at /runbook, with the thresholds of --bundle.config.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { MAIN, runCli, withStorage } from '../harness/cli';
import { boundPort } from '../harness/built-daemon';
import { ProcessSet } from '../harness/processes';
import { waitFor } from '../harness/wait';
import { expand, type LDashboard, parse, selectors } from '../harness/dashboard-lint';
import { changedRuleTests } from '../harness/changed-rule-tests';
import { promtool as promtoolRun } from '../harness/promtool';

const root = path.join(__dirname, '..', '..');

/** Every file under `dir`, relative to it. */
function walk(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel)).flatMap((f) => {
    const r = rel === '' ? f : `${rel}/${f}`;
    return statSync(path.join(dir, r)).isDirectory() ? walk(dir, r) : [r];
  });
}

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-bundle-'));
  dirs.push(d);
  return d;
};
const procs = new ProcessSet();
afterAll(async () => {
  await procs.killAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('stackwatch bundle without --config', () => {
  test('writes exactly the committed bundle: npm run bundle and the command are one code path', () => {
    const out = tmp();
    const r = runCli(['bundle', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/wrote \d+ files to .* \(default settings\)/);
    const written = walk(out).sort();
    // Every generated file of the repository, and nothing else.
    const committed = [
      ...['prometheus/rules', 'prometheus/alerts', 'prometheus/tests', 'prometheus/alertmanager', 'grafana/dashboards'].flatMap((d) => walk(path.join(root, d)).map((f) => `${d}/${f}`)),
      'prometheus/prometheus.yml', 'runbook.md',
    ].sort();
    expect(written).toEqual(committed);
    for (const f of written) {
      const repo = f === 'runbook.md' ? 'docs/runbook.md' : f;
      expect({ file: f, same: readFileSync(path.join(out, f), 'utf8') === readFileSync(path.join(root, repo), 'utf8') }).toEqual({ file: f, same: true });
    }
  });

  test('--help, and --out is required', () => {
    const help = runCli(['bundle', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: stackwatch bundle [--config bundle.yml] --out DIR');
    const none = runCli(['bundle']);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('--out DIR is required');
    expect(runCli(['--help']).stdout).toContain('bundle             write the Prometheus rules');
  });
});

describe('stackwatch bundle with a bad bundle.yml', () => {
  test('exits 2 and names every bad key with its path', () => {
    const dir = tmp();
    const file = path.join(dir, 'bundle.yml');
    writeFileSync(file, 'exporter: { jobb: x }\nslo: { objective: high }\nfor: { StackwatchTargetDown: 5 minutes }\n');
    const r = runCli(['bundle', '--config', file, '--out', path.join(dir, 'out')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}: exporter.jobb: unknown key`);
    expect(r.stderr).toContain(`${file}: slo.objective: expected a number, got "high"`);
    expect(r.stderr).toContain(`${file}: for.StackwatchTargetDown: expected a Prometheus duration like 30s, 5m or 1h30m, got "5 minutes"`);
    expect(() => statSync(path.join(dir, 'out'))).toThrow();
  });
});

describe('stackwatch bundle with a non-default job, thresholds, objective and for:', () => {
  const out = tmp();
  const JOB = 'edge-watch';
  const settings = `
exporter:
  job: ${JOB}
  address: edge-1:9967
  external_url: https://watch.example.org/
slo:
  objective: 0.995
  fast:
    - { long: 1h, short: 5m, factor: 10 }
    - { long: 6h, short: 30m, factor: 5 }
  slow:
    - { long: 1d, short: 2h, factor: 2 }
recovery_objective_seconds: 300
flapping: { outages: 4, window: 3h }
tls_cert: { warning_days: 21, critical_days: 3 }
mqtt: { roundtrip_slow_seconds: 2, sys_stale_seconds: 90, roundtrip_failures: 5 }
restarts: { count: 3, window: 1h30m }
symptom_hold_down: 3m
traffic:
  min_requests_per_hour: 600
  bad_gateway: { window: 5m, count: 40 }
  latency: { seconds: 0.3, min_requests: 500 }
for:
  StackwatchTargetDown: 3m
  StackwatchMqttBrokerDown: 1m
  StackwatchProcessNotRunning: 2m
  StackwatchContainerUnhealthy: 1m
  StackwatchProcessRestarting: 1m30s
  StackwatchContainerCrashLooping: 2m
  StackwatchContainerOomKilled: 1m30s
  StackwatchTargetFlapping: 2m
  StackwatchTlsCertExpiryCritical: 10m
  StackwatchTrafficBadGateway: 2m
  StackwatchTrafficLatencyHigh: 5m
`;
  const prom = path.join(out, 'prometheus');
  const ruleFiles = (): string[] => ['rules', 'alerts'].flatMap((d) => readdirSync(path.join(prom, d)).map((f) => `${d}/${f}`));
  interface Rule { record?: string; alert?: string; expr: string; for?: string; annotations?: Record<string, string> }
  const rules = (): Rule[] => ruleFiles().flatMap((f) => (parseYaml(readFileSync(path.join(prom, f), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules));

  // Written once, on first use: jest starts concurrent tests before beforeAll hooks run.
  let written = false;
  const write = (): void => {
    if (written) return;
    written = true;
    const file = path.join(out, 'bundle.yml');
    writeFileSync(file, settings);
    const r = runCli(['bundle', '--config', file, '--out', out]);
    if (r.status !== 0 || r.stderr !== '') throw new Error(`stackwatch bundle exited ${r.status}: ${r.stderr}`);
  };
  beforeAll(write);

  test('every selector of every rule and alert carries job="edge-watch" (and the old job is gone)', () => {
    const all = rules();
    expect(all.length).toBeGreaterThan(40);
    let count = 0;
    for (const r of all) {
      const { top, error } = parse(r.expr);
      expect({ rule: r.record ?? r.alert, error }).toEqual({ rule: r.record ?? r.alert, error: undefined });
      for (const s of selectors(top, r.expr)) {
        count++;
        expect({ rule: r.record ?? r.alert, selector: r.expr.slice(s.node.from, s.node.to), job: s.matchers.some((m) => m.label === 'job' && m.op === '=' && m.value === JOB) })
          .toEqual({ rule: r.record ?? r.alert, selector: r.expr.slice(s.node.from, s.node.to), job: true });
      }
    }
    expect(count).toBeGreaterThan(100);
    for (const f of ruleFiles()) expect(readFileSync(path.join(prom, f), 'utf8')).not.toContain('job="stackwatch"');
  });

  test('every dashboard query and variable query selects the exporter with job="edge-watch"', () => {
    const dashDir = path.join(out, 'grafana', 'dashboards');
    const files = readdirSync(dashDir);
    expect(files).toHaveLength(6);
    let queries = 0;
    for (const f of files) {
      const d = JSON.parse(readFileSync(path.join(dashDir, f), 'utf8')) as LDashboard & { panels: { targets?: { expr?: string }[]; panels?: unknown[] }[] };
      const vars = d.templating.list;
      const exprs = [
        ...d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')),
        ...vars.filter((v) => v.type === 'query').map((v) => /^label_values\((.*), *\w+\)$/s.exec(typeof v.query === 'string' ? v.query : v.query?.query ?? '')?.[1] ?? 'unparsed variable query'),
      ];
      for (const e of exprs) {
        queries++;
        const text = expand(e, vars);
        const { top, error } = parse(text);
        expect({ f, e, error }).toEqual({ f, e, error: undefined });
        const sels = selectors(top, text);
        expect(sels.length).toBeGreaterThan(0);
        for (const s of sels) expect({ f, e, job: s.matchers.some((m) => m.label === 'job' && m.op === '=' && m.value === JOB) }).toEqual({ f, e, job: true });
      }
      // The job variable lists the configured job's exporters only.
      const job = vars.find((v) => v.name === 'job')!;
      expect(JSON.stringify(job.query)).toContain(`stackwatch_build_info{job=\\"${JOB}\\"}`);
      // The runbook link is the exporter's /runbook.
      expect(JSON.stringify(d)).toContain('https://watch.example.org/runbook');
    }
    expect(queries).toBeGreaterThan(100);
  });

  test('the settings reach the alerts: thresholds, objective, for: durations, runbook links', () => {
    const byName = new Map(rules().filter((r) => r.alert !== undefined).map((r) => [r.alert!, r]));
    expect(byName.get('StackwatchTargetDown')!.for).toBe('3m');
    expect(byName.get('StackwatchMqttBrokerDown')!.for).toBe('1m');
    expect(byName.get('StackwatchSloFastBurn')!.expr).toContain('> 0.05 and'); // 10 x 0.005
    expect(byName.get('StackwatchSloSlowBurn')!.annotations!.description).toContain('99.5%');
    expect(byName.get('StackwatchTlsCertExpiringSoon')!.expr).toContain(`< ${21 * 86400}`);
    expect(byName.get('StackwatchTargetFlapping')!.expr).toContain('>= 4');
    expect(byName.get('StackwatchTargetDown')!.annotations!.runbook_url).toBe('https://watch.example.org/runbook#stackwatchtargetdown');
    const badGateway = byName.get('StackwatchTrafficBadGateway')!;
    expect(badGateway.for).toBe('2m');
    expect(badGateway.expr).toContain(`[5m])) >= 40`);
    // A cause page explains the burst for the hold-down plus the burst's window after it resolved.
    expect(badGateway.expr).toContain('role="cause", job="edge-watch"}[8m])');
    expect(byName.get('StackwatchTrafficLatencyHigh')!.expr).toContain('> 0.3 and');
    expect(byName.get('StackwatchTrafficLatencyHigh')!.expr).toContain('* 300 >= 500');
    expect(byName.get('StackwatchTrafficFastBurn')!.expr).toContain('[1h])) >= 600');
    const promYml = parseYaml(readFileSync(path.join(prom, 'prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    expect(promYml.scrape_configs[0]).toEqual({ job_name: JOB, static_configs: [{ targets: ['edge-1:9967'] }] });
    const runbook = readFileSync(path.join(out, 'runbook.md'), 'utf8').replace(/\n/g, ' ');
    expect(runbook).toContain('less than 21 days');
    expect(runbook).toContain('The target went down at least 4 times in 3 hours.');
    expect(runbook).toContain(`\`up{job="${JOB}"}\` is 0`);
    expect(runbook).toContain('recorded at least 40 responses 502 Bad Gateway or 504 Gateway Timeout within 5 minutes');
  });

  // promtool runs two at a time (test/harness/promtool.ts); the tests queue there, hence the long bounds.
  test.concurrent('promtool check rules and check config pass on the output', async () => {
    write();
    const r = await promtoolRun(['check', 'rules', ...ruleFiles()], prom);
    if (r.code !== 0) throw new Error(r.out);
    expect(r.out).not.toMatch(/FAILED/);
    const c = await promtoolRun(['check', 'config', 'prometheus.yml'], prom);
    if (c.code !== 0) throw new Error(c.out);
  }, 900_000);

  test('the generated promtool tests follow the settings', () => {
    const files = readdirSync(path.join(prom, 'tests')).sort();
    // The same test files as the committed bundle's.
    expect(files).toEqual(readdirSync(path.join(root, 'prometheus', 'tests')).sort());
    const tests = files.map((f) => readFileSync(path.join(prom, 'tests', f), 'utf8')).join('\n');
    expect(tests).toContain(`job="${JOB}"`);
    expect(tests).toContain('instance="edge-1:9967"');
    expect(tests).toContain('99.5% availability objective');
    expect(tests).not.toContain('job="stackwatch"');
  });

  // The cases the settings change beyond the job, address and URL (changed-rule-tests.ts): the
  // others are the committed cases with those renamed, which rules-promtool.test.ts runs. One
  // promtool per file: the SLO cases evaluate days of series at one-minute steps.
  const DEFAULT_URL = 'http://127.0.0.1:9967';
  const rename = (text: string): string => text.replaceAll(JOB, 'stackwatch').replaceAll('edge-1:9967', 'stackwatch:9967').replaceAll('https://watch.example.org', DEFAULT_URL);
  test.concurrent('promtool test rules passes on every case the settings change', async () => {
    write();
    const runs = changedRuleTests(prom, rename);
    // Thresholds, windows and for: durations reach every file with alerts; the job alone does not count.
    expect([...runs].sort()).toEqual(['availability', 'availability-5m', 'docker', 'exporter', 'health', 'mqtt', 'processes', 'traffic'].map((f) => `changed-tests/${f}.yml`).sort());
    const failures: string[] = [];
    await Promise.all(runs.map(async (file) => {
      const r = await promtoolRun(['test', 'rules', file], prom);
      if (r.code !== 0 || !r.out.includes('SUCCESS')) failures.push(`${file}:\n${r.out}`);
    }));
    if (failures.length > 0) throw new Error(failures.join('\n'));
  }, 900_000);
});

describe('the exporter serves the runbook at /runbook', () => {
  test('with the thresholds of --bundle.config, an anchor per alert, and the default settings without it', async () => {
    const dir = tmp();
    const cfg = path.join(dir, 'stackwatch.yml');
    writeFileSync(cfg, 'http:\n  - name: api\n    url: http://127.0.0.1:9/health\n');
    const bundle = path.join(dir, 'bundle.yml');
    writeFileSync(bundle, 'tls_cert: { warning_days: 21 }\nflapping: { outages: 5 }\n');
    expect(runCli(['--config', cfg, '--bundle.config', bundle, '--check-config']).stdout).toContain(`${bundle}: bundle settings are valid`);
    const bad = path.join(dir, 'bad.yml');
    writeFileSync(bad, 'tls_cert: { warning_dayz: 21 }\n');
    const refused = runCli(['--config', cfg, '--bundle.config', bad, '--check-config']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`${bad}: tls_cert.warning_dayz: unknown key`);

    for (const [args, days, outages] of [[['--bundle.config', bundle], 21, 5], [[], 14, 3]] as const) {
      const p = procs.start(process.execPath, [MAIN, ...withStorage(['--config', cfg, '--listen', '127.0.0.1:0', ...args])]);
      try {
        const port = await boundPort(p);
        const res = await waitFor('/runbook', async () => {
          try {
            const r = await fetch(`http://127.0.0.1:${port}/runbook`);
            return r.status === 200 ? r : undefined;
          } catch {
            return undefined;
          }
        }, 20_000);
        expect(res.headers.get('content-type')).toMatch(/^text\/html/);
        const html = (await res.text()).replace(/\n/g, ' ');
        expect(html).toContain(`less than ${days} days`);
        expect(html).toContain(`went down at least ${outages} times`);
        for (const a of ['StackwatchTargetDown', 'StackwatchProcessNotRunning', 'StackwatchTrafficBadGateway']) expect(html).toContain(`<h2 id="${a.toLowerCase()}">${a}</h2>`);
      } finally {
        await procs.kill(p, 'SIGTERM');
      }
    }
  }, 90_000);
});
