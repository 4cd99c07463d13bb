/**
 * The rules, alerts and dashboard queries mean the same on Debian's Prometheus 2.42 (which the
 * tests run) and on the Prometheus 3 that docker-compose.yml pins: they avoid every PromQL
 * difference between the two that could change a result (docs/bundle.md, "Versions").
 * Parsed with Prometheus' own grammar (@prometheus-io/lezer-promql).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parser } from '@prometheus-io/lezer-promql';

/** A node of lezer-promql's syntax tree (typed from the parser, not from @lezer/common's ESM/CJS twins). */
type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

const root = path.join(__dirname, '..', '..');
const read = (rel: string): string => readFileSync(path.join(root, rel), 'utf8');

interface Expr { where: string; expr: string }

const ruleExprs: Expr[] = ['prometheus/rules', 'prometheus/alerts'].flatMap((dir) => readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.yml')).flatMap((f) => {
  const doc = YAML.parse(read(`${dir}/${f}`)) as { groups: { rules: { record?: string; alert?: string; expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ where: `${dir}/${f}: ${r.record ?? r.alert ?? '?'}`, expr: String(r.expr) })));
}));

/** Dashboard queries with Grafana's interval variables replaced by a legal duration. */
const dashboardExprs: Expr[] = readdirSync(path.join(root, 'grafana', 'dashboards')).filter((f) => f.endsWith('.json')).flatMap((f) => {
  const d = JSON.parse(read(`grafana/dashboards/${f}`)) as { panels: { title: string; targets?: { expr: string }[] }[] };
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({
    where: `${f}: ${p.title}`,
    expr: t.expr.replace(/\$__(rate_interval|range|interval)\b/g, '5m').replace(/\$slo\b/g, '99.9'),
  })));
});

function nodes(expr: string, name: string): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const c = parser.parse(expr).cursor();
  do {
    if (c.name === name) out.push(c.node);
  } while (c.next());
  return out;
}

const durationSeconds = (d: string): number => {
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  for (const m of d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * unit[m[2]!]!;
  return total;
};

describe('PromQL that means the same on Prometheus 2.42 and 3.x', () => {
  const all = [...ruleExprs, ...dashboardExprs];

  it('reads the rules, alerts and dashboard queries (and they parse)', () => {
    expect(ruleExprs.length).toBeGreaterThan(30);
    expect(dashboardExprs.length).toBeGreaterThan(60);
    for (const { where, expr } of all) expect([where, nodes(expr, '⚠').length]).toEqual([where, 0]);
  });

  it('uses no function Prometheus 3 renamed or removed (holt_winters)', () => {
    for (const { where, expr } of all) expect([where, /\bholt_winters\s*\(/.test(expr)]).toEqual([where, false]);
  });

  it('never matches on an le or quantile value (Prometheus 3 rewrites le="30" as le="30.0")', () => {
    for (const { where, expr } of all) {
      for (const m of nodes(expr, 'UnquotedLabelMatcher')) {
        const label = m.getChild('LabelName');
        const name = label ? expr.slice(label.from, label.to) : '';
        expect([where, name === 'le' || name === 'quantile']).toEqual([where, false]);
      }
    }
  });

  it('gives every rule range at least four scrape intervals (left-open ranges drop the first sample)', () => {
    const scrape = durationSeconds((YAML.parse(read('prometheus/prometheus.yml')) as { global: { scrape_interval: string } }).global.scrape_interval);
    expect(scrape).toBeGreaterThan(0);
    for (const { where, expr } of ruleExprs) {
      for (const ms of nodes(expr, 'MatrixSelector')) {
        const dur = ms.getChild('DurationExpr');
        const secs = dur ? durationSeconds(expr.slice(dur.from, dur.to)) : 0;
        expect([where, secs >= 4 * scrape]).toEqual([where, true]);
      }
    }
  });

  it('uses only classic metric and label names (no quoted UTF-8 names, which 2.42 cannot parse)', () => {
    const classic = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
    for (const { where, expr } of all) {
      for (const id of nodes(expr, 'Identifier')) expect([where, classic.test(expr.slice(id.from, id.to))]).toEqual([where, true]);
      for (const l of nodes(expr, 'LabelName')) expect([where, classic.test(expr.slice(l.from, l.to))]).toEqual([where, true]);
      expect([where, nodes(expr, 'QuotedLabelName').length + nodes(expr, 'QuotedLabelMatcher').length]).toEqual([where, 0]);
    }
  });
});
