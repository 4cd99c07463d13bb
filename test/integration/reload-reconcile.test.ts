import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { SUBSCRIBE_GRACE_MS } from '../../src/collectors/docker';
import { validate } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { spawnCli } from '../harness/cli';
import { Dockerd } from '../harness/dockerd';
import { startExporter, type RunningExporter } from '../harness/exporter';
import { startFaultServer, type FaultServer } from '../harness/fault-server';
import { Mosquitto } from '../harness/mosquitto';
import { boundPort } from '../harness/built-daemon';
import { ProcessSet } from '../harness/processes';
import { scrape } from '../harness/prom-text';
import { waitFor } from '../harness/wait';

/**
 * Reload as reconcile, end to end: a reload touches only what changed (no MQTT reconnect, no
 * Docker request for an added HTTP target; one broker changed reconnects alone), floods of
 * reload requests and SIGHUPs cost at most two rebuilds while /metrics keeps answering and a
 * broker killed meanwhile is seen at once, and a failing reload does not block the next one.
 */

jest.setTimeout(120_000);

const procs = new ProcessSet();
let fault: FaultServer;
let tmp: string;

beforeAll(async () => {
  fault = await startFaultServer();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sw-reconcile-'));
});

afterAll(async () => {
  await fault?.close();
  await procs.killAll();
  rmSync(tmp, { recursive: true, force: true });
});

/** A logger whose lines the test can count. */
function capturedLog(): { log: pino.Logger; messages: (msg: string) => number } {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => { lines.push(s); } });
  const messages = (msg: string): number => lines.filter((l) => (JSON.parse(l) as { msg?: string }).msg === msg).length;
  return { log, messages };
}

const broker = (name: string, url: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name, url, client_id_prefix: `sw-${name}`, sys_interval: '1s', reconnect: { initial: '200ms', max: '500ms' }, ...extra,
});

const httpTarget = (name: string): Record<string, unknown> => ({ name, url: `${fault.url}/`, interval: '500ms', timeout: '400ms' });

/** How often mosquitto logged a client of this prefix connecting. */
const connects = (m: Mosquitto, prefix: string): number => m.log.split('\n').filter((l) => l.includes('New client connected') && l.includes(` as ${prefix}-`)).length;

/** A unix-socket relay in front of dockerd that counts the HTTP requests passing through. */
async function countingRelay(target: string, socket: string): Promise<{ host: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const conns = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    conns.add(client);
    conns.add(upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.on('data', (chunk: Buffer) => {
      requests += (chunk.toString('latin1').match(/^(GET|POST|HEAD|PUT|DELETE) \/\S* HTTP\/1\.[01]\r$/gm) ?? []).length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    host: `unix://${socket}`,
    requests: () => requests,
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Scrapes /metrics every 50 ms until stopped; returns the failures and the slowest answer. */
function scrapeLoop(url: string): { stop: () => Promise<{ ok: number; failed: string[]; slowestMs: number }> } {
  let running = true;
  let ok = 0;
  let slowestMs = 0;
  const failed: string[] = [];
  const loop = (async () => {
    while (running) {
      const t0 = Date.now();
      try {
        const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3000) });
        await r.text();
        if (r.status === 200) ok += 1;
        else failed.push(`status ${r.status}`);
      } catch (err) {
        failed.push(String(err));
      }
      slowestMs = Math.max(slowestMs, Date.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { ok, failed, slowestMs };
    },
  };
}

describe('a reload touches only what changed', () => {
  let mosq: Mosquitto;
  let dockerd: Dockerd;
  let relay: Awaited<ReturnType<typeof countingRelay>>;
  let ex: RunningExporter | undefined;

  beforeAll(async () => {
    [mosq, dockerd] = await Promise.all([Mosquitto.start(procs), Dockerd.start()]);
    relay = await countingRelay(dockerd.socket, path.join(dockerd.dir, 'count.sock'));
  }, 90_000);

  afterAll(async () => {
    await ex?.stop();
    await relay?.close();
    await dockerd?.stop();
    await mosq?.stop();
    mosq?.cleanup();
  });

  it('adding an HTTP target leaves MQTT connected and asks Docker nothing; changing one broker reconnects it alone', async () => {
    const raw = (extraHttp: boolean, twoExtra: Record<string, unknown> = {}): Record<string, unknown> => ({
      http: [httpTarget('first'), ...(extraHttp ? [httpTarget('added')] : [])],
      mqtt: [broker('one', mosq.url), broker('two', mosq.url, twoExtra)],
      docker: { enabled: true, host: relay.host },
    });
    let next = raw(false);
    ex = await startExporter(next, { loadConfig: (): Config => validate({ ...next, server: { listen: '127.0.0.1:0' } }, '<reloaded>') });
    const e = ex;
    await waitFor('both brokers connected, docker up', async () => {
      const m = await e.scrape();
      return m.get('stackwatch_mqtt_connected', { broker: 'one' }) === 1 && m.get('stackwatch_mqtt_connected', { broker: 'two' }) === 1
        && m.get('stackwatch_docker_events_stream_up') === 1;
    }, 20_000);
    // Let the docker collector's first sync, its gap check and its second list after the
    // stream opened (SUBSCRIBE_GRACE_MS) settle.
    await new Promise((r) => setTimeout(r, SUBSCRIBE_GRACE_MS + 1000));
    const dockerRequests = relay.requests();
    expect(dockerRequests).toBeGreaterThan(0);
    expect([connects(mosq, 'sw-one'), connects(mosq, 'sw-two')]).toEqual([1, 1]);

    next = raw(true);
    expect(await e.app.reload()).toBeUndefined();
    await waitFor('the added target probed', async () => (await e.scrape()).get('stackwatch_target_up', { kind: 'http', target: 'added' }) === 1, 5000);
    await new Promise((r) => setTimeout(r, 1500));
    const m = await e.scrape();
    expect(relay.requests()).toBe(dockerRequests);
    expect([connects(mosq, 'sw-one'), connects(mosq, 'sw-two')]).toEqual([1, 1]);
    expect(m.get('stackwatch_mqtt_connected', { broker: 'one' })).toBe(1);
    expect(m.get('stackwatch_mqtt_reconnects_total', { broker: 'one' })).toBe(0);
    expect(m.get('stackwatch_docker_events_stream_up')).toBe(1);
    // An unchanged configuration applies nothing at all.
    expect(await e.app.reload()).toBeUndefined();
    expect(relay.requests()).toBe(dockerRequests);

    // Broker two changes (another topic to watch): it alone gets a new client.
    next = raw(true, { topics: [{ topic: 'app/two/#' }] });
    expect(await e.app.reload()).toBeUndefined();
    await waitFor('two reconnected', async () => connects(mosq, 'sw-two') === 2 && (await e.scrape()).get('stackwatch_mqtt_connected', { broker: 'two' }) === 1, 5000);
    expect(connects(mosq, 'sw-one')).toBe(1);
    expect(relay.requests()).toBe(dockerRequests);
    const after = await e.scrape();
    expect(after.get('stackwatch_mqtt_connected', { broker: 'one' })).toBe(1);
    expect(after.get('stackwatch_mqtt_topic_silent', { broker: 'two', topic: 'app/two/#' })).toBeDefined();
  });
});

/**
 * POSTs `n` requests at once from a child process; resolves with their status codes (0: no
 * answer). They share 200 keep-alive connections: the server accepts at most 512 at a time (a
 * guard of its file descriptors), and the scrapes must get through too.
 */
async function floodPosts(url: string, n: number): Promise<number[]> {
  const script = `
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });
    const one = () => new Promise((resolve) => {
      const req = http.request(${JSON.stringify(url)}, { method: 'POST', agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
      req.on('error', () => resolve(0));
      req.setTimeout(30000, () => req.destroy());
      req.end();
    });
    Promise.all(Array.from({ length: ${n} }, one)).then((s) => { process.stdout.write(JSON.stringify(s)); agent.destroy(); });
  `;
  const child = procs.start(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  await new Promise((r) => child.once('exit', r));
  return JSON.parse(out) as number[];
}

describe('reload floods', () => {
  it('1000 concurrent POST /-/reload: at most two rebuilds, /metrics answers throughout, a broker killed meanwhile is seen at once', async () => {
    const victim = await Mosquitto.start(procs);
    const { log, messages } = capturedLog();
    const base = { http: [httpTarget('first')], mqtt: [broker('victim', victim.url)] };
    const changed = validate({ ...base, http: [httpTarget('first'), httpTarget('added')], server: { listen: '127.0.0.1:0' } }, '<reloaded>');
    const ex = await startExporter(base, { log, loadConfig: (): Config => changed });
    try {
      await waitFor('victim connected', async () => (await ex.scrape()).get('stackwatch_mqtt_connected', { broker: 'victim' }) === 1, 10_000);
      const scraper = scrapeLoop(ex.url);
      // The flood comes from another process, as it would in real life.
      const flood = floodPosts(`${ex.url}/-/reload`, 1000);
      await new Promise((r) => setTimeout(r, 50));
      const killedAt = Date.now() / 1000;
      await victim.kill();
      const detected = await waitFor('victim seen down', () => (ex.app.tracker.view('mqtt', 'victim')?.state === 'down' ? Date.now() / 1000 : undefined), 10_000, 20);
      const statuses = await flood;
      const s = await scraper.stop();

      expect(statuses.filter((c) => c !== 200)).toEqual([]);
      expect(messages('configuration reloaded')).toBeGreaterThanOrEqual(1);
      expect(messages('configuration reloaded')).toBeLessThanOrEqual(2);
      expect(s.failed).toEqual([]);
      expect(s.ok).toBeGreaterThan(0);
      // A closed connection is seen at once, well within the bound for a silent one
      // (sys_stale_intervals × sys_interval = 3 s), flood or not; the outage starts when the
      // broker went, not when the flood ended.
      expect(detected - killedAt).toBeLessThan(3);
      const view = ex.app.tracker.view('mqtt', 'victim')!;
      expect(view.state).toBe('down');
      expect(Math.abs(view.downSince! - killedAt)).toBeLessThan(1.5);
      expect((await ex.scrape()).get('stackwatch_target_up', { kind: 'http', target: 'added' })).toBeDefined();
    } finally {
      await ex.stop();
      victim.cleanup();
    }
  });

  it('300 SIGHUPs to the daemon: at most two rebuilds, /metrics answers throughout, a broker killed meanwhile is seen at once', async () => {
    const victim = await Mosquitto.start(procs);
    const cfg = path.join(tmp, 'sighup.yml');
    const yaml = (targets: string[]): string => [
      'http:', ...targets.map((t) => `  - { name: ${t}, url: "${fault.url}/", interval: 500ms, timeout: 400ms }`),
      'mqtt:', `  - { name: victim, url: "${victim.url}", client_id_prefix: sw-victim, sys_interval: 1s, reconnect: { initial: 200ms, max: 500ms } }`, '',
    ].join('\n');
    writeFileSync(cfg, yaml(['first']));
    const p = spawnCli(['--config', cfg, '--listen', '127.0.0.1:0']);
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const port = await boundPort(p);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitFor('victim connected', async () => (await scrape(url)).get('stackwatch_mqtt_connected', { broker: 'victim' }) === 1, 20_000);
      writeFileSync(cfg, yaml(['first', 'added']));
      const scraper = scrapeLoop(url);
      let killedAt = 0;
      for (let i = 0; i < 300; i += 1) {
        p.kill('SIGHUP');
        if (i === 150) {
          killedAt = Date.now() / 1000;
          await victim.kill();
        }
        if (i % 10 === 0) await new Promise((r) => setImmediate(r));
      }
      const detected = await waitFor('victim seen down', async () => ((await scrape(url)).get('stackwatch_mqtt_connected', { broker: 'victim' }) === 0 ? Date.now() / 1000 : undefined), 10_000, 50);
      await waitFor('the added target probed', async () => (await scrape(url)).get('stackwatch_target_up', { kind: 'http', target: 'added' }) === 1, 10_000);
      // Let the reloads still queued finish before counting them.
      await new Promise((r) => setTimeout(r, 1000));
      const s = await scraper.stop();
      const reloaded = stderr.split('\n').filter((l) => l.includes('"msg":"configuration reloaded"')).length;
      expect(p.exitCode).toBeNull();
      expect(reloaded).toBeGreaterThanOrEqual(1);
      expect(reloaded).toBeLessThanOrEqual(2);
      expect(s.failed).toEqual([]);
      expect(detected - killedAt).toBeLessThan(3);
    } finally {
      await procs.kill(p, 'SIGTERM', 5000);
      victim.cleanup();
    }
  });
});

describe('a failing reload', () => {
  it('a reload whose loader throws, then a good one: the second applies', async () => {
    const { log } = capturedLog();
    let calls = 0;
    const good = validate({ http: [httpTarget('first'), httpTarget('added')], server: { listen: '127.0.0.1:0' } }, '<reloaded>');
    const ex = await startExporter({ http: [httpTarget('first')] }, {
      log,
      loadConfig: (): Config => {
        calls += 1;
        if (calls === 1) throw new TypeError('loader bug');
        return good;
      },
    });
    try {
      expect(await ex.app.reload()).toContain('loader bug');
      expect((await ex.scrape()).get('stackwatch_config_last_reload_successful')).toBe(0);
      expect(await ex.app.reload()).toBeUndefined();
      const m = await waitFor('the added target probed', async () => {
        const s = await ex.scrape();
        return s.get('stackwatch_target_up', { kind: 'http', target: 'added' }) === 1 ? s : undefined;
      }, 5000);
      expect(m.get('stackwatch_config_last_reload_successful')).toBe(1);
    } finally {
      await ex.stop();
    }
  });
});
