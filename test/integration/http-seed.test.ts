import { startExporter, type RunningExporter } from '../harness/exporter';
import { startHealthBackend, startHealthBackendOnFreePort } from '../harness/health-backend';
import { ProcessSet } from '../harness/processes';
import { sleep, waitFor } from '../harness/wait';

jest.setTimeout(60_000);

const procs = new ProcessSet();
let exporter: RunningExporter | undefined;
afterEach(async () => {
  await exporter?.stop();
  exporter = undefined;
  await procs.killAll();
});

const target = { kind: 'http', target: 'backend' };

describe('HTTP health collector against a real backend (seed 000: backend crashes, 502s)', () => {
  it('counts one outage and one recovery of the real downtime when the backend dies for ~5 s', async () => {
    const first = await startHealthBackendOnFreePort(procs);
    const port = first.port;
    let backend = first.child;
    exporter = await startExporter({
      http: [{
        name: 'backend', url: `http://127.0.0.1:${port}/api/health`, interval: '1s', timeout: '500ms',
        json: { status: 'status', fields: { mqtt_connected: 'mqtt.connected', pending_requests: 'mqtt.pending_requests' } },
      }],
    });
    const ex = exporter;
    await waitFor('target up', async () => (await ex.scrape()).get('stackwatch_target_up', target) === 1);
    await sleep(1500);

    const killedAt = Date.now();
    await procs.kill(backend, 'SIGKILL');
    await waitFor('target down', async () => (await ex.scrape()).get('stackwatch_target_up', target) === 0, 5000);
    const during = await ex.scrape();
    expect(during.get('stackwatch_target_outages_total', target)).toBe(1);
    expect(during.get('stackwatch_http_failures_total', { target: 'backend', reason: 'connect' })).toBeGreaterThanOrEqual(1);
    expect(during.get('stackwatch_health_status', { target: 'backend', status: 'unknown' })).toBe(1);

    await sleep(Math.max(0, 5000 - (Date.now() - killedAt)));
    backend = await startHealthBackend(procs, port);
    const realDowntime = (Date.now() - killedAt) / 1000;
    await waitFor('target up again', async () => (await ex.scrape()).get('stackwatch_target_up', target) === 1, 5000);

    const m = await ex.scrape();
    expect(m.get('stackwatch_target_outages_total', target)).toBe(1);
    expect(m.get('stackwatch_target_recovery_seconds_count', target)).toBe(1);
    const recovery = m.get('stackwatch_target_recovery_seconds_sum', target)!;
    // Observed from the first failed probe to the first good one: within one interval (1 s) of the truth.
    expect(Math.abs(recovery - realDowntime)).toBeLessThanOrEqual(1.2);
    expect(m.get('stackwatch_target_downtime_seconds_total', target)).toBeCloseTo(recovery, 6);
    expect(m.get('stackwatch_health_status', { target: 'backend', status: 'healthy' })).toBe(1);
    expect(m.get('stackwatch_http_status_code', { target: 'backend' })).toBe(200);
    expect(backend.exitCode).toBeNull();
  });

  it('shows a degraded body, its fields, and a failed condition (seed 001: MQTT disconnected, pending requests climbing)', async () => {
    const { port } = await startHealthBackendOnFreePort(procs, ['degraded', 'false', '57']);
    exporter = await startExporter({
      http: [{
        name: 'backend', url: `http://127.0.0.1:${port}/api/health`, interval: '1s', timeout: '500ms',
        json: { status: 'status', fields: { mqtt_connected: 'mqtt.connected', pending_requests: 'mqtt.pending_requests', absent: 'mqtt.nope' } },
        conditions: ['mqtt.connected == true'],
      }],
    });
    const ex = exporter;
    const m = await waitFor('a probe', async () => {
      const s = await ex.scrape();
      return (s.get('stackwatch_target_checks_total', target) ?? 0) >= 2 ? s : undefined;
    });
    expect(m.get('stackwatch_health_status', { target: 'backend', status: 'degraded' })).toBe(1);
    expect(m.get('stackwatch_health_status', { target: 'backend', status: 'healthy' })).toBe(0);
    expect(m.get('stackwatch_health_status', { target: 'backend', status: 'unhealthy' })).toBe(0);
    expect(m.get('stackwatch_health_status', { target: 'backend', status: 'unknown' })).toBe(0);
    expect(m.get('stackwatch_health_field', { target: 'backend', field: 'pending_requests' })).toBe(57);
    expect(m.get('stackwatch_health_field', { target: 'backend', field: 'mqtt_connected' })).toBe(0);
    expect(m.get('stackwatch_health_field', { target: 'backend', field: 'absent' })).toBeUndefined();
    expect(m.get('stackwatch_http_failures_total', { target: 'backend', reason: 'condition' })).toBeGreaterThanOrEqual(2);
    expect(m.get('stackwatch_target_up', target)).toBe(0);
    const view = ex.app.tracker.view('http', 'backend');
    expect(view?.lastError).toBe('condition failed: mqtt.connected == true (got false)');
  });
});
