import Module from 'node:module';
import path from 'node:path';

/**
 * Keeps the daemon's libraries from loading parts it never uses, by putting a stand-in for a
 * library file into the module cache before anything requires it. Imported first by main.ts, so
 * the stand-ins are in place before prom-client or zod load (tests load the real files):
 *  - zod's table of 60 locales (`z.locales`, 420 KB of source): stackwatch never selects a
 *    locale; its messages come from the English one, which zod loads by itself;
 *  - `@opentelemetry/api` (51 modules), which prom-client requires for exemplars of its CPU
 *    counters; stackwatch enables no exemplars, and without an OpenTelemetry SDK the API has no
 *    span to give: the stand-in gives none either.
 * Together about 2 MB of RSS and 110 modules (docs/benchmarks.md, idle daemon). The collectors'
 * libraries are loaded only when a config uses them (collectors/index.ts); dockerode's stand-ins
 * are in collectors/docker-require.ts.
 */

/** The id of the stand-in for `filename` (a loaded file's id is its filename). */
export const standInId = (filename: string): string => `stand-in:${filename}`;

/** Puts `value` into the module cache as the exports of the file `filename`; a file already loaded stays. */
export function standIn(filename: string, value: unknown): void {
  if (require.cache[filename] !== undefined) return;
  const m = new Module(standInId(filename));
  m.filename = filename;
  m.loaded = true;
  m.exports = value;
  require.cache[filename] = m;
}

/** Installs the stand-ins above; safe to call more than once. */
export function installLeanModules(): void {
  standIn(path.join(path.dirname(require.resolve('zod/package.json')), 'v4', 'locales', 'index.cjs'), {});
  const noSpan = { trace: { getSpan: (): undefined => undefined }, context: { active: (): undefined => undefined } };
  standIn(require.resolve('@opentelemetry/api', { paths: [path.dirname(require.resolve('prom-client/package.json'))] }), noSpan);
}

installLeanModules();
