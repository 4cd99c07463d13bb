/**
 * Typed Grafana dashboard JSON (schemaVersion 42, Grafana 12.4) and small builders.
 *
 * Only the parts of the schema the stackwatch dashboards use are typed; the generated JSON is
 * what Grafana itself writes when such a dashboard is saved (panels with gridPos, targets with
 * refId/expr/datasource, fieldConfig.defaults.unit, templating.list, ...), and
 * test/unit/dashboards-schema.test.ts type-checks it against @grafana/schema of the Grafana
 * version docker-compose.yml runs. test/unit/dashboards-lint.test.ts applies Grafana's
 * dashboard-linter rules (templated datasource, job/instance variables, $__rate_interval, ...).
 */

import { runbookAnchor } from '../alerts';
import { type Matcher, withMatchers } from './promql';

export const SCHEMA_VERSION = 42;

export interface DatasourceRef {
  type: 'prometheus';
  uid: string;
}

/** Every panel and query uses the dashboard's `datasource` variable. */
export const DS: DatasourceRef = { type: 'prometheus', uid: '${datasource}' };

export interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}

export interface Target {
  refId: string;
  datasource: DatasourceRef;
  expr: string;
  legendFormat: string;
  /** `time_series` for graphs, `table` for tables, `heatmap` for bucket series (sorted by le). */
  format: 'time_series' | 'table' | 'heatmap';
  instant: boolean;
  range: boolean;
  editorMode: 'code';
  interval?: string;
}

/**
 * A panel link. Grafana renders title / url / targetBlank; its schema types panel links as
 * dashboard links, so the other dashboard-link fields are present too (with inert values).
 */
export interface PanelLink {
  title: string;
  url: string;
  targetBlank: boolean;
  type: 'link';
  icon: string;
  tooltip: string;
  asDropdown: false;
  includeVars: false;
  keepTime: false;
  tags: [];
}

export interface ValueMapping {
  type: 'value';
  options: Record<string, { text: string; color: string; index: number }>;
}

export interface Thresholds {
  mode: 'absolute' | 'percentage';
  steps: { color: string; value: number | null }[];
}

export interface FieldDefaults {
  unit: string;
  decimals?: number;
  min?: number;
  max?: number;
  thresholds: Thresholds;
  mappings: ValueMapping[];
  color: { mode: string; fixedColor?: string };
  custom?: Record<string, unknown>;
}

export type PanelType = 'timeseries' | 'stat' | 'table' | 'state-timeline' | 'heatmap' | 'bargauge' | 'gauge';

export interface Panel {
  id: number;
  type: PanelType;
  title: string;
  description: string;
  datasource: DatasourceRef;
  gridPos: GridPos;
  fieldConfig: { defaults: FieldDefaults; overrides: unknown[] };
  options: Record<string, unknown>;
  targets: Target[];
  links: PanelLink[];
  transformations: { id: string; options: Record<string, unknown> }[];
  interval?: string;
  maxDataPoints?: number;
}

export interface RowPanel {
  id: number;
  type: 'row';
  title: string;
  collapsed: boolean;
  gridPos: GridPos;
  panels: [];
}

export type AnyPanel = Panel | RowPanel;

export interface VariableOption {
  text: string | string[];
  value: string | string[];
  selected: boolean;
}

export interface DatasourceVariable {
  type: 'datasource';
  name: 'datasource';
  label: string;
  query: 'prometheus';
  regex: string;
  hide: 0;
  refresh: 1;
  options: [];
  includeAll: false;
  multi: false;
}

export interface QueryVariable {
  type: 'query';
  name: string;
  label: string;
  description: string;
  datasource: DatasourceRef;
  query: { query: string; refId: string; qryType: 1 };
  /** 2: reload on time range change (a target that appears later shows up without a page reload). */
  refresh: 2;
  regex: string;
  sort: 1;
  multi: true;
  includeAll: true;
  /** "All" means "any non-empty value" (dashboard-linter's rule; `.*` would also match series without the label). */
  allValue: '.+';
  current: VariableOption;
  options: [];
  hide: 0;
}

export interface CustomVariable {
  type: 'custom';
  name: string;
  label: string;
  description: string;
  query: string;
  current: VariableOption;
  options: VariableOption[];
  multi: false;
  includeAll: false;
  hide: 0;
}

export interface TextboxVariable {
  type: 'textbox';
  name: string;
  label: string;
  description: string;
  query: string;
  current: VariableOption;
  options: VariableOption[];
  hide: 2;
}

export type Variable = DatasourceVariable | QueryVariable | CustomVariable | TextboxVariable;

export interface DashboardLink {
  title: string;
  type: 'dashboards' | 'link';
  tags: string[];
  asDropdown: boolean;
  includeVars: boolean;
  keepTime: boolean;
  targetBlank: boolean;
  icon: string;
  url: string;
  tooltip: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  timezone: 'browser';
  /** Provisioned from generated files: edits in the UI would be lost, so the dashboards are read-only. */
  editable: false;
  graphTooltip: 1;
  schemaVersion: number;
  version: 1;
  refresh: string;
  time: { from: string; to: string };
  timepicker: Record<string, never>;
  fiscalYearStartMonth: 0;
  liveNow: false;
  weekStart: '';
  id: null;
  annotations: { list: unknown[] };
  templating: { list: Variable[] };
  links: DashboardLink[];
  panels: AnyPanel[];
}

// ---------------------------------------------------------------------------------------------
// Variables

export function datasourceVariable(): DatasourceVariable {
  return {
    type: 'datasource', name: 'datasource', label: 'Data source', query: 'prometheus', regex: '',
    hide: 0, refresh: 1, options: [], includeAll: false, multi: false,
  };
}

const ALL: VariableOption = { text: ['All'], value: ['$__all'], selected: true };

/** A multi-value label_values() variable with "All" meaning `.+` (any value). */
export function queryVariable(name: string, label: string, description: string, query: string): QueryVariable {
  return {
    type: 'query', name, label, description, datasource: DS,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
    refresh: 2, regex: '', sort: 1, multi: true, includeAll: true, allValue: '.+',
    current: { ...ALL }, options: [], hide: 0,
  };
}

export function customVariable(name: string, label: string, description: string, values: readonly string[], selected: string): CustomVariable {
  return {
    type: 'custom', name, label, description, query: values.join(','),
    current: { text: selected, value: selected, selected: true },
    options: values.map((v) => ({ text: v, value: v, selected: v === selected })),
    multi: false, includeAll: false, hide: 0,
  };
}

/** A hidden text variable (settable from the URL, `?var-name=...`, or when editing). */
export function hiddenTextVariable(name: string, label: string, description: string, value: string): TextboxVariable {
  return {
    type: 'textbox', name, label, description, query: value,
    current: { text: value, value, selected: false },
    options: [{ text: value, value, selected: true }], hide: 2,
  };
}

// ---------------------------------------------------------------------------------------------
// Panels

export interface QuerySpec {
  expr: string;
  legend?: string;
  /** Instant query (tables, stats of "now", bar gauges over the range). */
  instant?: boolean;
  format?: Target['format'];
}

export interface PanelSpec {
  type: PanelType;
  title: string;
  description: string;
  unit: string;
  queries: QuerySpec[];
  /** Width in grid columns (of 24); default 12. */
  w?: number;
  /** Height in grid rows; default 8. */
  h?: number;
  decimals?: number;
  min?: number;
  max?: number;
  thresholds?: { color: string; value: number | null }[];
  mappings?: ValueMapping[];
  /** Names of alerts (from the rules) whose runbook sections explain this panel. */
  runbook?: string[];
  options?: Record<string, unknown>;
  custom?: Record<string, unknown>;
  colorMode?: string;
  transformations?: Panel['transformations'];
  overrides?: unknown[];
}

export interface RowSpec {
  row: string;
  panels: PanelSpec[];
}

const GREEN_ONLY = [{ color: 'green', value: null }];

/** Value mapping for 0/1 gauges. */
export function boolMapping(zero: string, one: string, zeroColor = 'red', oneColor = 'green'): ValueMapping {
  return {
    type: 'value',
    options: { '0': { text: zero, color: zeroColor, index: 0 }, '1': { text: one, color: oneColor, index: 1 } },
  };
}

function defaultOptions(type: PanelType, spec: PanelSpec): Record<string, unknown> {
  switch (type) {
    case 'timeseries':
      return {
        legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'max'] },
        tooltip: { mode: 'multi', sort: 'desc' },
      };
    case 'stat':
      return {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'background', graphMode: 'none', justifyMode: 'auto', orientation: 'auto', textMode: 'auto',
        percentChangeColorMode: 'standard', showPercentChange: false, wideLayout: true,
      };
    case 'gauge':
      return {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, orientation: 'auto',
        showThresholdLabels: false, showThresholdMarkers: true, minVizHeight: 75, minVizWidth: 75, sizing: 'auto',
        shape: 'gauge', barShape: 'flat', barWidthFactor: 0.5, segmentCount: 1, segmentSpacing: 0.3, effects: {},
      };
    case 'bargauge':
      return {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        displayMode: 'gradient', orientation: 'horizontal', showUnfilled: true, valueMode: 'color', namePlacement: 'auto',
        sizing: 'auto', minVizHeight: 16, minVizWidth: 8, maxVizHeight: 300,
        legend: { displayMode: 'list', placement: 'bottom', showLegend: false, calcs: [] },
      };
    case 'table':
      // No `footer`: Grafana 12.4 moved table footers into the field config (and rejects the old option).
      return { showHeader: true, cellHeight: 'sm', frameIndex: 0 };
    case 'state-timeline':
      return {
        mergeValues: true, showValue: 'auto', alignValue: 'left', rowHeight: 0.9,
        legend: { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] },
        tooltip: { mode: 'single', sort: 'none' },
      };
    case 'heatmap':
      return {
        calculate: false,
        yAxis: { axisPlacement: 'left', unit: spec.unit },
        cellValues: { unit: 'none' },
        color: { mode: 'scheme', scheme: 'Oranges', fill: 'dark-orange', scale: 'exponential', exponent: 0.5, steps: 64, reverse: false },
        rowsFrame: { layout: 'le' },
        showValue: 'auto',
        tooltip: { mode: 'single', yHistogram: true },
        legend: { show: true },
        exemplars: { color: 'rgba(255,0,255,0.7)' },
        filterValues: { le: 1e-9 },
      };
  }
}

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export interface BuildContext {
  /** Runbook URL expression, e.g. `${runbook_url}`; an alert's anchor is appended. */
  runbookUrl: string;
  /** The exporter's series selector (the bundle config's `exporter.selector`): added to every query and variable query. */
  matchers: readonly Matcher[];
}

/** A variable's `label_values(<selector>, <label>)` query with the exporter's matchers added to its selector. */
export function variableQueryWithMatchers(query: string, matchers: readonly Matcher[]): string {
  const m = /^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/s.exec(query);
  if (m === null) throw new Error(`variable query is not label_values(selector, label): ${query}`);
  return `label_values(${withMatchers(m[1]!, matchers)}, ${m[2]!})`;
}


function buildPanel(spec: PanelSpec, id: number, gridPos: GridPos, ctx: BuildContext): Panel {
  const targets: Target[] = spec.queries.map((q, i) => {
    const instant = q.instant ?? (spec.type === 'table');
    return {
      refId: REF_IDS[i] ?? `Q${i}`,
      datasource: DS,
      expr: withMatchers(q.expr, ctx.matchers),
      legendFormat: q.legend ?? '__auto',
      format: q.format ?? (spec.type === 'table' ? 'table' : spec.type === 'heatmap' ? 'heatmap' : 'time_series'),
      instant,
      range: !instant,
      editorMode: 'code',
    };
  });
  const defaults: FieldDefaults = {
    unit: spec.unit,
    thresholds: { mode: 'absolute', steps: spec.thresholds ?? GREEN_ONLY },
    mappings: spec.mappings ?? [],
    color: spec.colorMode === 'fixed'
      ? { mode: 'fixed', fixedColor: 'blue' }
      : { mode: spec.colorMode ?? (spec.type === 'timeseries' ? 'palette-classic' : 'thresholds') },
  };
  if (spec.decimals !== undefined) defaults.decimals = spec.decimals;
  if (spec.min !== undefined) defaults.min = spec.min;
  if (spec.max !== undefined) defaults.max = spec.max;
  if (spec.type === 'timeseries') {
    defaults.custom = { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false, axisSoftMin: 0, ...spec.custom };
  } else if (spec.type === 'state-timeline') {
    defaults.custom = { fillOpacity: 80, lineWidth: 0, ...spec.custom };
  } else if (spec.custom) {
    defaults.custom = spec.custom;
  }
  return {
    id,
    type: spec.type,
    title: spec.title,
    description: spec.description,
    datasource: DS,
    gridPos,
    fieldConfig: { defaults, overrides: spec.overrides ?? [] },
    options: { ...defaultOptions(spec.type, spec), ...spec.options },
    targets,
    links: (spec.runbook ?? []).map((alert) => ({
      title: `Runbook: ${alert}`,
      url: `${ctx.runbookUrl}#${runbookAnchor(alert)}`,
      targetBlank: true,
      type: 'link', icon: 'doc', tooltip: `What ${alert} means and what to do`,
      asDropdown: false, includeVars: false, keepTime: false, tags: [],
    })),
    transformations: spec.transformations ?? [],
  };
}

/** Lays rows of panels out left to right, wrapping at 24 columns; ids are assigned in order. */
export function layout(rows: readonly RowSpec[], ctx: BuildContext): AnyPanel[] {
  const out: AnyPanel[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    out.push({ id: id++, type: 'row', title: row.row, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    let rowH = 0;
    for (const p of row.panels) {
      const w = p.w ?? 12;
      const h = p.h ?? 8;
      if (x + w > 24) {
        y += rowH;
        x = 0;
        rowH = 0;
      }
      out.push(buildPanel(p, id++, { h, w, x, y }, ctx));
      x += w;
      rowH = Math.max(rowH, h);
    }
    y += rowH;
  }
  return out;
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  variables: Variable[];
  rows: RowSpec[];
  time?: string;
}

export function dashboard(spec: DashboardSpec, ctx: BuildContext): Dashboard {
  return {
    id: null,
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: spec.tags,
    timezone: 'browser',
    editable: false,
    graphTooltip: 1,
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    refresh: '30s',
    time: { from: spec.time ?? 'now-6h', to: 'now' },
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    templating: {
      list: spec.variables.map((v) => (v.type === 'query' ? { ...v, query: { ...v.query, query: variableQueryWithMatchers(v.query.query, ctx.matchers) } } : v)),
    },
    links: [
      {
        title: 'stackwatch', type: 'dashboards', tags: ['stackwatch'], asDropdown: true, includeVars: true,
        keepTime: true, targetBlank: false, icon: 'external link', url: '', tooltip: 'Other stackwatch dashboards',
      },
      {
        title: 'Runbook', type: 'link', tags: [], asDropdown: false, includeVars: false, keepTime: false,
        targetBlank: true, icon: 'doc', url: ctx.runbookUrl, tooltip: 'What each stackwatch alert means and what to do',
      },
    ],
    panels: layout(spec.rows, ctx),
  };
}
