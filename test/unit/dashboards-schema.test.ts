/**
 * The generated dashboards, type-checked against Grafana's own schema (test/harness/grafana-schema.ts)
 * of the Grafana version docker-compose.yml runs, as Grafana's schema validation would check them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Dashboard, Panel } from '../../src/bundle/dashboards/grafana';
import { schemaModule, typeErrors } from '../harness/grafana-schema';

const root = path.join(__dirname, '..', '..');
const DIR = path.join(root, 'grafana', 'dashboards');
const SCHEMA_PKG = path.join(root, 'node_modules', '@grafana', 'schema', 'package.json');

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
