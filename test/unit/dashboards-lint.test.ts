/**
 * grafana/dashboard-linter's rules for Prometheus dashboards (test/harness/dashboard-lint.ts)
 * applied to the generated dashboards in grafana/dashboards/.
 *
 * A second part feeds a dashboard broken in every way the rules describe and expects each rule to
 * report it, so no rule here can silently pass everything.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  allPanels, expand, lint, nodesOf, parse, RATE_INTERVAL_SAMPLE, selectors, type LDashboard, type LPanel,
} from '../harness/dashboard-lint';

const root = path.join(__dirname, '..', '..');
const DIR = path.join(root, 'grafana', 'dashboards');

const dashboards: [string, LDashboard][] = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()
  .map((f) => [f, JSON.parse(readFileSync(path.join(DIR, f), 'utf8')) as LDashboard]);

describe('dashboard-linter rules on the generated dashboards', () => {
  it('finds the six dashboards, and in them the queries and selectors the target rules check', () => {
    expect(dashboards.length).toBe(6);
    const exprs = dashboards.flatMap(([, d]) => allPanels(d.panels).flatMap((p) => (p.targets ?? []).map((t) => expand(t.expr ?? '', d.templating.list))));
    const found = exprs.map((e) => {
      const { top } = parse(e);
      return { selectors: selectors(top, e).length, counters: selectors(top, e).filter((s) => s.name?.endsWith('_total')).length, ranges: nodesOf(top, 'MatrixSelector').length };
    });
    expect(exprs.length).toBeGreaterThan(60);
    expect(found.reduce((n, f) => n + f.selectors, 0)).toBeGreaterThan(exprs.length);
    expect(found.reduce((n, f) => n + f.counters, 0)).toBeGreaterThan(10);
    expect(found.reduce((n, f) => n + f.ranges, 0)).toBeGreaterThan(10);
  });

  it.each(dashboards)('%s is lint-clean', (_f, d) => {
    expect(lint(d)).toEqual([]);
  });
});

describe('the rules report what they are about', () => {
  const good = (): LDashboard => structuredClone(dashboards.find(([f]) => f === 'stackwatch-overview.json')![1]);
  const rulesHit = (d: LDashboard): string[] => [...new Set(lint(d).map((p) => p.split(':')[0]!))].sort();
  const panelWith = (d: LDashboard, pred: (p: LPanel) => boolean): LPanel => allPanels(d.panels).find((p) => p.type !== 'row' && pred(p))!;

  it('template rules: datasource, job/instance variables, label queries, reload on time change', () => {
    const d = good();
    const ds = d.templating.list.find((v) => v.type === 'datasource')!;
    ds.name = 'prom';
    const job = d.templating.list.find((v) => v.name === 'job')!;
    job.allValue = '.*';
    job.refresh = 1;
    job.query = { query: 'label_values(stackwatch_build_info{, job)' };
    d.templating.list = d.templating.list.filter((v) => v.name !== 'instance');
    expect(rulesHit(d)).toEqual(expect.arrayContaining([
      'template-datasource-rule', 'template-job-rule', 'template-instance-rule', 'template-label-promql-rule', 'template-on-time-change-reload-rule',
    ]));
  });

  it('panel rules: datasource, title/description, units, targets; and editable dashboards', () => {
    const d = good();
    d.editable = true;
    const [a, b] = allPanels(d.panels).filter((p) => p.type !== 'row');
    a!.datasource = { uid: 'stackwatch-prometheus' };
    a!.description = '';
    a!.fieldConfig!.defaults!.unit = 'seconds';
    b!.targets = [];
    expect(rulesHit(d)).toEqual(['panel-datasource-rule', 'panel-no-targets-rule', 'panel-title-description-rule', 'panel-units-rule', 'uneditable-dashboard']);
  });

  it('target rules: invalid PromQL, missing job/instance matchers, rate without $__rate_interval, raw counters', () => {
    const set = (expr: string): string[] => {
      const d = good();
      panelWith(d, (p) => (p.targets ?? []).length > 0).targets![0]!.expr = expr;
      return rulesHit(d);
    };
    expect(set('sum(rate(x_total{job=~"$job", instance=~"$instance"}[$__rate_interval])')).toEqual(['target-promql-rule']);
    expect(set('up{instance=~"$instance"}')).toEqual(['target-job-rule']);
    expect(set('up{job=~"$job", instance="a"}')).toEqual(['target-instance-rule']);
    expect(set('rate(x_total{job=~"$job", instance=~"$instance"}[5m])')).toEqual(['target-rate-interval-rule']);
    expect(set('irate(x_total{job=~"$job", instance=~"$instance"}[$__range])')).toEqual(['target-rate-interval-rule']);
    expect(set('x_total{job=~"$job", instance=~"$instance"}')).toEqual(['target-counter-agg-rule']);
    expect(set('max_over_time(x_total{job=~"$job", instance=~"$instance"}[1h])')).toEqual(['target-counter-agg-rule']);
    // Accepted: increase over any window, rate over $__rate_interval, gauges over any window.
    expect(set('increase(x_total{job=~"$job", instance=~"$instance"}[$__range]) + rate(x_total{job=~"$job", instance=~"$instance"}[$__rate_interval])'
      + ' + max_over_time(g{job=~"$job", instance=~"$instance"}[1h]) * $slo')).toEqual([]);
  });

  it('expands variables as the linter does: only outside double quotes', () => {
    const vars = good().templating.list;
    const slo = vars.find((v) => v.name === 'slo')!.current!.value as string;
    expect(slo).toMatch(/^\d+(\.\d+)?$/);
    expect(expand('rate(x{job=~"$job"}[$__rate_interval]) * $slo', vars)).toBe(`rate(x{job=~"$job"}[${RATE_INTERVAL_SAMPLE}]) * ${slo}`);
  });
});

