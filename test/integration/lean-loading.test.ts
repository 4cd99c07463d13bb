/**
 * The built daemon loads only what its config uses: the collectors' libraries (dockerode, mqtt,
 * systeminformation) and modules when a section asks for them, and never the library parts
 * stackwatch has no use for (src/lean-modules.ts, src/collectors/docker-require.ts). Each of
 * these weighs on the RSS of every daemon (docs/benchmarks.md, idle daemon).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBuiltDaemon } from '../harness/built-daemon';
import { closedPort } from '../harness/ports';
import { ProcessSet } from '../harness/processes';

jest.setTimeout(60_000);

const procs = new ProcessSet();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-lean-'));
afterAll(async () => {
  await procs.killAll();
  rmSync(tmp, { recursive: true, force: true });
});

/** The files the built daemon with `config` had loaded when it stopped (after one scrape). */
async function loadedModules(name: string, config: Record<string, unknown>): Promise<string[]> {
  const file = path.join(tmp, `${name}.txt`);
  const d = await startBuiltDaemon(procs, config, {
    nodeArgs: ['--max-semi-space-size=1', '-r', path.join(__dirname, '..', 'fixtures', 'dump-modules.js')],
    env: { STACKWATCH_TEST_MODULES_FILE: file },
  });
  await d.scrape();
  await d.stop();
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

/** Whether a file of package `pkg` (or stackwatch's own `dist/<pkg>`) was loaded; stand-ins do not count. */
const has = (files: readonly string[], pkg: string): boolean =>
  files.some((f) => !f.startsWith('stand-in:') && (f.includes(`/node_modules/${pkg}/`) || f.endsWith(`/dist/${pkg}`)));

/** Whether a library file (`undici/index.js`) or a file under a library folder (`undici/lib/web/`) was loaded. */
const hasFile = (files: readonly string[], part: string): boolean =>
  files.some((f) => !f.startsWith('stand-in:') && f.includes(`/node_modules/${part}`));

test('an empty config loads no collector, no collector library and no unused library part', async () => {
  const files = await loadedModules('empty', { docker: { enabled: false } });
  expect(has(files, 'prom-client')).toBe(true); // the dump itself works
  for (const pkg of ['dockerode', 'docker-modem', 'mqtt', 'systeminformation', 'ssh2', '@opentelemetry/api', 'undici',
    'collectors/http.js', 'collectors/docker.js', 'collectors/mqtt.js', 'collectors/process.js', 'collectors/logs.js']) {
    expect({ pkg, loaded: has(files, pkg) }).toEqual({ pkg, loaded: false });
  }
  // zod's English messages, none of its other locales: their table is a stand-in, as is the
  // OpenTelemetry API prom-client asks for.
  const locales = files.filter((f) => f.includes('/node_modules/zod/v4/locales/')).map((f) => `${f.startsWith('stand-in:') ? 'stand-in:' : ''}${path.basename(f)}`);
  expect(locales.sort()).toEqual(['en.cjs', 'stand-in:index.cjs']);
  expect(files.filter((f) => f.includes('/node_modules/@opentelemetry/api/'))).toEqual([expect.stringMatching(/^stand-in:/)]);
});

test('a section that asks for a collector loads its library, without the parts stackwatch never uses', async () => {
  const port = await closedPort();
  const files = await loadedModules('docker-mqtt', {
    docker: { enabled: true, host: `unix://${path.join(tmp, 'no-docker.sock')}` },
    mqtt: [{ name: 'broker', url: `mqtt://127.0.0.1:${port}` }],
  });
  expect(has(files, 'dockerode')).toBe(true);
  expect(has(files, 'mqtt')).toBe(true);
  expect(has(files, 'collectors/docker.js')).toBe(true);
  expect(has(files, 'ssh2')).toBe(false);
  expect(has(files, '@grpc/grpc-js')).toBe(false);
  expect(has(files, 'systeminformation')).toBe(false);
  expect(has(files, 'collectors/http.js')).toBe(false);
  // docker and mqtt share the probe module's URL redaction, not its HTTP client.
  expect(has(files, 'undici')).toBe(false);
});

test('an HTTP target loads the HTTP collector and undici\'s client alone, and no other collector library', async () => {
  const port = await closedPort();
  const files = await loadedModules('http', { docker: { enabled: false }, http: [{ name: 'api', url: `http://127.0.0.1:${port}/health` }] });
  expect(has(files, 'collectors/http.js')).toBe(true);
  expect(hasFile(files, 'undici/lib/dispatcher/client.js')).toBe(true);
  // Not its index, fetch, WebSocket, caches, mocks or proxy agents (109 modules against about 25).
  for (const part of ['undici/index.js', 'undici/lib/web/', 'undici/lib/mock/', 'undici/lib/cache/', 'undici/lib/dispatcher/proxy-agent.js']) {
    expect({ part, loaded: hasFile(files, part) }).toEqual({ part, loaded: false });
  }
  expect(files.filter((f) => f.includes('/node_modules/undici/')).length).toBeLessThan(35);
  for (const pkg of ['dockerode', 'mqtt', 'systeminformation']) expect({ pkg, loaded: has(files, pkg) }).toEqual({ pkg, loaded: false });
});

test('processes load systeminformation\'s host facts module alone', async () => {
  const files = await loadedModules('processes', { docker: { enabled: false }, process_discovery: { enabled: true } });
  expect(has(files, 'collectors/process.js')).toBe(true);
  expect(hasFile(files, 'systeminformation/lib/osinfo.js')).toBe(true);
  // Not its index and the other modules the index loads (cpu, graphics, docker, processes, ...).
  for (const part of ['systeminformation/lib/index.js', 'systeminformation/lib/cpu.js', 'systeminformation/lib/graphics.js', 'systeminformation/lib/docker.js', 'systeminformation/lib/processes.js']) {
    expect({ part, loaded: hasFile(files, part) }).toEqual({ part, loaded: false });
  }
});
