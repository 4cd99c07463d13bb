/**
 * Meta-test of the rules and alerts: naming, severities, annotations, runbook sections, that every
 * metric a rule uses is exported by stackwatch (src/metrics/definitions.ts) or recorded by a rule,
 * that label matchers use labels the metric has, and that every alert has its three promtool
 * cases (firing, one evaluation before `for:`, healthy).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { M, type MetricDef } from '../../src/metrics/definitions';
import { allAlerts, alertGroups } from '../../src/bundle/alerts';
import { alertmanagerConfig, BROKER_DEPENDENT_BACKEND_ALERTS, BROKER_DEPENDENT_BROKER_ALERTS, DOCKER_DEPENDENT_KIND, PAGE_GROUP_BY } from '../../src/bundle/alerts-routing';
import { ALERT_NAMES, bundleConfig, durationSeconds, SEVERITIES } from '../../src/bundle/bundle-config';
import { TRAFFIC_ALERTS } from '../../src/bundle/logs-rules';
import { R } from '../../src/bundle/names';
import { grafanaFiles } from '../../src/bundle/grafana-files';
import { EXPORTER_START, recordedNames, recordingGroups } from '../../src/bundle/rules';
import fc from 'fast-check';
import { alertCases, evalTime, eventPlan, firesAtTime, ruleTestFiles, windowSteps } from '../../src/bundle/rules-tests';

const cfg = bundleConfig;
const alerts = allAlerts(cfg);
const recorded = new Set(recordedNames(cfg));
const runbook = readFileSync(path.join(__dirname, '..', '..', 'docs', 'runbook.md'), 'utf8');

/** GitHub's anchor for a heading. */
const slug = (heading: string): string => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');

/** Runbook sections: anchor -> body. */
function sections(md: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = md.split(/^## /m).slice(1);
  for (const p of parts) {
    const nl = p.indexOf('\n');
    out.set(slug(p.slice(0, nl)), p.slice(nl + 1));
  }
  return out;
}

const PROMQL_FUNCTIONS_OR_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

/** Metric names and their label matchers in a PromQL expression. */
export function selectors(expr: string): { metric: string; labels: string[] }[] {
  let e = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  e = e.replace(/\[[^\]]*\]/g, ' ');
  const out: { metric: string; labels: string[] }[] = [];
  const re = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?/g;
  for (const m of e.matchAll(re)) {
    const name = m[1]!;
    if (m[3] !== undefined) continue; // a function call
    if (PROMQL_FUNCTIONS_OR_KEYWORDS.has(name.toLowerCase())) continue;
    if (/^\d/.test(name)) continue;
    // durations after "offset" (e.g. offset 1d) are numbers with units: skip "d", "h", "m" following a digit
    const before = e.slice(0, m.index);
    if (/\d$/.test(before)) continue;
    const labels = m[2] ? [...m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((l) => l[1]!) : [];
    out.push({ metric: name, labels });
  }
  return out;
}

const byName = new Map<string, MetricDef>(Object.values(M).map((d) => [d.name, d]));

/** The definition a series name belongs to (histogram suffixes included). */
function defOf(name: string): MetricDef | undefined {
  const direct = byName.get(name);
  if (direct) return direct;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  const base = m ? byName.get(m[1]!) : undefined;
  return base?.type === 'histogram' ? base : undefined;
}

describe('alerts', () => {
  test('the config lists exactly the alerts the bundle defines', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual([...ALERT_NAMES].sort());
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
  });

  test('the core alerts are all there', () => {
    const names = alerts.map((a) => a.alert);
    for (const n of ['StackwatchExporterDown', 'StackwatchExporterAbsent', 'StackwatchTargetDown', 'StackwatchTargetFlapping', 'StackwatchSloFastBurn',
      'StackwatchSloSlowBurn', 'StackwatchRecoverySlow', 'StackwatchHealthDegraded', 'StackwatchBackendMqttDisconnected', 'StackwatchBackendMqttIdle',
      'StackwatchPendingRequestsGrowing', 'StackwatchMqttBrokerDown', 'StackwatchMqttSysStale', 'StackwatchMqttRoundtripFailing', 'StackwatchMqttRoundtripSlow',
      'StackwatchContainerUnhealthy', 'StackwatchContainerCrashLooping', 'StackwatchContainerOomKilled', 'StackwatchProcessNotRunning',
      'StackwatchProcessRestarting', 'StackwatchProcessMemoryLeakSuspected', 'StackwatchContainerMemoryLeakSuspected', 'StackwatchContainerMemoryExhaustion',
      'StackwatchProcessFdLeak', 'StackwatchWatchdog']) {
      expect(names).toContain(n);
    }
  });

  test('the exporter, collector, Docker connection, TLS and MQTT auth alerts are there with their severities', () => {
    const sev = new Map(alerts.map((a) => [a.alert, a.labels.severity]));
    expect(Object.fromEntries(['StackwatchConfigReloadFailed', 'StackwatchCollectorFailing', 'StackwatchDockerApiDown', 'StackwatchDockerEventsStreamDown',
      'StackwatchTlsCertExpiringSoon', 'StackwatchTlsCertExpiryCritical', 'StackwatchMqttAuthFailing'].map((n) => [n, sev.get(n)]))).toEqual({
      StackwatchConfigReloadFailed: 'warning', StackwatchCollectorFailing: 'warning', StackwatchDockerApiDown: 'warning', StackwatchDockerEventsStreamDown: 'warning',
      StackwatchTlsCertExpiringSoon: 'warning', StackwatchTlsCertExpiryCritical: 'critical', StackwatchMqttAuthFailing: 'critical',
    });
    expect(cfg.tlsCert.criticalDays).toBeLessThan(cfg.tlsCert.warningDays);
  });

  test('alerts that mute another are not slower to fire than the alerts they mute', () => {
    // MqttAuthFailing mutes MqttBrokerDown for the same broker: it must be firing by the time BrokerDown notifies.
    expect(durationSeconds(cfg.for.StackwatchMqttAuthFailing)).toBeLessThanOrEqual(durationSeconds(cfg.for.StackwatchMqttBrokerDown));
  });

  const runbookSections = sections(runbook);
  const dashboardUids = Object.entries(grafanaFiles(cfg)).filter(([f]) => f.endsWith('.json')).map(([, c]) => (JSON.parse(c) as { uid: string }).uid);

  test.each(alerts.map((a) => [a.alert, a] as const))('%s: name, severity, annotations, runbook section', (name, a) => {
    expect(name).toMatch(/^Stackwatch[A-Z][A-Za-z0-9]+$/);
    expect(SEVERITIES).toContain(a.labels.severity);
    expect(Object.keys(a.annotations).sort()).toEqual(['dashboard_url', 'description', 'mttr_7d', 'runbook_url', 'summary']);
    // The dashboard link names a dashboard the bundle ships.
    const dash = /^(.*)\/d\/([^/]+)\/\?orgId=1/.exec(a.annotations.dashboard_url!);
    expect(dash?.[1]).toBe(cfg.dashboardBaseUrl);
    expect(dashboardUids).toContain(dash?.[2]);
    expect(a.annotations.summary!.length).toBeGreaterThan(10);
    expect(a.annotations.description!.length).toBeGreaterThan(30);
    const url = a.annotations.runbook_url!;
    expect(url.startsWith(`${cfg.runbookBaseUrl}#`)).toBe(true);
    const anchor = url.slice(cfg.runbookBaseUrl.length + 1);
    const body = runbookSections.get(anchor);
    if (body === undefined) throw new Error(`${name}: runbook_url anchor #${anchor} is not a section of docs/runbook.md`);
    for (const part of ['**What it means.**', '**How to confirm.**', '**What to do.**']) expect(body).toContain(part);
  });

  test('every alert section of the runbook belongs to an alert', () => {
    const headings = [...runbook.matchAll(/^## (Stackwatch\S+)$/gm)].map((m) => m[1]!);
    // The traffic alerts (access logs) live in src/bundle/logs-rules.ts; test/unit/logs-rules.test.ts checks them.
    expect(headings.sort()).toEqual([...ALERT_NAMES, ...TRAFFIC_ALERTS].sort());
  });

  test('every `for:` is a duration; only the Watchdog, the maintenance inhibitor and events (an OOM kill, a crash loop\'s restarts) fire at once', () => {
    const atOnce = ['StackwatchWatchdog', 'StackwatchTargetInMaintenance', 'StackwatchContainerOomKilled', 'StackwatchContainerCrashLooping', 'StackwatchProcessRestarting'];
    for (const a of alerts) {
      if (atOnce.includes(a.alert)) expect(a.for).toBeUndefined();
      else expect(durationSeconds(a.for as '1m')).toBeGreaterThan(0);
    }
  });

  test('the leak guards cover the whole memory of the slope: quiet window >= 30m floor + slope window', () => {
    expect(durationSeconds(cfg.leak.quietWindow)).toBeGreaterThanOrEqual(1800 + durationSeconds(cfg.leak.slopeWindow));
  });

  test('SLO burn windows: the short window is shorter than the long one, factors decrease', () => {
    for (const b of [...cfg.slo.fast, ...cfg.slo.slow]) expect(durationSeconds(b.short)).toBeLessThan(durationSeconds(b.long));
    expect(Math.min(...cfg.slo.fast.map((b) => b.factor))).toBeGreaterThan(Math.max(...cfg.slo.slow.map((b) => b.factor)));
    expect(cfg.slo.objective).toBeGreaterThan(0);
    expect(cfg.slo.objective).toBeLessThan(1);
  });

  test('inhibitions name existing alerts', () => {
    for (const n of [...BROKER_DEPENDENT_BROKER_ALERTS, ...BROKER_DEPENDENT_BACKEND_ALERTS]) expect(ALERT_NAMES).toContain(n);
    const am = alertmanagerConfig(cfg) as { inhibit_rules: { source_matchers: string[]; target_matchers: string[] }[] };
    for (const r of am.inhibit_rules) {
      for (const m of [...r.source_matchers, ...r.target_matchers]) {
        const eq = /^alertname="(.+)"$/.exec(m);
        if (eq) expect(ALERT_NAMES).toContain(eq[1]);
      }
    }
  });

  /** The incident hierarchy: which alerts page, which are tickets; causes and symptoms. */
  const HIERARCHY: Record<string, [notify: string, role: string]> = {
    StackwatchExporterDown: ['page', 'cause'], StackwatchExporterAbsent: ['page', 'cause'], StackwatchConfigReloadFailed: ['ticket', 'cause'],
    StackwatchCollectorFailing: ['ticket', 'cause'], StackwatchTargetDown: ['page', 'symptom'], StackwatchTargetFlapping: ['ticket', 'symptom'],
    StackwatchSloFastBurn: ['page', 'symptom'], StackwatchSloSlowBurn: ['ticket', 'symptom'], StackwatchRecoverySlow: ['ticket', 'symptom'],
    StackwatchHealthDegraded: ['page', 'symptom'], StackwatchBackendMqttDisconnected: ['page', 'cause'], StackwatchBackendMqttIdle: ['page', 'cause'],
    StackwatchPendingRequestsGrowing: ['page', 'cause'], StackwatchTlsCertExpiringSoon: ['ticket', 'cause'], StackwatchTlsCertExpiryCritical: ['page', 'cause'],
    StackwatchMqttBrokerDown: ['page', 'cause'], StackwatchMqttAuthFailing: ['page', 'cause'], StackwatchMqttSysStale: ['page', 'cause'],
    StackwatchMqttRoundtripFailing: ['page', 'cause'], StackwatchMqttRoundtripSlow: ['ticket', 'cause'], StackwatchMqttTopicSilent: ['page', 'cause'],
    StackwatchDockerApiDown: ['page', 'cause'], StackwatchDockerEventsStreamDown: ['ticket', 'cause'], StackwatchContainerUnhealthy: ['page', 'cause'],
    StackwatchContainerCrashLooping: ['page', 'cause'], StackwatchContainerOomKilled: ['page', 'cause'], StackwatchContainerMemoryLeakSuspected: ['ticket', 'cause'],
    StackwatchContainerMemoryExhaustion: ['ticket', 'cause'], StackwatchProcessNotRunning: ['page', 'cause'], StackwatchProcessRestarting: ['page', 'cause'],
    StackwatchProcessMemoryLeakSuspected: ['ticket', 'cause'], StackwatchProcessFdLeak: ['ticket', 'cause'],
    StackwatchProcessGroupAmbiguous: ['ticket', 'cause'],
  };

  test('every alert has its place in the hierarchy (notify page/ticket, role cause/symptom); the Watchdog has its own route', () => {
    const own = ['StackwatchWatchdog', 'StackwatchTargetInMaintenance'];
    const got = Object.fromEntries(alerts.filter((a) => !own.includes(a.alert)).map((a) => [a.alert, [a.labels.notify, a.labels.role]]));
    expect(got).toEqual(HIERARCHY);
    expect(alerts.find((a) => a.alert === 'StackwatchWatchdog')!.labels).toEqual({ severity: 'info' });
    // The maintenance alert notifies nobody: it only inhibits (its own route, a receiver without integrations).
    expect(alerts.find((a) => a.alert === 'StackwatchTargetInMaintenance')!.labels).toEqual({ severity: 'info' });
  });

  test('a cause page of a target fires no later than the symptoms it mutes, so the first message names it', () => {
    const symptomFor = Math.min(...alerts.filter((a) => a.labels.role === 'symptom' && a.labels.notify === 'page').map((a) => durationSeconds(cfg.for[a.alert as 'StackwatchTargetDown'])));
    const perTarget = alertCases(cfg).filter((c) => c.labels.target !== undefined).map((c) => c.alert);
    for (const a of alerts.filter((x) => x.labels.role === 'cause' && x.labels.notify === 'page' && perTarget.includes(x.alert as 'StackwatchTargetDown'))) {
      // No symptom of their own target to mute, or a trend that pages before any outage (an idle
      // connection, a growing queue, a certificate about to expire).
      if (['StackwatchMqttSysStale', 'StackwatchMqttRoundtripFailing', 'StackwatchMqttTopicSilent', 'StackwatchBackendMqttIdle',
        'StackwatchPendingRequestsGrowing', 'StackwatchTlsCertExpiryCritical'].includes(a.alert)) continue;
      expect([a.alert, durationSeconds(cfg.for[a.alert as 'StackwatchTargetDown']) <= symptomFor]).toEqual([a.alert, true]);
    }
  });

  test('no inhibition by severity alone; causes mute symptoms per exporter and target name', () => {
    const am = alertmanagerConfig(cfg) as { inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[] };
    for (const r of am.inhibit_rules) {
      expect([...r.source_matchers, ...r.target_matchers].filter((m) => m.startsWith('severity'))).toEqual([]);
    }
    expect(am.inhibit_rules).toContainEqual({ source_matchers: ['role="cause"', 'notify="page"'], target_matchers: ['role="symptom"'], equal: [...PAGE_GROUP_BY] });
  });

  test('the Docker API inhibition mutes exactly the alerts of container targets', () => {
    const containerAlerts = alertCases(cfg).filter((c) => c.labels.kind === DOCKER_DEPENDENT_KIND).map((c) => c.alert);
    expect(containerAlerts).toEqual(expect.arrayContaining(['StackwatchContainerUnhealthy', 'StackwatchContainerCrashLooping', 'StackwatchContainerOomKilled']));
    // Every StackwatchContainer* alert is of kind container, so the kind matcher covers them all.
    for (const a of ALERT_NAMES.filter((n) => n.startsWith('StackwatchContainer'))) expect(containerAlerts).toContain(a);
  });
});

describe('metrics used by rules', () => {
  const exprs = [
    ...recordingGroups(cfg).flatMap((g) => g.rules.map((r) => ({ rule: r.record, expr: r.expr }))),
    ...alertGroups(cfg).flatMap((g) => g.rules.map((r) => ({ rule: r.alert, expr: r.expr }))),
  ];

  test('the selector parser finds metrics and their label matchers', () => {
    expect(selectors('sum by (job, le) (rate(foo_bucket{a="x",b=~"y|z"}[5m])) / on(job) bar offset 1d unless baz > 3')).toEqual([
      { metric: 'foo_bucket', labels: ['a', 'b'] }, { metric: 'bar', labels: [] }, { metric: 'baz', labels: [] },
    ]);
  });

  test.each(exprs.map((e) => [e.rule, e.expr] as const))('%s uses only exported or recorded metrics, with their labels', (rule, expr) => {
    const used = selectors(expr);
    if (rule !== 'StackwatchWatchdog') expect(used.length).toBeGreaterThan(0);
    for (const { metric, labels } of used) {
      if (metric === 'up' || metric === EXPORTER_START) {
        for (const l of labels) expect(['job', 'instance']).toContain(l);
        continue;
      }
      if (metric === 'ALERTS') {
        // Prometheus' own series of alerts: alertname, alertstate and the alerts' labels.
        for (const l of labels) expect(['alertname', 'alertstate', 'notify', 'role', 'severity']).toContain(l);
        continue;
      }
      if (recorded.has(metric)) continue;
      const def = defOf(metric);
      if (def === undefined) throw new Error(`${rule}: ${metric} is neither exported (src/metrics/definitions.ts) nor recorded`);
      const allowed = new Set([...def.labels, 'job', 'instance', ...(metric.endsWith('_bucket') ? ['le'] : [])]);
      for (const l of labels) if (!allowed.has(l)) throw new Error(`${rule}: ${metric} has no label ${l}`);
    }
  });

  test('recording rules use the names of bundle/names.ts', () => {
    const names = new Set<string>(Object.values(R).flatMap((v) => (typeof v === 'string' ? [v] : [])));
    for (const n of names) expect(recorded).toContain(n);
  });
});

/** Alerts about the exporter itself (its scrape, config, collectors, Docker connection): no target. */
const EXPORTER_LEVEL_ALERTS: string[] = [
  'StackwatchExporterDown', 'StackwatchExporterAbsent', 'StackwatchWatchdog', 'StackwatchConfigReloadFailed',
  'StackwatchCollectorFailing', 'StackwatchDockerApiDown', 'StackwatchDockerEventsStreamDown',
];

describe('promtool test cases', () => {
  test('event plans (restarts, outages): count events in the window from the onset through for:, fewer before it, one too few in the healthy plan', () => {
    fc.assert(fc.property(
      fc.integer({ min: 60, max: 4 * 3600 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 1800 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 4 }),
      (windowS, count, forS, start, gap) => {
        const plan = eventPlan(windowS, count, forS, start, gap);
        // Events a window ending at minute t sees between its samples (promtool: one a minute, both ends included).
        const seen = (events: number[], t: number): number => events.filter((e) => e > t - windowSteps(windowS) && e <= t).length;
        for (let t = 0; t < plan.onset; t++) expect(seen(plan.firing, t)).toBeLessThan(count);
        for (let t = plan.onset; t <= plan.onset + Math.ceil(forS / 60); t++) expect(seen(plan.firing, t)).toBeGreaterThanOrEqual(count);
        expect(plan.healthy).toHaveLength(count - 1);
        expect(Math.max(...plan.firing)).toBeLessThanOrEqual(plan.end);
      },
    ), { seed: 1126, numRuns: 300 });
  });

  const files = ruleTestFiles(cfg);
  type T = { name: string; alert_rule_test?: { eval_time: string; alertname: string; exp_alerts: { exp_labels: Record<string, string> }[] }[] };
  const tests: T[] = Object.values(files).flatMap((c) => (parse(c) as { tests: T[] }).tests);
  const evals = tests.flatMap((t) => (t.alert_rule_test ?? []).map((e) => ({ test: t.name, ...e })));

  test.each([...ALERT_NAMES])('%s has a firing case, a silent case one evaluation before for, and a healthy case', (name) => {
    const c = alertCases(cfg).find((x) => x.alert === name)!;
    expect(c).toBeDefined();
    const forS = durationSeconds(cfg.for[name]);
    const fires = evals.filter((e) => e.alertname === name && e.exp_alerts.length > 0);
    expect(fires.length).toBeGreaterThan(0);
    const at = evalTime(firesAtTime(c.onset, forS, c.step));
    expect(fires.map((f) => f.eval_time)).toContain(at);
    const fire = fires.find((f) => f.eval_time === at)!;
    expect(fire.exp_alerts[0]!.exp_labels.severity).toBe(alerts.find((a) => a.alert === name)!.labels.severity);
    const labels = Object.keys(fire.exp_alerts[0]!.exp_labels);
    if (EXPORTER_LEVEL_ALERTS.includes(name)) {
      // About the exporter itself, no target: no kind/target that a critical target alert could match.
      expect(labels).not.toContain('kind');
      expect(labels).not.toContain('target');
      if (!['StackwatchExporterAbsent', 'StackwatchWatchdog'].includes(name)) expect(labels).toEqual(expect.arrayContaining(['job', 'instance']));
    } else {
      // Per-target alerts carry kind and target, so that Alertmanager can inhibit per target.
      expect(labels).toEqual(expect.arrayContaining(['kind', 'target', 'job', 'instance']));
    }
    if (forS > 0) {
      const before = evals.find((e) => e.test === fire.test && e.alertname === name && e.eval_time === evalTime(firesAtTime(c.onset, forS, c.step) - (c.step ?? 60)));
      expect(before?.exp_alerts).toEqual([]);
    }
    if (name !== 'StackwatchWatchdog') {
      const healthy = evals.filter((e) => e.alertname === name && e.test.endsWith('healthy series stay silent'));
      expect(healthy.length).toBeGreaterThan(0);
      for (const h of healthy) expect(h.exp_alerts).toEqual([]);
    }
  });

  test('leak guard cases: flat GC sawtooth, restart mid-window, warm-up, true slow leak', () => {
    for (const a of ['StackwatchProcessMemoryLeakSuspected', 'StackwatchContainerMemoryLeakSuspected']) {
      const names = tests.filter((t) => t.name.startsWith(`${a}:`)).map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining([
        expect.stringContaining('fires'), expect.stringContaining('healthy series stay silent'),
        expect.stringContaining('restart mid-window'), expect.stringContaining('warm-up'),
      ]));
    }
  });
});
