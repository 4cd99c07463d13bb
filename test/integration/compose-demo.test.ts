/**
 * The compose demo's scripts, run as the demo profile runs them (plain node, configured by
 * environment variables), on 127.0.0.1: the demo backend's schedule and the alert webhook.
 */
import path from 'node:path';
import { DEMO_BACKEND_SCRIPT } from '../harness/demo-backend';
import { fixedPort } from '../harness/ports';
import { ProcessSet } from '../harness/processes';
import { sleep, waitFor, within } from '../harness/wait';

jest.setTimeout(60_000);

const procs = new ProcessSet();
afterAll(() => procs.killAll());

const WEBHOOK_SCRIPT = path.join(__dirname, '..', '..', 'examples', 'demo-backend', 'alert-webhook.js');

interface Health {
  status: string;
  mqtt: { connected: boolean; pending_requests: number; reconnect_attempts: number; last_activity_seconds_ago: number };
  memory: { leaked_bytes: number };
}

function run(script: string, env: Record<string, string>): { proc: ReturnType<ProcessSet['start']>; out: () => string; exit: Promise<number | null> } {
  const proc = procs.start(process.execPath, [script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, out: () => out, exit };
}

describe('demo backend (examples/demo-backend/server.js)', () => {
  it('goes healthy -> degraded (MQTT disconnected, pending requests climbing) -> unhealthy (503) -> healthy, leaks, then crashes with status 1', async () => {
    const port = await fixedPort();
    const demo = run(DEMO_BACKEND_SCRIPT, {
      DEMO_PORT: String(port), DEMO_HEALTHY_FOR: '2s', DEMO_DEGRADED_FOR: '2s', DEMO_UNHEALTHY_FOR: '2s',
      DEMO_CRASH_AFTER: '9s', DEMO_LEAK_PER_SECOND: '100k', DEMO_PENDING_PER_SECOND: '3',
    });
    const url = `http://127.0.0.1:${port}/api/health`;
    const seen: { code: number; body: Health }[] = [];
    await waitFor('the demo backend to answer', async () => (await fetch(url)).ok, 10_000, 50);
    const deadline = Date.now() + 7500;
    while (Date.now() < deadline) {
      const res = await fetch(url);
      seen.push({ code: res.status, body: (await res.json()) as Health });
      await sleep(250);
    }
    const phases = seen.map((s) => s.body.status).filter((p, i, all) => i === 0 || all[i - 1] !== p);
    expect(phases.slice(0, 4)).toEqual(['healthy', 'degraded', 'unhealthy', 'healthy']);
    for (const s of seen) {
      expect(s.code).toBe(s.body.status === 'unhealthy' ? 503 : 200);
      expect(s.body.mqtt.connected).toBe(s.body.status === 'healthy');
    }
    const degraded = seen.filter((s) => s.body.status !== 'healthy');
    expect(Math.max(...degraded.map((s) => s.body.mqtt.pending_requests))).toBeGreaterThanOrEqual(6);
    expect(Math.max(...degraded.map((s) => s.body.mqtt.reconnect_attempts))).toBeGreaterThanOrEqual(1);
    expect(Math.max(...degraded.map((s) => s.body.mqtt.last_activity_seconds_ago))).toBeGreaterThanOrEqual(1);
    expect(seen[seen.length - 1]!.body.memory.leaked_bytes).toBeGreaterThanOrEqual(5 * 100 * 1024);

    const code = await within(demo.exit, 5000, 'still running');
    expect(code).toBe(1);
    expect(demo.out()).toMatch(/crashing after 9s of uptime/);
  });

  it('refuses a bad schedule with a message naming the variable', async () => {
    const demo = run(DEMO_BACKEND_SCRIPT, { DEMO_PORT: String(await fixedPort()), DEMO_CRASH_AFTER: 'soon' });
    expect(await within(demo.exit, 5000, 'still running')).not.toBe(0);
    expect(demo.out()).toMatch(/DEMO_CRASH_AFTER: expected a duration/);
  });

  it('stops on SIGTERM with status 0', async () => {
    const port = await fixedPort();
    const demo = run(DEMO_BACKEND_SCRIPT, { DEMO_PORT: String(port) });
    await waitFor('the demo backend to answer', async () => (await fetch(`http://127.0.0.1:${port}/api/health`)).ok, 10_000, 50);
    demo.proc.kill('SIGTERM');
    expect(await within(demo.exit, 3000, 'still running')).toBe(0);
  });
});

describe('alert webhook (examples/demo-backend/alert-webhook.js)', () => {
  it('prints each alert of an Alertmanager notification, and refuses what is not one', async () => {
    const port = await fixedPort();
    const hook = run(WEBHOOK_SCRIPT, { WEBHOOK_PORT: String(port) });
    const url = `http://127.0.0.1:${port}/critical`;
    await waitFor('the webhook to listen', () => hook.out().includes('listening'), 10_000, 50);
    const body = {
      version: '4', status: 'firing', receiver: 'critical',
      alerts: [{ status: 'firing', labels: { alertname: 'StackwatchTargetDown', kind: 'http', target: 'demo-backend', severity: 'critical' }, annotations: { summary: 'http target demo-backend is down' } }],
    };
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    await waitFor('the alert line', () => /\/critical firing StackwatchTargetDown \{kind=http target=demo-backend severity=critical\} http target demo-backend is down/.test(hook.out()), 3000, 20);
    expect((await fetch(url)).status).toBe(405);
    expect((await fetch(url, { method: 'POST', body: 'not json' })).status).toBe(400);
    expect((await fetch(url, { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024) })).status).toBe(413);
  });
});
