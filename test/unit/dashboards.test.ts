/**
 * Checks of the Grafana dashboards' own conventions, on the committed JSON in
 * grafana/dashboards/ (what Grafana provisions), which must also be exactly what
 * `npm run bundle` generates from bundle/dashboards/.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { alertGroups } from '../../src/bundle/alerts';
import { bundleConfig } from '../../src/bundle/bundle-config';
import { trafficAlertGroups } from '../../src/bundle/logs-rules';
import type { AnyPanel, Dashboard, Panel } from '../../src/bundle/dashboards/grafana';
import { grafanaFiles } from '../../src/bundle/grafana-files';
import { MTTR_WINDOWS, R, SLI_WINDOWS, UPTIME_WINDOWS } from '../../src/bundle/names';
import { ALL_METRICS, M, type MetricDef } from '../../src/metrics/definitions';
import { parsePromql } from '../harness/dashboard-lint';

const root = path.join(__dirname, '..', '..');
const dir = path.join(root, 'grafana', 'dashboards');

/** The dashboards and their uids: stable, since links and bookmarks use them. */
const EXPECTED_UIDS: Record<string, string> = {
  'stackwatch-overview.json': 'stackwatch-overview',
  'stackwatch-recovery.json': 'stackwatch-recovery',
  'stackwatch-errors.json': 'stackwatch-errors',
  'stackwatch-memory.json': 'stackwatch-memory',
  'stackwatch-mqtt.json': 'stackwatch-mqtt',
  'stackwatch-containers.json': 'stackwatch-containers',
};

const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
const dashboards: [string, Dashboard][] = files.map((f) => [f, JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Dashboard]);
/** A query of dashboard `d`, read with its variables. */
const promql = (d: Dashboard, expr: string): ReturnType<typeof parsePromql> => parsePromql(expr);
const panelsOf = (d: Dashboard): Panel[] => d.panels.filter((p: AnyPanel): p is Panel => p.type !== 'row');
const allQueries = dashboards.flatMap(([f, d]) => panelsOf(d).flatMap((p) => p.targets.map((t) => ({ file: f, dash: d, panel: p, target: t }))));

/** Series names a query may select: exported metrics (with histogram series) and recording rules. */
const histogramSeries = (m: MetricDef): string[] => (m.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => m.name + s) : [m.name]);
const EXPORTED = new Map<string, MetricDef>(ALL_METRICS.flatMap((m) => histogramSeries(m).map((n) => [n, m] as const)));
const RECORDING = new Set<string>([
  ...SLI_WINDOWS.map((w) => R.errorRatio(w)), ...UPTIME_WINDOWS.map((w) => R.uptimeRatio(w)), ...MTTR_WINDOWS.map((w) => R.mttr(w)),
  R.processMemoryFloor, R.containerMemoryFloor, R.processMemoryFloorSlope, R.containerMemoryFloorSlope, R.containerMemoryTimeToLimit,
]);
/** Prometheus' own per-target series (the exporter's scrape health), not an exporter metric. */
const PROMETHEUS_SYNTHETIC = new Set(['up']);

const TARGET_LABELS = ['target', 'broker', 'container', 'group'];
const GRAFANA_BUILTINS = new Set(['__rate_interval', '__range', '__interval', '__range_s', '__interval_ms']);

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
const slug = (h: string): string => h.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');

describe('dashboard files', () => {
  it('are exactly the generated ones (run `npm run bundle` after editing bundle/dashboards/)', () => {
    const generated = Object.fromEntries(Object.entries(grafanaFiles(bundleConfig)).filter(([p]) => p.startsWith('grafana/dashboards/')));
    expect(files.map((f) => `grafana/dashboards/${f}`)).toEqual(Object.keys(generated).sort());
    for (const [rel, content] of Object.entries(generated)) {
      expect(readFileSync(path.join(root, rel), 'utf8')).toBe(content);
    }
  });

  it('are the six stackwatch dashboards with stable, unique uids and titles', () => {
    expect(Object.fromEntries(dashboards.map(([f, d]) => [f, d.uid]))).toEqual(EXPECTED_UIDS);
    const titles = dashboards.map(([, d]) => d.title);
    expect(new Set(titles).size).toBe(titles.length);
    for (const [, d] of dashboards) {
      expect(d.uid.length).toBeLessThanOrEqual(40);
      expect(d.uid).toMatch(/^[a-z0-9-]+$/);
      expect(d.id).toBeNull();
      expect(d.tags).toContain('stackwatch');
      expect(d.description.length).toBeGreaterThan(20);
    }
  });
});

describe.each(dashboards)('%s', (_file, d) => {
  const panels = panelsOf(d);
  const varNames = new Set(d.templating.list.map((v) => v.name));

  it('follows Grafana schema conventions (schemaVersion, gridPos inside 24 columns without overlaps, unique panel ids)', () => {
    expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(d.schemaVersion).toBeLessThanOrEqual(42);
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of ids) expect(Number.isInteger(p) && p > 0).toBe(true);
    const cells = new Set<string>();
    for (const p of d.panels) {
      const g = p.gridPos;
      expect(g.w).toBeGreaterThan(0);
      expect(g.h).toBeGreaterThan(0);
      expect(g.x + g.w).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const c = `${x},${y}`;
          if (cells.has(c)) throw new Error(`panel "${p.title}" overlaps another at ${c}`);
          cells.add(c);
        }
      }
    }
    expect(panels.length).toBeGreaterThanOrEqual(5);
  });

  it('has a datasource variable and job / instance / target variables that use it', () => {
    const ds = d.templating.list.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['job', 'instance', 'target']) {
      const v = d.templating.list.find((x) => x.name === name);
      expect(v).toMatchObject({ type: 'query', datasource: { type: 'prometheus', uid: '${datasource}' }, includeAll: true, multi: true, allValue: '.+' });
    }
    const [job, instance, target] = ['job', 'instance', 'target'].map((n) => (d.templating.list.find((x) => x.name === n) as { query: { query: string } }).query.query);
    // Chained: instance within the selected jobs, targets within the selected instances.
    expect(instance).toContain('job=~"$job"');
    expect(target).toMatch(/job=~"\$job".*instance=~"\$instance"/);
    expect(job).toMatch(/^label_values\(/);
  });

  it('gives every panel a description, a unit, the datasource variable and at least one query', () => {
    for (const p of panels) {
      const where = `panel "${p.title}"`;
      expect([where, p.description.length >= 20]).toEqual([where, true]);
      expect([where, typeof p.fieldConfig.defaults.unit === 'string' && p.fieldConfig.defaults.unit !== '']).toEqual([where, true]);
      expect([where, p.datasource]).toEqual([where, { type: 'prometheus', uid: '${datasource}' }]);
      expect([where, p.targets.length > 0]).toEqual([where, true]);
      const refIds = p.targets.map((t) => t.refId);
      expect([where, new Set(refIds).size]).toEqual([where, refIds.length]);
      for (const t of p.targets) {
        expect([where, t.datasource]).toEqual([where, { type: 'prometheus', uid: '${datasource}' }]);
        expect([where, t.expr.trim().length > 0, t.instant !== t.range]).toEqual([where, true, true]);
      }
      if (p.type === 'heatmap') expect(p.targets.every((t) => t.format === 'heatmap')).toBe(true);
      if (p.type === 'table') expect(p.targets.every((t) => t.format === 'table' && t.instant)).toBe(true);
    }
  });

  it('uses $__rate_interval in every rate / irate / increase ($__range only for instant "in the selected range" totals)', () => {
    for (const p of panels) {
      for (const t of p.targets) {
        for (const r of promql(d, t.expr).ranges) {
          if (!['rate', 'irate', 'increase'].includes(r.fn ?? '')) continue;
          const ok = r.window === '$__rate_interval' || (r.window === '$__range' && t.instant);
          if (!ok) throw new Error(`panel "${p.title}": ${r.fn}(...[${r.window}]) in ${t.expr}`);
        }
      }
    }
  });

  it('filters every selector by $job and $instance, and by $target where the series names a target', () => {
    for (const p of panels) {
      for (const t of p.targets) {
        for (const s of promql(d, t.expr).selectors) {
          const has = (label: string, value: string): boolean => s.matchers.some((m) => m.label === label && m.op === '=~' && m.value === value);
          const where = `panel "${p.title}", ${s.name ?? '?'} in ${t.expr}`;
          expect([where, has('job', '$job'), has('instance', '$instance')]).toEqual([where, true, true]);
          const def = s.name === undefined ? undefined : EXPORTED.get(s.name);
          const level = s.name !== undefined && RECORDING.has(s.name) ? s.name.split(':')[0]! : undefined;
          const targetLabel = def ? TARGET_LABELS.find((l) => def.labels.includes(l)) : level === 'kind_target' ? 'target' : level;
          if (targetLabel !== undefined) expect([where, has(targetLabel, '$target')]).toEqual([where, true]);
        }
      }
    }
  });

  it('references only metrics stackwatch exports or recording rules of bundle/names.ts', () => {
    for (const { panel, target } of allQueries.filter((q) => q.dash === d)) {
      for (const s of promql(d, target.expr).selectors) {
        const ok = s.name !== undefined && (EXPORTED.has(s.name) || RECORDING.has(s.name) || PROMETHEUS_SYNTHETIC.has(s.name));
        if (!ok) throw new Error(`panel "${panel.title}" selects ${s.name ?? 'a nameless selector'}, which is neither exported nor a recording rule: ${target.expr}`);
      }
    }
    for (const v of d.templating.list) {
      if (v.type !== 'query') continue;
      for (const s of promql(d, v.query.query.replace(/^label_values\((.*),\s*\w+\)$/, '$1')).selectors) {
        expect(EXPORTED.has(s.name ?? '')).toBe(true);
      }
    }
  });

  it('describes things in its own words: no references to material outside the project', () => {
    const outside = /DESIGN|§|TOOLCHAIN|\bseeds?\b|\bissues?\s*#?\d|write-?ups?\b|\bsee (the )?(design|spec|ticket)/i;
    const texts = [
      `dashboard: ${d.description}`,
      ...d.templating.list.map((v) => `variable ${v.name}: ${'description' in v ? v.description : ''}`),
      ...panels.map((p) => `panel "${p.title}": ${p.description}`),
      ...d.panels.map((p) => `title: ${p.title}`),
    ];
    expect(texts.filter((t) => outside.test(t))).toEqual([]);
  });

  it('uses only variables the dashboard defines (or Grafana built-ins)', () => {
    const texts = [...panels.flatMap((p) => [...p.targets.map((t) => t.expr), ...p.links.map((l) => l.url)]), ...d.links.map((l) => l.url)];
    for (const text of texts) {
      for (const m of text.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g)) {
        const name = m[1] ?? m[2]!;
        if (!varNames.has(name) && !GRAFANA_BUILTINS.has(name)) throw new Error(`undefined variable $${name} in ${text}`);
      }
    }
  });

  it('links panels to runbook sections by alert anchor, and the dashboard to the runbook', () => {
    expect(varNames.has('runbook_url')).toBe(true);
    const known = new Set<string>([...alertGroups(bundleConfig), ...trafficAlertGroups(bundleConfig)].flatMap((g) => g.rules.map((r) => r.alert)));
    const linked = panels.flatMap((p) => p.links);
    expect(linked.length).toBeGreaterThanOrEqual(3);
    for (const l of linked) {
      const m = /^\$\{runbook_url\}#([a-z0-9]+)$/.exec(l.url);
      if (m === null) throw new Error(`runbook link ${l.url} is not \${runbook_url}#<alert in lower case>`);
      const alert = l.title.replace(/^Runbook: /, '');
      expect(known.has(alert)).toBe(true);
      expect(m[1]).toBe(alert.toLowerCase());
      expect(l.targetBlank).toBe(true);
    }
    expect(d.links.some((l) => l.url === '${runbook_url}')).toBe(true);
  });
});

describe('dashboards together', () => {
  const exprs = allQueries.map((q) => q.target.expr).join('\n');
  const used = (name: string): boolean => new RegExp(`(^|[^a-zA-Z0-9_:])${name.replace(/[:]/g, '\\$&')}([^a-zA-Z0-9_:]|$)`, 'm').test(exprs);

  it('show every exported metric somewhere (build and host info only feed the variables, the log source info only the traffic alerts\' upstream join)', () => {
    const notShown = ALL_METRICS.filter((m) => !histogramSeries(m).some(used)).map((m) => m.name);
    expect(notShown.sort()).toEqual([M.hostInfo.name, M.buildInfo.name, M.logSourceInfo.name].sort());
  });

  it('show every recording rule the dashboards are meant to show (uptime 24h/7d/30d, MTTR, burn rates, floors, slopes, time to limit)', () => {
    const wanted = [
      ...UPTIME_WINDOWS.map((w) => R.uptimeRatio(w)), ...MTTR_WINDOWS.map((w) => R.mttr(w)),
      R.errorRatio('5m'), R.errorRatio('1h'), R.errorRatio('6h'), R.errorRatio('3d'), R.errorRatio('30d'),
      R.processMemoryFloor, R.containerMemoryFloor, R.processMemoryFloorSlope, R.containerMemoryFloorSlope, R.containerMemoryTimeToLimit,
    ];
    expect(wanted.filter((n) => !used(n))).toEqual([]);
  });

  it('show pending requests from stackwatch_health_field{field="pending_requests"} on Memory & leaks', () => {
    const mem = dashboards.find(([, d]) => d.uid === 'stackwatch-memory')![1];
    const selectors = panelsOf(mem).flatMap((p) => p.targets.flatMap((t) => promql(mem, t.expr).selectors));
    expect(selectors.some((s) => s.name === M.healthField.name && s.matchers.some((m) => m.label === 'field' && m.op === '=' && m.value === 'pending_requests'))).toBe(true);
  });

  it('link only to alerts that have a section in docs/runbook.md', () => {
    const runbook = path.join(root, 'docs', 'runbook.md');
    expect(existsSync(runbook)).toBe(true);
    const anchors = new Set([...readFileSync(runbook, 'utf8').matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1]!)));
    const missing = [...new Set(dashboards.flatMap(([, d]) => panelsOf(d).flatMap((p) => p.links.map((l) => l.url.split('#')[1]!))))]
      .filter((a) => !anchors.has(a));
    expect(missing).toEqual([]);
  });
});
