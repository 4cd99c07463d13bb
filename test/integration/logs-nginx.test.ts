/**
 * The access-log collector against a real nginx (Debian nginx-light) in front of a loopback
 * backend, observed through the built daemon's /metrics, as a user runs it.
 */
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import YAML from 'yaml';
import { startCommand } from '../harness/start-command';
import { boundPort } from '../harness/built-daemon';
import { startNginx, TIMED_LOG_FORMAT, type RunningNginx } from '../harness/nginx';
import { withStorage } from '../harness/cli';
import { onFreePort } from '../harness/ports';
import { requireBinary } from '../harness/require-binary';
import { scrape, type Metrics } from '../harness/prom-text';
import { ProcessSet } from '../harness/processes';
import { sleep, waitFor } from '../harness/wait';

jest.setTimeout(120_000);

const BACKEND = path.join(__dirname, '..', 'fixtures', 'traffic-backend.js');
const procs = new ProcessSet();
let nginx: RunningNginx | undefined;
let dir: string;

beforeEach(() => {
  bytes.clear();
  dir = mkdtempSync(path.join(tmpdir(), 'sw-logs-'));
});
afterEach(async () => {
  await nginx?.stop();
  nginx = undefined;
  await procs.killAll();
  rmSync(dir, { recursive: true, force: true });
});

async function startBackend(port: number): Promise<ChildProcess> {
  const p = procs.start(process.execPath, [BACKEND, String(port)]);
  let err = '';
  p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    p.stdout!.once('data', () => resolve());
    p.once('exit', (code) => reject(new Error(`backend exited (${code}): ${err.slice(-2000)}`)));
  });
  return p;
}

/** startBackend on a free port, started again on another when the port was taken meanwhile (EADDRINUSE). */
const startBackendOnFreePort = (): Promise<{ port: number; child: ChildProcess }> =>
  onFreePort(async (port) => ({ port, child: await startBackend(port) }));

/** The built daemon (`node dist/main.js`), as `npm start` runs it, with a config file. */
async function startDaemon(config: Record<string, unknown>): Promise<{ url: string; child: ChildProcess; scrape: () => Promise<Metrics>; stderr: () => string }> {
  const file = path.join(dir, 'stackwatch.yml');
  writeFileSync(file, YAML.stringify(config));
  const s = startCommand();
  const child = procs.start(process.execPath, [...s.nodeArgs, s.script, ...withStorage(['--config', file, '--listen', '127.0.0.1:0'])], { env: { ...process.env, ...s.env } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  // Port 0: the kernel's choice, read back from the daemon's log (no port to lose to a parallel test).
  const port = await boundPort(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('stackwatch to serve /metrics', async () => {
    if (child.exitCode !== null) throw new Error(`stackwatch exited: ${stderr}`);
    return (await fetch(`${url}/metrics`)).ok;
  }, 15_000);
  return { url, child, scrape: () => scrape(url), stderr: () => stderr };
}

type Truth = Map<string, number>;
/** Response body bytes the clients received, by route. */
const bytes = new Map<string, number>();
const ROUTES = { chatbot: '^/api/chatbot/', health: '^/api/health', fail: '^/api/fail' };

/** Ground truth key as the collector labels it. */
function keyOf(route: string, method: string, status: number): string {
  const code = status === 429 || status === 499 || status >= 500 ? String(status) : `${Math.floor(status / 100)}xx`;
  return `${route}|${method}|${code}`;
}

/** One request of the mix: every 10th to the failing route, chatbot POSTs with a query string, health, and a 404. */
async function oneRequest(base: string, i: number, truth: Truth): Promise<void> {
  let route: string; let method: string; let url: string; let body: string | undefined;
  if (i % 10 === 3) { route = 'fail'; method = 'GET'; url = '/api/fail'; }
  else if (i % 3 === 0) { route = 'health'; method = 'GET'; url = '/api/health'; }
  else if (i % 7 === 0) { route = 'other'; method = 'GET'; url = `/static/app-${i}.js?v=${i}`; }
  else { route = 'chatbot'; method = 'POST'; url = `/api/chatbot/messages?session=s${i}`; body = '{"text":"hi"}'; }
  const res = await fetch(`${base}${url}`, { method, ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}) });
  const got = await res.arrayBuffer();
  const k = keyOf(route, method, res.status);
  truth.set(k, (truth.get(k) ?? 0) + 1);
  const b = `bytes:${route}`;
  bytes.set(b, (bytes.get(b) ?? 0) + got.byteLength);
}

/** Sends requests `from`..`to`-1 with `concurrency` in flight. */
async function load(base: string, from: number, to: number, truth: Truth, concurrency = 4): Promise<void> {
  let next = from;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < to) await oneRequest(base, next++, truth);
  }));
}

function counted(m: Metrics, source: string): Truth {
  const out: Truth = new Map();
  for (const s of m.all('stackwatch_log_requests_total', { source })) {
    if (s.value > 0) out.set(`${s.labels.route}|${s.labels.method}|${s.labels.code}`, s.value);
  }
  return out;
}
const total = (t: Truth): number => [...t.values()].reduce((a, b) => a + b, 0);
const sorted = (t: Truth): [string, number][] => [...t.entries()].sort();

describe('logs collector with a real nginx', () => {
  it('counts a known mix of requests exactly per route, method and code, 500s and the 502s of a dead backend included; the traffic target goes down and back', async () => {
    const { port: backendPort, child: backend } = await startBackendOnFreePort();
    nginx = await startNginx(procs, { backendPort });
    const d = await startDaemon({
      logs: [{
        name: 'proxy', path: nginx.accessLog, log_format: TIMED_LOG_FORMAT, routes: ROUTES,
        traffic: { window: '3s', max_error_ratio: 0.3, min_requests: 5, interval: '250ms' },
      }],
    });
    const truth: Truth = new Map();

    await load(nginx.url, 0, 200, truth);
    await procs.kill(backend, 'SIGKILL');
    const killedAt = Date.now();
    // Backend down for ~4 s: nginx answers 502 to everything it proxies.
    while (Date.now() - killedAt < 4000) await load(nginx.url, 1000, 1004, truth, 2).then(() => sleep(20)).catch(() => undefined);
    await waitFor('the traffic target down', async () => (await d.scrape()).get('stackwatch_target_up', { kind: 'traffic', target: 'proxy' }) === 0, 5000);
    await startBackend(backendPort);
    await load(nginx.url, 200, 400, truth);

    const sent = total(truth);
    expect(truth.get('fail|GET|500')).toBeGreaterThanOrEqual(40);
    expect([...truth.keys()].filter((k) => k.endsWith('|502')).length).toBeGreaterThanOrEqual(2);
    await waitFor(`all ${sent} requests counted`, async () => total(counted(await d.scrape(), 'proxy')) >= sent, 10_000);
    await sleep(1500);
    const m = await d.scrape();
    expect(sorted(counted(m, 'proxy'))).toEqual(sorted(truth));
    // Every line has $request_time: one duration observation per request, per route.
    for (const route of ['chatbot', 'health', 'fail', 'other']) {
      const perRoute = [...truth].filter(([k]) => k.startsWith(`${route}|`)).reduce((a, [, v]) => a + v, 0);
      expect(m.get('stackwatch_log_request_duration_seconds_count', { source: 'proxy', route })).toBe(perRoute);
    }
    expect(m.get('stackwatch_log_upstream_duration_seconds_count', { source: 'proxy', route: 'chatbot' })).toBeGreaterThan(0);
    for (const route of ['chatbot', 'health', 'fail', 'other']) {
      expect([route, m.get('stackwatch_log_response_bytes_total', { source: 'proxy', route })]).toEqual([route, bytes.get(`bytes:${route}`)]);
    }
    expect(m.get('stackwatch_log_parse_failures_total', { source: 'proxy', reason: 'no_match' })).toBe(0);
    expect(m.get('stackwatch_log_files', { source: 'proxy' })).toBe(1);
    expect(m.get('stackwatch_log_stale', { source: 'proxy' })).toBe(0);
    // Query strings never become labels.
    expect(m.all('stackwatch_log_requests_total').some((s) => Object.values(s.labels).some((v) => v.includes('?') || v.includes('session')))).toBe(false);

    await waitFor('the traffic target up again', async () => (await d.scrape()).get('stackwatch_target_up', { kind: 'traffic', target: 'proxy' }) === 1, 8000);
    const after = await d.scrape();
    expect(after.get('stackwatch_target_outages_total', { kind: 'traffic', target: 'proxy' })).toBe(1);
    expect(after.get('stackwatch_target_recovery_seconds_count', { kind: 'traffic', target: 'proxy' })).toBe(1);
    const down = after.get('stackwatch_target_recovery_seconds_sum', { kind: 'traffic', target: 'proxy' })!;
    expect(down).toBeGreaterThan(2);
    expect(down).toBeLessThan(15);

    // Every log metric, histograms included, is valid exposition.
    const promtool = requireBinary('promtool', 'sudo apt-get install -y prometheus');
    const text = await (await fetch(`${d.url}/metrics`)).text();
    expect(text).toContain('stackwatch_log_upstream_duration_seconds_bucket');
    const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('loses no line and counts none twice across mv + USR1, copytruncate and delete-and-recreate during load', async () => {
    const { port: backendPort } = await startBackendOnFreePort();
    nginx = await startNginx(procs, { backendPort });
    const ngx = nginx;
    const d = await startDaemon({ logs: [{ name: 'proxy', path: ngx.accessLog, log_format: TIMED_LOG_FORMAT, routes: ROUTES, rotate_wait: '2s' }] });
    const truth: Truth = new Map();
    let paused = false;
    let stopLoad = false;
    let i = 0;
    const background = (async () => {
      while (!stopLoad) {
        if (paused) { await sleep(5); continue; }
        await load(ngx.url, i, i + 4, truth, 2);
        i += 4;
      }
    })();
    const countedNow = async (): Promise<number> => total(counted(await d.scrape(), 'proxy'));

    await sleep(1000);
    // 1. logrotate's default: rename, then tell nginx to reopen (postrotate kill -USR1).
    renameSync(ngx.accessLog, `${ngx.accessLog}.1`);
    await sleep(300); // nginx keeps writing to the renamed file until it reopens
    ngx.reopenLogs();
    await sleep(1500);

    // 2. copytruncate. Lines written between the copy and the truncation are lost to every
    // reader (that is copytruncate's own window), so the writer pauses for those microseconds.
    paused = true;
    await sleep(50);
    await waitFor('the tailer to catch up', async () => (await countedNow()) === total(truth), 5000);
    copyFileSync(ngx.accessLog, `${ngx.accessLog}.2`);
    truncateSync(ngx.accessLog, 0);
    paused = false;
    await sleep(1500);

    // 3. delete and recreate: nginx writes to the deleted file until it reopens.
    unlinkSync(ngx.accessLog);
    await sleep(300);
    ngx.reopenLogs();
    await sleep(1500);

    stopLoad = true;
    await background;
    const sent = total(truth);
    expect(sent).toBeGreaterThan(100);
    await waitFor(`all ${sent} requests counted`, async () => (await countedNow()) >= sent, 10_000);
    await sleep(3000); // the drained files close; nothing is read twice
    const m = await d.scrape();
    expect(sorted(counted(m, 'proxy'))).toEqual(sorted(truth));
    expect(m.get('stackwatch_log_rotations_total', { source: 'proxy', kind: 'rotated' })).toBe(2);
    expect(m.get('stackwatch_log_rotations_total', { source: 'proxy', kind: 'truncated' })).toBe(1);
    expect(m.get('stackwatch_log_files', { source: 'proxy' })).toBe(1);
  });

  it('shows parse failures, a 1 MB line, a log removed and back, and a silent log in their metrics; keeps running', async () => {
    const app = path.join(dir, 'app', 'access.log');
    const d = await startDaemon({
      logs: [{ name: 'app', path: app, format: 'uvicorn', routes: ROUTES, stale_after: '2s', rotate_wait: '1s', poll_interval: '200ms' }],
    });
    let m = await d.scrape();
    expect(m.get('stackwatch_log_files', { source: 'app' })).toBe(0);
    // The directory does not exist yet either: the file is picked up when it appears, from its start.
    mkdirSync(path.dirname(app));
    const ok = (n: number): string => Array.from({ length: n }, (_, k) => `INFO:     127.0.0.1:${40000 + k} - "GET /api/health HTTP/1.1" 200 OK\n`).join('');
    writeFileSync(app, ok(3));
    appendFileSync(app, 'this is not an access line\n');
    appendFileSync(app, 'INFO:     127.0.0.1:1 - "GET / HTTP/1.1" 999 ??\n');
    appendFileSync(app, `${'x'.repeat(1_000_000)}\n`);
    appendFileSync(app, ok(2));
    const f = (reason: string) => async () => (await d.scrape()).get('stackwatch_log_parse_failures_total', { source: 'app', reason });
    await waitFor('the 1 MB line counted', async () => (await f('too_long')()) === 1, 5000);
    m = await d.scrape();
    expect(m.get('stackwatch_log_parse_failures_total', { source: 'app', reason: 'no_match' })).toBe(1);
    expect(m.get('stackwatch_log_parse_failures_total', { source: 'app', reason: 'bad_status' })).toBe(1);
    expect(m.get('stackwatch_log_requests_total', { source: 'app', route: 'health', method: 'GET', code: '2xx' })).toBe(5);
    await waitFor('one file', async () => (await d.scrape()).get('stackwatch_log_files', { source: 'app' }) === 1, 3000);
    m = await d.scrape();
    expect(m.get('stackwatch_log_last_line_timestamp_seconds', { source: 'app' })).toBeGreaterThan(Date.now() / 1000 - 10);

    // Removed: the source shows no file, then goes stale.
    unlinkSync(app);
    await waitFor('no file', async () => (await d.scrape()).get('stackwatch_log_files', { source: 'app' }) === 0, 5000);
    await waitFor('stale', async () => (await d.scrape()).get('stackwatch_log_stale', { source: 'app' }) === 1, 6000);
    // Back: read from its start, fresh again.
    writeFileSync(app, ok(4));
    await waitFor('the new file read', async () => (await d.scrape()).get('stackwatch_log_requests_total', { source: 'app', route: 'health', method: 'GET', code: '2xx' }) === 9, 5000);
    await waitFor('fresh again', async () => (await d.scrape()).get('stackwatch_log_stale', { source: 'app' }) === 0, 3000);
    m = await d.scrape();
    expect(m.get('stackwatch_log_files', { source: 'app' })).toBe(1);
    expect(m.get('stackwatch_log_rotations_total', { source: 'app', kind: 'rotated' })).toBe(1);
    expect(d.child.exitCode).toBeNull();
    expect(d.stderr()).not.toMatch(/"level":(50|60)/);
  });
});
