/**
 * The traffic rules and alerts (src/bundle/logs-rules.ts): naming, severities, annotations and
 * runbook sections, that every metric they read is exported or recorded, that label matchers
 * use labels the metric has, and that every alert has its promtool cases.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ALL_METRICS } from '../../src/metrics/definitions';
import { bundleConfig, durationSeconds, SEVERITIES } from '../../src/bundle/bundle-config';
import { TR, TRAFFIC_ALERTS, TRAFFIC_WINDOWS, trafficAlertGroups, trafficRecordingGroups } from '../../src/bundle/logs-rules';
import { trafficAlertCases, trafficRuleTestFiles } from '../../src/bundle/logs-rules-tests';
import { ruleFiles } from '../../src/bundle/prometheus-files';

const cfg = bundleConfig;
const alerts = trafficAlertGroups(cfg).flatMap((g) => g.rules);
const recorded = new Set(trafficRecordingGroups().flatMap((g) => g.rules.map((r) => r.record)));
const runbook = readFileSync(path.join(__dirname, '..', '..', 'docs', 'runbook.md'), 'utf8');
const exported = new Map<string, readonly string[]>(ALL_METRICS.flatMap((d) => (d.type === 'histogram'
  ? ['_bucket', '_sum', '_count'].map((s) => [`${d.name}${s}`, [...d.labels, ...(s === '_bucket' ? ['le'] : [])]] as const)
  : [[d.name, d.labels] as const])));

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

/** Metric names and their label matchers in a PromQL expression (functions and keywords skipped). */
function selectors(expr: string): { metric: string; labels: string[] }[] {
  let e = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  e = e.replace(/\[[^\]]*\]/g, ' ');
  const out: { metric: string; labels: string[] }[] = [];
  for (const m of e.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?/g)) {
    const name = m[1]!;
    if (m[3] !== undefined || KEYWORDS.has(name.toLowerCase()) || /\d$/.test(e.slice(0, m.index))) continue;
    out.push({ metric: name, labels: m[2] ? [...m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((l) => l[1]!) : [] });
  }
  return out;
}

describe('traffic rules', () => {
  it('are registered in the generated rule files', () => {
    const files = ruleFiles(cfg);
    expect(Object.keys(files)).toEqual(expect.arrayContaining(['rules/traffic-sli.yml', 'alerts/traffic.yml']));
    const parsed = parse(files['alerts/traffic.yml']!) as { groups: { rules: { alert: string }[] }[] };
    expect(parsed.groups[0]!.rules.map((r) => r.alert)).toEqual([...TRAFFIC_ALERTS]);
  });

  it('record the error ratio per route over every SLO window, the request rate and p95', () => {
    expect([...recorded].sort()).toEqual([...TRAFFIC_WINDOWS.map((w) => TR.errorRatio(w)), TR.requestRate, TR.latencyP95].sort());
  });

  it.each(alerts.map((a) => [a.alert, a] as const))('%s: name, severity, for, annotations, runbook section, kind/target labels', (name, a) => {
    expect(name).toMatch(/^StackwatchTraffic[A-Z][A-Za-z]+$/);
    expect(SEVERITIES).toContain(a.labels.severity);
    expect(durationSeconds(a.for as '1m')).toBeGreaterThan(0);
    expect(Object.keys(a.annotations).sort()).toEqual(['dashboard_url', 'description', 'runbook_url', 'summary']);
    expect(a.annotations.dashboard_url).toMatch(new RegExp(`^${cfg.dashboardBaseUrl}/d/stackwatch-errors/\\?orgId=1`));
    expect(a.annotations.runbook_url).toBe(`${cfg.runbookBaseUrl}#${name.toLowerCase()}`);
    expect(runbook).toMatch(new RegExp(`^## ${name}$`, 'm'));
    expect(a.expr).toContain('"kind", "traffic"');
    expect(a.expr).toContain('"target", "$1", "source"');
  });

  it('read only exported metrics and recorded rules, with labels those metrics have', () => {
    const exprs = [...alerts.map((a) => a.expr), ...trafficRecordingGroups().flatMap((g) => g.rules.map((r) => r.expr))];
    for (const e of exprs) {
      for (const s of selectors(e)) {
        // ALERTS: Prometheus's own series of the alerts (the cause pages that explain a traffic alert).
        if (recorded.has(s.metric) || s.metric === 'ALERTS') continue;
        const labels = exported.get(s.metric);
        if (labels === undefined) throw new Error(`${s.metric} in ${e} is neither exported nor recorded`);
        for (const l of s.labels) expect([...labels, 'job', 'instance']).toContain(l);
      }
    }
  });

  it('every alert has its promtool cases, and the test file loads both rule files', () => {
    expect([...new Set(trafficAlertCases(cfg))].sort()).toEqual([...TRAFFIC_ALERTS].sort());
    const t = parse(trafficRuleTestFiles(cfg)['traffic.yml']!) as { rule_files: string[]; tests: { name: string }[] };
    expect(t.rule_files).toEqual(['../rules/traffic-sli.yml', '../alerts/traffic.yml']);
    for (const name of TRAFFIC_ALERTS) {
      expect(t.tests.map((x) => x.name)).toEqual(expect.arrayContaining([
        `${name}: silent one evaluation before for (${alerts.find((a) => a.alert === name)!.for}) has elapsed, then fires`,
        `${name}: healthy series stay silent`,
      ]));
    }
  });
});
