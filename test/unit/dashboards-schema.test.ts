/**
 * The generated dashboards, type-checked against Grafana's own schema (@grafana/schema, pinned to
 * the Grafana version docker-compose.yml runs): each dashboard becomes a TypeScript module in which
 * the dashboard JSON is a `Dashboard`, and each panel's `options` and `fieldConfig.defaults.custom`
 * are the `Options` / `FieldConfig` of that panel plugin's schema. The TypeScript compiler then
 * rejects a field the schema does not know (excess property), a wrong type or enum value, and a
 * missing required field, as Grafana's schema validation would.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import type { Dashboard, Panel } from '../../bundle/dashboards/grafana';

const root = path.join(__dirname, '..', '..');
const DIR = path.join(root, 'grafana', 'dashboards');
const SCHEMA_PKG = path.join(root, 'node_modules', '@grafana', 'schema', 'package.json');

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

const dashboards: [string, Dashboard][] = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()
  .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(path.join(DIR, f), 'utf8')) as Dashboard]);

jest.setTimeout(120_000);

describe('dashboards against @grafana/schema', () => {
  const pkg = JSON.parse(readFileSync(SCHEMA_PKG, 'utf8')) as { version: string };

  it('pins the schema of the Grafana that docker-compose.yml runs', () => {
    const compose = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
    const tag = /image:\s*grafana\/grafana(?:-oss)?:(\S+)/.exec(compose)?.[1];
    expect(tag).toBe(pkg.version);
    const devDeps = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;
    expect(devDeps['@grafana/schema']).toBe(pkg.version);
  });

  it('use the schema version of that Grafana (no migration on load)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const schema = require('@grafana/schema') as { defaultDashboard: { schemaVersion: number } };
    for (const [, d] of dashboards) expect(d.schemaVersion).toBe(schema.defaultDashboard.schemaVersion);
  });

  it('type-check: every dashboard, panel options and custom field config', () => {
    expect(dashboards.length).toBeGreaterThanOrEqual(6);
    const errors = typeErrors(Object.fromEntries(dashboards.map(([name, d]) => [name, schemaModule(d)])));
    expect(errors).toEqual([]);
  });

  it('would reject a field Grafana dropped (table options.footer), an unknown enum value and an unknown mapping type', () => {
    const withPanel = (type: string): [string, Dashboard, Panel] => {
      const [name, d] = dashboards.find(([, x]) => x.panels.some((p) => p.type === type))!;
      const broken = structuredClone(d);
      return [name, broken, broken.panels.find((p): p is Panel => p.type === type)!];
    };
    const [tName, tDash, table] = withPanel('table');
    table.options = { ...table.options, footer: { show: false, reducer: ['sum'], countRows: false } };
    table.fieldConfig.defaults.mappings = [{ type: 'nonsense', options: {} } as never];
    const [sName, sDash, stat] = withPanel('stat');
    stat.options = { ...stat.options, colorMode: 'sparkly' };
    const errors = typeErrors({ [tName]: schemaModule(tDash), [`${sName}-2`]: schemaModule(sDash) }).join('\n');
    expect(errors).toMatch(/footer/);
    expect(errors).toMatch(/nonsense/);
    expect(errors).toMatch(/sparkly/);
  });
});
