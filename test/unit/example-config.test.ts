import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { loadConfigFile } from '../../src/config/load';
import { configSchema } from '../../src/config/schema';

const EXAMPLE = path.join(__dirname, '..', '..', 'stackwatch.example.yml');

/** Every key path the schema accepts, arrays written as `[]`, e.g. `http[].json.status`. */
function keyPaths(schema: z.core.$ZodType, prefix = ''): string[] {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'object': {
      const shape = def.shape as Record<string, z.core.$ZodType>;
      return Object.entries(shape).flatMap(([k, v]) => {
        const p = prefix === '' ? k : `${prefix}.${k}`;
        return [p, ...keyPaths(v, p)];
      });
    }
    case 'array': return keyPaths(def.element as z.core.$ZodType, `${prefix}[]`);
    case 'optional': case 'default': case 'prefault': case 'nullable': case 'readonly':
      return keyPaths(def.innerType as z.core.$ZodType, prefix);
    case 'pipe': return keyPaths(def.in as z.core.$ZodType, prefix);
    case 'union': return (def.options as z.core.$ZodType[]).flatMap((o) => keyPaths(o, prefix));
    default: return [];
  }
}

/** Key paths present in a parsed YAML document (same notation). */
function docPaths(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((e) => docPaths(e, `${prefix}[]`));
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, val]) => {
    const p = prefix === '' ? k : `${prefix}.${k}`;
    return [p, ...docPaths(val, p)];
  });
}

describe('stackwatch.example.yml', () => {
  it('is a valid configuration', () => {
    const c = loadConfigFile(EXAMPLE, { MQTT_USER: 'stackwatch', MQTT_PASSWORD: 'x', BACKEND_TOKEN: 't' });
    expect(c.http.length).toBeGreaterThan(0);
  });

  it('shows every key the schema accepts (uncommented or in a comment)', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    // Commented-out keys count: strip the comment marker and parse what is left line by line.
    const uncommented = text.split('\n').map((l) => l.replace(/^(\s*)# ?(\s*)(?=[\w-]+:|- )/, '$1$2')).join('\n');
    const shown = new Set(docPaths(YAML.parse(uncommented)));
    // Map and record keys (headers, fields, labels, status strings) are free-form: skip below them.
    const missing = [...new Set(keyPaths(configSchema))].filter((p) => !shown.has(p));
    expect(missing).toEqual([]);
  });
});
