/**
 * Type-checks generated Grafana dashboards against Grafana's own schema (@grafana/schema, pinned to
 * the Grafana version docker-compose.yml runs): each dashboard becomes a TypeScript module in which
 * the dashboard JSON is a `Dashboard`, and each panel's `options` and `fieldConfig.defaults.custom`
 * are the `Options` / `FieldConfig` of that panel plugin's schema. The TypeScript compiler then
 * rejects a field the schema does not know (excess property), a wrong type or enum value, and a
 * missing required field.
 */
import path from 'node:path';
import ts from 'typescript';
import type { Dashboard } from '../../src/bundle/dashboards/grafana';

const root = path.join(__dirname, '..', '..');

/** Panel type -> the schema module holding its `Options` and (if it has custom field options) `FieldConfig`. */
const PANEL_CFG: Record<string, { module: string; fieldConfig: boolean }> = {
  table: { module: 'table/panelcfg/x/TablePanelCfg_types.gen', fieldConfig: true },
  timeseries: { module: 'timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen', fieldConfig: true },
  stat: { module: 'stat/panelcfg/x/StatPanelCfg_types.gen', fieldConfig: false },
  gauge: { module: 'gauge/panelcfg/x/GaugePanelCfg_types.gen', fieldConfig: false },
  bargauge: { module: 'bargauge/panelcfg/x/BarGaugePanelCfg_types.gen', fieldConfig: false },
  'state-timeline': { module: 'statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen', fieldConfig: true },
  heatmap: { module: 'heatmap/panelcfg/x/HeatmapPanelCfg_types.gen', fieldConfig: true },
};

/**
 * JSON cannot hold a TypeScript enum member, only its value: `Json<T>` is T with every string
 * enum replaced by the union of its values (numeric enums already accept their numbers).
 * Everything else, including excess-property checks, stays as strict as T.
 */
const PRELUDE = `
type Json<T> =
  T extends string ? (string extends T ? string : \`\${T}\`)
  : T extends readonly (infer U)[] ? Json<U>[]
  : T extends object ? { [K in keyof T]: Json<T[K]> }
  : T;
`;

const ident = (s: string): string => s.replace(/[^A-Za-z0-9]/g, '_');

/** One module per dashboard: the dashboard, then each panel's options and custom field config. */
export function schemaModule(d: Dashboard): string {
  const imports = new Set<string>();
  const lines: string[] = [`export const dashboard: Json<Dashboard> = ${JSON.stringify(d, null, 2)};`];
  for (const p of d.panels) {
    if (p.type === 'row') continue;
    const cfg = PANEL_CFG[p.type];
    if (cfg === undefined) throw new Error(`panel "${p.title}": no schema known for panel type ${p.type}; add it to PANEL_CFG`);
    const ns = ident(p.type);
    imports.add(`import type * as ${ns} from '@grafana/schema/dist/esm/raw/composable/${cfg.module}';`);
    lines.push(`// panel ${p.id}: ${p.title.replace(/\n/g, ' ')}`);
    lines.push(`export const options_${p.id}: Json<${ns}.Options> = ${JSON.stringify(p.options)};`);
    const custom = p.fieldConfig.defaults.custom;
    if (cfg.fieldConfig) {
      lines.push(`export const custom_${p.id}: Json<Partial<${ns}.FieldConfig>> = ${JSON.stringify(custom ?? {})};`);
    } else if (custom !== undefined) {
      lines.push(`export const custom_${p.id}: Record<string, never> = ${JSON.stringify(custom)};`);
    }
  }
  return [`import type { Dashboard } from '@grafana/schema';`, ...imports, PRELUDE, ...lines].join('\n');
}

/** Compiles the given modules (in memory, resolved from the repository's node_modules); returns the errors. */
export function typeErrors(modules: Record<string, string>): string[] {
  const dir = path.join(root, 'test', '.schema-check');
  const files = Object.fromEntries(Object.entries(modules).map(([name, src]) => [path.join(dir, `${name}.ts`), src]));
  const options: ts.CompilerOptions = {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, types: [],
  };
  const disk = ts.createCompilerHost(options);
  const host: ts.CompilerHost = {
    ...disk,
    getSourceFile: (name, lang, ...rest) => (name in files ? ts.createSourceFile(name, files[name]!, lang) : disk.getSourceFile(name, lang, ...rest)),
    fileExists: (name) => name in files || disk.fileExists(name),
    readFile: (name) => files[name] ?? disk.readFile(name),
  };
  const program = ts.createProgram(Object.keys(files), options, host);
  return ts.getPreEmitDiagnostics(program).map((diag) => {
    const where = diag.file && diag.start !== undefined ? (() => {
      const { line } = diag.file.getLineAndCharacterOfPosition(diag.start);
      return `${path.basename(diag.file.fileName)}:${line + 1}: ${diag.file.text.split('\n')[line]?.trim().slice(0, 120)}`;
    })() : '';
    return `${where}\n  ${ts.flattenDiagnosticMessageText(diag.messageText, '\n  ')}`;
  });
}

