/**
 * Read positions across an exporter restart (with a data directory) and a config reload: lines
 * written while the exporter was down are counted once, lines already counted are not again.
 */
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { AvailabilityTracker } from '../../src/availability';
import type { CollectorContext } from '../../src/collectors/collector';
import { LogsCollector } from '../../src/collectors/logs';
import { CollectorStats } from '../../src/collectors/collector-stats';
import { validate } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { startExporter } from '../harness/exporter';
import { Metrics } from '../harness/prom-text';
import { waitFor } from '../harness/wait';

let dir: string;
beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'sw-logpos-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const line = (i: number, status = 200): string => `127.0.0.1 - - [25/Nov/2026:22:00:01 +0000] "GET /api/health?i=${i} HTTP/1.1" ${status} 2 "-" "t"\n`;
const lines = (from: number, to: number): string => Array.from({ length: to - from }, (_, k) => line(from + k)).join('');

/** One exporter lifetime: a fresh registry (counters start at 0, as after a restart). */
function lifetime(file: string, dataDir: string | undefined): { collector: { start(): Promise<void>; stop(): Promise<void> }; count: () => Promise<number> } {
  const registry = new Registry();
  const clock = (): number => Date.now() / 1000;
  const ctx: CollectorContext = {
    registry, clock, log: silentLogger(), tracker: new AvailabilityTracker(registry, clock), stats: new CollectorStats(registry, clock),
    ...(dataDir !== undefined ? { dataDir } : {}),
  };
  const config = validate({ logs: [{ name: 'proxy', path: file, routes: { health: '^/api/health' }, poll_interval: '100ms' }] }, '<test>');
  const c = new LogsCollector(ctx);
  const collector = { start: () => c.apply(config.logs), stop: () => c.stop() };
  const count = async (): Promise<number> => Metrics.parse(await registry.metrics())
    .all('stackwatch_log_requests_total', { source: 'proxy' }).reduce((a, s) => a + s.value, 0);
  return { collector, count };
}

describe('log positions', () => {
  it('survive a restart through the data directory: nothing lost while down, nothing counted twice', async () => {
    const file = path.join(dir, 'access.log');
    const data = path.join(dir, 'data');
    writeFileSync(file, lines(0, 5)); // before the first start: skipped (start_at end)
    const first = lifetime(file, data);
    await first.collector.start();
    appendFileSync(file, lines(5, 15));
    await waitFor('10 lines', async () => (await first.count()) === 10, 5000);
    await first.collector.stop();
    const saved = JSON.parse(readFileSync(path.join(data, 'log-positions.json'), 'utf8')) as { version: number; sources: Record<string, { offset: number }[]> };
    expect(saved.version).toBe(1);
    expect(saved.sources.proxy![0]!.offset).toBe(Buffer.byteLength(lines(0, 15)));

    // Down: 7 more lines, then logrotate renames the file and a new one gets 3.
    appendFileSync(file, lines(15, 22));
    renameSync(file, `${file}.1`);
    writeFileSync(file, lines(22, 25));
    const second = lifetime(file, data);
    await second.collector.start();
    await waitFor('10 lines after the restart', async () => (await second.count()) === 10, 5000);
    appendFileSync(file, lines(25, 26));
    await waitFor('one more', async () => (await second.count()) === 11, 5000);
    await second.collector.stop();
  });

  it('without a data directory, live in memory only: a restart starts at the end again', async () => {
    const file = path.join(dir, 'access.log');
    writeFileSync(file, '');
    const first = lifetime(file, undefined);
    await first.collector.start();
    appendFileSync(file, lines(0, 3));
    await waitFor('3 lines', async () => (await first.count()) === 3, 5000);
    await first.collector.stop();
    appendFileSync(file, lines(3, 6));
    const second = lifetime(file, undefined);
    await second.collector.start();
    appendFileSync(file, lines(6, 7));
    await waitFor('the new line', async () => (await second.count()) === 1, 5000);
    await second.collector.stop();
  });

  it('carry over a reload that changes the source: lines written while the old reader stops and the new one starts are counted once', async () => {
    const file = path.join(dir, 'access.log');
    writeFileSync(file, '');
    const source = { name: 'proxy', path: file, routes: { health: '^/api/health' }, poll_interval: '100ms' };
    const raw = { logs: [source] };
    // The reloaded source polls at another rate: it is replaced, and continues from the position.
    const ex = await startExporter(raw, { loadConfig: () => validate({ logs: [{ ...source, poll_interval: '150ms' }], server: { listen: '127.0.0.1:0' } }, '<test>') });
    try {
      const n = async (): Promise<number> => (await ex.scrape()).all('stackwatch_log_requests_total', { source: 'proxy' }).reduce((a, s) => a + s.value, 0);
      appendFileSync(file, lines(0, 4));
      await waitFor('4 lines', async () => (await n()) === 4, 5000);
      const reload = ex.app.reload();
      appendFileSync(file, lines(4, 8));
      expect(await reload).toBeUndefined();
      appendFileSync(file, lines(8, 10));
      await waitFor('10 lines', async () => (await n()) === 10, 5000);
      await new Promise((r) => setTimeout(r, 500));
      expect(await n()).toBe(10);
    } finally {
      await ex.stop();
    }
  });

  it('a source removed by a reload leaves the output (its series and its traffic target); the one kept keeps its counts', async () => {
    const a = path.join(dir, 'a.log');
    const b = path.join(dir, 'b.log');
    writeFileSync(a, '');
    writeFileSync(b, '');
    const src = (name: string, file: string) => ({ name, path: file, poll_interval: '100ms', traffic: { window: '5s', interval: '200ms', min_requests: 1 } });
    let raw: Record<string, unknown> = { logs: [src('a', a), src('b', b)] };
    const ex = await startExporter(raw, { loadConfig: () => validate({ ...raw, server: { listen: '127.0.0.1:0' } }, '<test>') });
    try {
      appendFileSync(a, lines(0, 2));
      appendFileSync(b, lines(0, 3));
      await waitFor('both counted', async () => {
        const m = await ex.scrape();
        return m.get('stackwatch_log_requests_total', { source: 'a', route: 'other', method: 'GET', code: '2xx' }) === 2
          && m.get('stackwatch_log_requests_total', { source: 'b', route: 'other', method: 'GET', code: '2xx' }) === 3
          && m.get('stackwatch_target_up', { kind: 'traffic', target: 'b' }) === 1;
      }, 5000);
      raw = { logs: [src('a', a)] };
      expect(await ex.app.reload()).toBeUndefined();
      const m = await ex.scrape();
      expect(m.all('stackwatch_log_requests_total', { source: 'b' })).toEqual([]);
      expect(m.all('stackwatch_log_parse_failures_total', { source: 'b' })).toEqual([]);
      expect(m.all('stackwatch_target_up', { kind: 'traffic', target: 'b' })).toEqual([]);
      expect(m.get('stackwatch_log_requests_total', { source: 'a', route: 'other', method: 'GET', code: '2xx' })).toBe(2);
      appendFileSync(a, lines(2, 3));
      await waitFor('a goes on', async () => (await ex.scrape()).get('stackwatch_log_requests_total', { source: 'a', route: 'other', method: 'GET', code: '2xx' }) === 3, 5000);
    } finally {
      await ex.stop();
    }
  });

  it('export the upstream each source fronts, and follow it across a reload (the old value leaves the output)', async () => {
    const a = path.join(dir, 'up.log');
    writeFileSync(a, '');
    let raw: Record<string, unknown> = { logs: [{ name: 'proxy', path: a, upstream: 'backend' }, { name: 'edge', path: a }] };
    const ex = await startExporter(raw, { loadConfig: () => validate({ ...raw, server: { listen: '127.0.0.1:0' } }, '<test>') });
    try {
      let m = await ex.scrape();
      expect(m.get('stackwatch_log_source_info', { source: 'proxy', upstream: 'backend' })).toBe(1);
      expect(m.all('stackwatch_log_source_info', { source: 'edge' })).toHaveLength(1);
      expect(m.get('stackwatch_log_source_info', { source: 'edge', upstream: '' })).toBe(1);
      raw = { logs: [{ name: 'proxy', path: a, upstream: 'api' }] };
      expect(await ex.app.reload()).toBeUndefined();
      m = await ex.scrape();
      expect(m.all('stackwatch_log_source_info', { source: 'proxy' })).toHaveLength(1);
      expect(m.get('stackwatch_log_source_info', { source: 'proxy', upstream: 'api' })).toBe(1);
      expect(m.all('stackwatch_log_source_info', { source: 'edge' })).toEqual([]);
    } finally {
      await ex.stop();
    }
  });

  it('route patterns that are not literals (behind the path memo) and literal ones label requests the same way', async () => {
    const a = path.join(dir, 'routes.log');
    writeFileSync(a, '');
    const raw = { logs: [{ name: 'r', path: a, poll_interval: '100ms', routes: { item: '^/api/items/\\d+$', api: '^/api/', js: '\\.js$' } }] };
    const ex = await startExporter(raw);
    try {
      const req = (p: string): string => `127.0.0.1 - - [25/Nov/2026:22:00:01 +0000] "GET ${p} HTTP/1.1" 200 2 "-" "t"\n`;
      const paths = ['/api/items/1', '/api/items/1', '/api/items/x', '/api/items/22?q=1', '/app.js', '/app.js?v=2', '/', '/api/items/1'];
      appendFileSync(a, paths.map(req).join(''));
      const count = (route: string) => async () => (await ex.scrape()).get('stackwatch_log_requests_total', { source: 'r', route, method: 'GET', code: '2xx' });
      await waitFor('all counted', async () => (await count('item')()) === 4, 5000);
      expect(await count('api')()).toBe(1);
      expect(await count('js')()).toBe(2);
      expect(await count('other')()).toBe(1);
    } finally {
      await ex.stop();
    }
  });
});
