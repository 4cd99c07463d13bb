import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import express from 'express';
import { Registry } from 'prom-client';
import { AvailabilityTracker } from '../../src/availability';
import { DAY, HOUR } from '../../src/history';
import { silentLogger } from '../../src/log';
import { M } from '../../src/metrics/definitions';
import { gauge } from '../../src/metrics/instruments';
import { statusRoutes } from '../../src/status/routes';
import type { TrustPolicy } from '../../src/trust';

const schema = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'docs', 'status-api.schema.json'), 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addSchema(schema, 'api');
function expectShape(def: 'targets' | 'history', body: unknown): void {
  const validate = ajv.getSchema(`api#/definitions/${def}`)!;
  const ok = validate(body);
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
}

const NOW = 1_800_000_000;
let now = NOW - 40 * DAY;
const registry = new Registry();
const tracker = new AvailabilityTracker(registry, () => now);
/** The address requests appear to come from (set per test). */
let remote = '127.0.0.1';
let auth = false;
const trust: TrustPolicy = { authConfigured: () => auth };
let server: Server;
let base: string;

beforeAll(async () => {
  // 40 days: api up but for a 30 min outage 2 days ago and one going on for 5 min; worker always up
  // but degraded; a container; two process groups, one of them discovered.
  for (; now < NOW; now += 60) {
    const apiDown = (now >= NOW - 2 * DAY && now < NOW - 2 * DAY + 1800) || now >= NOW - 300;
    tracker.observe('http', 'api', !apiDown, { error: 'connect ECONNREFUSED 10.1.2.3:8080 (/etc/secret/path)', latencySeconds: 0.02 });
    tracker.observe('http', 'worker', true, { latencySeconds: 0.005 });
    tracker.observe('container', 'db', true);
    tracker.observe('process', 'nginx', true);
  }
  now = NOW;
  gauge(registry, M.healthStatus).set({ target: 'worker', status: 'degraded' }, 1);
  gauge(registry, M.healthStatus).set({ target: 'api', status: 'degraded' }, 0);
  gauge(registry, M.containerMemUsage).set({ container: 'db' }, 300 * 2 ** 20);
  gauge(registry, M.processGroupProcesses).set({ group: 'nginx' }, 2);
  gauge(registry, M.processGroupProcesses).set({ group: 'postgres' }, 5);
  gauge(registry, M.processRss).set({ group: 'postgres' }, 200 * 2 ** 20);

  const app = express();
  app.use((req, _res, next) => {
    Object.defineProperty(req.socket, 'remoteAddress', { value: remote, configurable: true });
    next();
  });
  app.use(statusRoutes({ tracker, registry, clock: () => now, log: silentLogger(), version: '9.9.9', configSource: () => '/etc/stackwatch/secret.yml', trust }));
  await new Promise<void>((r) => { server = app.listen(0, '127.0.0.1', () => r()); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});
beforeEach(() => { remote = '127.0.0.1'; auth = false; });

interface TargetsBody {
  counts: Record<string, number>;
  targets: { name: string; state: string; uptime: Record<string, number>; outageSeconds: number | null; mttrSeconds30d: number | null; outages30d: number; incidents: { seconds: number; end: number | null; reason?: string }[]; lastError?: string; latency24h: { avg: number } | null }[];
  discovered: { kind: string; name: string; state: string; memoryBytes: number | null }[];
}

describe('GET /api/v1/targets', () => {
  it('gives states, uptime, MTTR and incidents in the documented shape', async () => {
    const res = await fetch(`${base}/api/v1/targets`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json() as TargetsBody;
    expectShape('targets', body);
    expect(body.counts).toEqual({ up: 2, down: 1, degraded: 1, unknown: 0, maintenance: 0 }); // nginx and the container
    const [api, worker] = body.targets;
    expect(api!.name).toBe('api'); // down first
    expect(api!.state).toBe('down');
    expect(api!.outageSeconds).toBe(300);
    expect(worker!.state).toBe('degraded');
    expect(api!.incidents.map((i) => [i.seconds, i.end === null])).toEqual([[300, true], [1800, false]]);
    expect(api!.mttrSeconds30d).toBe(1800);
    expect(api!.outages30d).toBe(2);
    // windows are whole hours up to the current one (which has only just begun)
    expect(api!.uptime['24h']).toBeCloseTo(1 - 300 / (DAY - HOUR), 6);
    expect(api!.uptime['7d']).toBeCloseTo(1 - 2100 / (7 * DAY - HOUR), 6);
    expect(api!.latency24h!.avg).toBeCloseTo(0.02, 4);
    expect(body.discovered).toEqual([
      { kind: 'container', name: 'db', state: 'up', memoryBytes: 300 * 2 ** 20, uptime24h: 1 },
      { kind: 'process', name: 'postgres', state: 'running', memoryBytes: 200 * 2 ** 20, processes: 5 },
    ]);
  });

  it('shows error texts to loopback and authenticated viewers only', async () => {
    const trusted = await (await fetch(`${base}/api/v1/targets`)).json() as TargetsBody;
    expect(trusted.targets[0]!.lastError).toContain('ECONNREFUSED');
    expect(trusted.targets[0]!.incidents[0]!.reason).toContain('ECONNREFUSED');

    remote = '203.0.113.9';
    const text = await (await fetch(`${base}/api/v1/targets`)).text();
    expect(text).not.toContain('ECONNREFUSED');
    expect(text).not.toContain('10.1.2.3');
    expectShape('targets', JSON.parse(text));
    const page = await (await fetch(`${base}/`)).text();
    for (const secret of ['ECONNREFUSED', '10.1.2.3', '/etc/secret', 'secret.yml']) expect(page).not.toContain(secret);
    expect(page).toContain('api'); // names, states and figures still there
    expect(page).toContain('down for 5m');

    auth = true; // the same remote, authenticated
    expect(await (await fetch(`${base}/`)).text()).toContain('secret.yml');
  });
});

describe('GET /api/v1/targets/{kind}/{name}/history', () => {
  it.each([['24h', 96, 900], ['7d', 168, 3600], ['30d', 120, 21600], ['90d', 90, 86400]] as const)('window %s: %i points of %i s', async (window, n, step) => {
    const res = await fetch(`${base}/api/v1/targets/http/api/history?window=${window}`);
    expect(res.status).toBe(200);
    const body = await res.json() as { points: { start: number; end: number; uptime: number | null; knownSeconds: number }[]; stepSeconds: number };
    expectShape('history', body);
    expect(body.points).toHaveLength(n);
    expect(body.stepSeconds).toBe(step);
    expect(body.points.every((p) => p.end - p.start === step)).toBe(true);
    expect(body.points[body.points.length - 1]!.end).toBeGreaterThan(NOW);
    if (window === '90d') {
      // the first 50 days are before anything was watched: unknown, not up
      expect(body.points.slice(0, 49).every((p) => p.uptime === null && p.knownSeconds === 0)).toBe(true);
    }
  });

  it('puts the outage two days ago into its hours', async () => {
    const body = await (await fetch(`${base}/api/v1/targets/http/api/history?window=7d`)).json() as { points: { start: number; downSeconds: number }[] };
    const down = body.points.filter((p) => p.downSeconds > 0);
    expect(down.reduce((a, p) => a + p.downSeconds, 0)).toBeCloseTo(1800 + 300, 0);
    expect(down[0]!.start).toBeLessThanOrEqual(NOW - 2 * DAY);
    expect(down[0]!.start).toBeGreaterThan(NOW - 2 * DAY - HOUR);
  });

  it('refuses bad windows and unknown targets', async () => {
    expect((await fetch(`${base}/api/v1/targets/http/api/history?window=1y`)).status).toBe(400);
    expect((await fetch(`${base}/api/v1/targets/http/nope/history`)).status).toBe(404);
    expect((await fetch(`${base}/api/v1/targets/ftp/api/history`)).status).toBe(404);
  });
});

describe('badges', () => {
  const get = async (p: string) => {
    const res = await fetch(`${base}${p}`);
    return { status: res.status, type: res.headers.get('content-type'), cache: res.headers.get('cache-control'), text: await res.text() };
  };
  it('status, uptime and MTTR with threshold colours and caching', async () => {
    const down = await get('/badge/http/api/status.svg');
    expect(down.type).toContain('image/svg+xml');
    expect(down.cache).toBe('public, max-age=60');
    expect(down.text).toContain('aria-label="api: down"');
    expect(down.text).toContain('#e05d44');
    expect((await get('/badge/http/worker/status.svg')).text).toContain('aria-label="worker: degraded"');
    const up = await get('/badge/http/worker/uptime/30d.svg');
    expect(up.text).toContain('uptime 30d: 100.00%');
    expect(up.text).toContain('#4c1');
    const apiUp = await get('/badge/http/api/uptime/24h.svg');
    expect(apiUp.text).toContain('uptime 24h: 99.63%'); // 5 min of 23 h
    expect(apiUp.text).toContain('#97ca00');
    const mttr = await get('/badge/http/api/mttr/30d.svg');
    expect(mttr.text).toContain('MTTR 30d: 30m');
    expect(mttr.text).toContain('#dfb317');
    expect((await get('/badge/http/worker/mttr/7d.svg')).text).toContain('no outages');
    expect((await get('/badge/http/api/uptime/1y.svg')).status).toBe(404);
    expect((await get('/badge/http/nope/status.svg')).status).toBe(404);
    auth = true;
    expect((await get('/badge/http/api/status.svg')).cache).toBe('private, max-age=60');
  });
});

describe('status page bars', () => {
  it('reuse closed hours until something changes them, and show changes at once', async () => {
    const cells = async () => {
      const html = await (await fetch(`${base}/?fragment=1`)).text();
      const art = html.slice(html.indexOf('data-target="worker"'));
      return [...art.slice(0, art.indexOf('</article>')).matchAll(/<i class=(\w)/g)].map((m) => m[1]).join('');
    };
    const first = await cells();
    expect(first).toHaveLength(48);
    expect(first).toBe(await cells()); // served from the cache: same figures
    // worker goes down for 40 minutes, then 2 hours pass with it up
    const start = now;
    for (let t = start; t <= start + 3 * HOUR; t += 60) {
      now = t;
      tracker.observe('http', 'worker', t >= start + 2400, { latencySeconds: 0.005 });
    }
    const after = await cells();
    expect(after).toHaveLength(48);
    expect(after.slice(-4, -1)).toMatch(/b/); // the hour of the outage, now closed, is red
    expect(after).not.toBe(first);
    now = NOW + 3 * HOUR + 60;
  });
});
