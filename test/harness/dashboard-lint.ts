/**
 * grafana/dashboard-linter's rules for Prometheus dashboards (rule names kept), for the tests of
 * generated dashboards. Queries are parsed with Prometheus' own PromQL grammar
 * (@prometheus-io/lezer-promql) after expanding Grafana variables the way the linter does
 * (outside double-quoted strings only; `$__rate_interval` and the other built-ins become sample
 * durations). Where the linter is looser than its stated intent (it checks units and descriptions
 * only for some panel types, and its counter rule misses selectors with label matchers), the
 * intent is checked for every panel and selector.
 */
import { nodesOf, parseTree as parse, selectorsOf as selectors, type SyntaxNode } from '../../src/bundle/dashboards/promql';

/** Loosely typed view of a dashboard's JSON: the linter reads what is there, not what our types promise. */
export interface LVar {
  name: string; type: string; label?: string; multi?: boolean; includeAll?: boolean; allValue?: string; refresh?: number;
  datasource?: { uid?: string; type?: string } | string; query?: string | { query?: string };
  current?: { value?: string | string[] }; options?: { value?: string | string[] }[];
}
export interface LTarget { expr?: string; refId?: string; datasource?: { uid?: string } | string; hide?: boolean }
export interface LPanel {
  id: number; type: string; title?: string; description?: string; datasource?: { uid?: string } | string;
  targets?: LTarget[]; panels?: LPanel[];
  fieldConfig?: { defaults?: { unit?: string; mappings?: unknown[] }; overrides?: { properties?: { id: string; value: unknown }[] }[] };
}
export interface LDashboard { title: string; editable?: boolean; templating: { list: LVar[] }; panels: LPanel[] }

// ---------------------------------------------------------------------------------------------
// Variable expansion, as the linter does it before parsing PromQL.

/** Sample values the linter gives Grafana's global variables (odd durations, so they can be recognised). */
const GLOBALS: Record<string, string> = {
  __rate_interval: '8869990787ms', __interval: '4867856611ms', __interval_ms: '7781188786', __range_ms: '6737667980',
  __range_s: '9397795485', __range: '6069770749ms', __dashboard: 'AwREbnft', __name: 'name', __org: '42', __auto: '12345ms',
};
export const RATE_INTERVAL_SAMPLE = GLOBALS.__rate_interval!;
const VARIABLE = /\$([A-Za-z0-9_]+)|\$\{([^}]+)\}|\[\[([^[\]]+)\]\]/g;

function sampleValue(spec: string, vars: LVar[]): string {
  const name = spec.split(':')[0]!;
  if (name in GLOBALS) return GLOBALS[name]!;
  const v = vars.find((x) => x.name === name);
  if (v !== undefined) {
    const first = (x: string | string[] | undefined): string | undefined => (Array.isArray(x) ? x[0] : x);
    const value = first(v.current?.value) || first(v.options?.[0]?.value);
    if (value) return expand(value, vars.filter((x) => x !== v));
  }
  return name;
}

/** Replaces variables outside double-quoted strings (inside them, `$job` is part of a regex). */
export function expand(expr: string, vars: LVar[]): string {
  return expr.split('"').map((part, i) => (i % 2 === 1 ? part : part.replace(VARIABLE, (_m, a?: string, b?: string, c?: string) => sampleValue(a ?? b ?? c ?? '', vars)))).join('"');
}

// ---------------------------------------------------------------------------------------------
// PromQL: the bundle's own reader (Prometheus' grammar), shared with the bundle command.

export { nodesOf, parse, selectors };
export { parsePromql, substituteVariables } from '../../src/bundle/dashboards/promql';

/** The function a range vector is passed to directly (`rate` in `rate(x[5m])`), as the linter reads it. */
function callOf(node: SyntaxNode, text: string): string | undefined {
  const body = node.parent;
  if (body?.name !== 'FunctionCallBody') return undefined;
  const call = body.parent;
  const id = call?.getChild('FunctionIdentifier');
  return id ? text.slice(id.from, id.to) : undefined;
}

// ---------------------------------------------------------------------------------------------
// The rules.

/** Grafana's unit ids (grafana-data valueFormats/categories.ts), as the linter lists them. */
const VALID_UNITS = new Set([
  'none', 'string', 'short', 'percent', 'percentunit', 'humidity', 'dB', 'hex0x', 'hex', 'sci', 'locale', 'pixel',
  'accMS2', 'accFS2', 'accG', 'degree', 'radian', 'grad', 'arcmin', 'arcsec', 'areaM2', 'areaF2', 'areaMI2',
  'flops', 'mflops', 'gflops', 'tflops', 'pflops', 'eflops', 'zflops', 'yflops',
  'ppm', 'conppb', 'conngm3', 'conngNm3', 'conμgm3', 'conμgNm3', 'conmgm3', 'conmgNm3', 'congm3', 'congNm3', 'conmgdL', 'conmmolL',
  'bytes', 'decbytes', 'bits', 'decbits', 'kbytes', 'deckbytes', 'mbytes', 'decmbytes', 'gbytes', 'decgbytes', 'tbytes', 'dectbytes', 'pbytes', 'decpbytes',
  'pps', 'binBps', 'Bps', 'binbps', 'bps', 'KiBs', 'Kibits', 'KBs', 'Kbits', 'MiBs', 'Mibits', 'MBs', 'Mbits', 'GiBs', 'Gibits', 'GBs', 'Gbits',
  'TiBs', 'Tibits', 'TBs', 'Tbits', 'PiBs', 'Pibits', 'PBs', 'Pbits',
  'dateTimeAsIso', 'dateTimeAsIsoNoDateIfToday', 'dateTimeAsUS', 'dateTimeAsUSNoDateIfToday', 'dateTimeAsLocal',
  'dateTimeAsLocalNoDateIfToday', 'dateTimeAsSystem', 'dateTimeFromNow',
  'hertz', 'ns', 'µs', 'ms', 's', 'm', 'h', 'd', 'dtdurationms', 'dtdurations', 'dthms', 'dtdhms', 'timeticks', 'clockms', 'clocks',
  'cps', 'ops', 'reqps', 'rps', 'wps', 'iops', 'cpm', 'opm', 'rpm', 'wpm', 'mps', 'mpm',
  'bool', 'bool_yes_no', 'bool_on_off',
]);

const LABEL_FUNCTIONS = new Set(['label_names', 'label_values', 'metrics', 'query_result']);
const TEMPLATED_DS = new Set(['$datasource', '${datasource}']);
const uidOf = (ds: { uid?: string } | string | undefined): string | undefined => (typeof ds === 'string' ? ds : ds?.uid);
const queryOf = (v: LVar): string => (typeof v.query === 'string' ? v.query : v.query?.query ?? '');
export const allPanels = (ps: LPanel[]): LPanel[] => ps.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);

export function lint(d: LDashboard): string[] {
  const problems: string[] = [];
  const report = (rule: string, what: string): void => {
    problems.push(`${rule}: ${what}`);
  };
  const vars = d.templating.list;

  // template-datasource-rule
  const dsVars = vars.filter((v) => v.type === 'datasource');
  if (dsVars.length !== 1) report('template-datasource-rule', `${dsVars.length} datasource variables, want exactly one`);
  for (const v of dsVars) {
    if (v.name !== 'datasource') report('template-datasource-rule', `datasource variable named '${v.name}', should be 'datasource'`);
    if (v.label !== 'Data source') report('template-datasource-rule', `datasource variable labeled '${v.label}', should be 'Data source'`);
    if (queryOf(v) !== 'prometheus') report('template-datasource-rule', `datasource variable of type '${queryOf(v)}', should be 'prometheus'`);
  }

  // template-job-rule, template-instance-rule (and the same allValue for every multi-value query variable)
  for (const name of ['job', 'instance']) {
    const rule = `template-${name}-rule`;
    const v = vars.find((x) => x.name === name);
    if (v === undefined) {
      report(rule, `missing the ${name} variable`);
      continue;
    }
    if (!TEMPLATED_DS.has(uidOf(v.datasource) ?? '')) report(rule, `${name} variable uses datasource '${uidOf(v.datasource)}', not $datasource`);
    if (v.type !== 'query') report(rule, `${name} variable is a '${v.type}', not a query`);
    const label = name[0]!.toUpperCase() + name.slice(1);
    if (v.label !== label) report(rule, `${name} variable labeled '${v.label}', should be '${label}'`);
    if (v.multi !== true) report(rule, `${name} variable is not multi-select`);
  }
  for (const v of vars.filter((x) => x.type === 'query' && (x.multi === true || x.includeAll === true))) {
    const rule = ['job', 'instance'].includes(v.name) ? `template-${v.name}-rule` : 'template-job-rule (any multi-value variable)';
    if (v.allValue !== '.+') report(rule, `${v.name} variable allValue is '${v.allValue}', should be '.+'`);
    if (v.includeAll !== true) report(rule, `${v.name} variable has no "All" option`);
  }

  for (const v of vars.filter((x) => x.type === 'query')) {
    // template-label-promql-rule
    const q = queryOf(v);
    const m = /^\s*([a-z_]+)\((.*)\)\s*$/s.exec(q);
    if (m === null || !LABEL_FUNCTIONS.has(m[1]!)) {
      report('template-label-promql-rule', `variable ${v.name}: '${q}' is not one of ${[...LABEL_FUNCTIONS].join(', ')}(...)`);
    } else if (m[1] === 'label_values') {
      const lv = /^(.*?)(?:,\s*([A-Za-z_][A-Za-z0-9_]*))?\s*$/s.exec(m[2]!)!;
      const metricExpr = lv[2] === undefined ? undefined : lv[1]!;
      if (lv[2] === undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(m[2]!.trim())) report('template-label-promql-rule', `variable ${v.name}: label_values needs a label name: '${q}'`);
      if (metricExpr !== undefined) {
        const { error } = parse(expand(metricExpr, vars));
        if (error !== undefined) report('template-label-promql-rule', `variable ${v.name}: invalid PromQL in '${q}': ${error}`);
      }
    }
    if (!TEMPLATED_DS.has(uidOf(v.datasource) ?? '')) report('template-label-promql-rule', `variable ${v.name} does not query $datasource`);
    // template-on-time-change-reload-rule
    if (v.refresh !== 2) report('template-on-time-change-reload-rule', `variable ${v.name} refresh is ${v.refresh}, should be 2 (on time range change)`);
  }

  // uneditable-dashboard
  if (d.editable !== false) report('uneditable-dashboard', 'is editable, should be editable: false');

  for (const p of allPanels(d.panels).filter((x) => x.type !== 'row')) {
    const where = `panel "${p.title ?? p.id}"`;
    // panel-datasource-rule
    if (!TEMPLATED_DS.has(uidOf(p.datasource) ?? '')) report('panel-datasource-rule', `${where} uses datasource '${uidOf(p.datasource)}', not $datasource`);
    // panel-title-description-rule
    if (!p.title || !p.description) report('panel-title-description-rule', `${where} has no title or no description`);
    // panel-units-rule (overrides win, as in the linter)
    const overrideUnit = (p.fieldConfig?.overrides ?? []).flatMap((o) => o.properties ?? []).filter((x) => x.id === 'unit').map((x) => String(x.value));
    for (const unit of [p.fieldConfig?.defaults?.unit ?? '', ...overrideUnit]) {
      if (!VALID_UNITS.has(unit)) report('panel-units-rule', `${where} has no or an invalid unit: '${unit}'`);
    }
    // panel-no-targets-rule
    const targets = p.targets ?? [];
    if (targets.length === 0) report('panel-no-targets-rule', `${where} has no targets`);

    for (const t of targets) {
      const tw = `${where}, target ${t.refId ?? '?'}`;
      if (!TEMPLATED_DS.has(uidOf(t.datasource) ?? '')) report('panel-datasource-rule', `${tw} uses datasource '${uidOf(t.datasource)}', not $datasource`);
      // target-promql-rule
      const expr = t.expr ?? '';
      if (expr.trim() === '') {
        report('target-promql-rule', `${tw} has an empty query`);
        continue;
      }
      const text = expand(expr, vars);
      const { top, error } = parse(text);
      if (error !== undefined) {
        report('target-promql-rule', `${tw}: invalid PromQL '${expr}': ${error}`);
        continue;
      }
      // target-rate-interval-rule
      for (const ms of nodesOf(top, 'MatrixSelector')) {
        const dur = ms.getChild('DurationExpr') ?? ms.lastChild;
        const range = dur ? text.slice(dur.from, dur.to) : '';
        if (range === RATE_INTERVAL_SAMPLE) continue;
        const fn = callOf(ms, text);
        if (fn === undefined) report('target-rate-interval-rule', `${tw}: range selector outside a function in '${expr}'`);
        else if (fn === 'rate' || fn === 'irate') report('target-rate-interval-rule', `${tw}: ${fn}() should use $__rate_interval in '${expr}'`);
      }
      for (const s of selectors(top, text)) {
        // target-job-rule, target-instance-rule
        for (const label of ['job', 'instance']) {
          if (!s.matchers.some((m) => m.label === label && m.op === '=~' && m.value === `$${label}`)) {
            report(`target-${label}-rule`, `${tw}: selector ${s.name ?? '{...}'} has no ${label}=~"$${label}" in '${expr}'`);
          }
        }
        // target-counter-agg-rule
        if (s.name?.endsWith('_total')) {
          const ms = s.node.parent;
          const fn = ms?.name === 'MatrixSelector' ? callOf(ms, text) : undefined;
          if (!['rate', 'irate', 'increase'].includes(fn ?? '')) report('target-counter-agg-rule', `${tw}: counter ${s.name} is not aggregated with rate, irate or increase in '${expr}'`);
        }
      }
    }
  }
  return problems;
}

