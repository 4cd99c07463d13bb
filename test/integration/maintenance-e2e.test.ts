/**
 * Maintenance windows end to end: the built exporter (dist/main.js) watching three loopback
 * backends, a real Prometheus (scrape and evaluation every second) with the bundle's rules and
 * alerts, a real Alertmanager with the bundle's routing for the same windows, and a loopback
 * webhook receiver standing for the people paged.
 *
 * The same outage (all three backends fail at once, for the same time):
 *  - `planned` is inside a window known to both the exporter and Alertmanager (time_intervals +
 *    mute routes): nobody is paged, the exporter counts no outage and no failed check, and the SLI
 *    error ratio spends nothing;
 *  - `reloaded` is inside a window only the exporter knows (as after a config reload there, with
 *    Alertmanager's config not regenerated): StackwatchTargetInMaintenance, fired by the gauge,
 *    inhibits its alerts, so nobody is paged either;
 *  - `amonly` is inside a window only Alertmanager knows: its time interval mutes the page route
 *    (so each way is shown to work on its own); the exporter, not told, counts the outage;
 *  - `unplanned` has no window: it pages, counts one outage and spends error budget.
 * Plus amtool check-config on an alertmanager.yml generated with recurring and one-off windows.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { alertmanagerConfig, NOTIFICATION_TEMPLATE, TEMPLATE_FILE } from '../../src/bundle/alerts-routing';
import { bundleConfig, variantConfig, type BundleConfig } from '../../src/bundle/bundle-config';
import { R } from '../../src/bundle/names';
import { ruleFiles } from '../../src/bundle/prometheus-files';
import { toYaml } from '../../src/bundle/yaml';
import type { MaintenanceWindow } from '../../src/config/maintenance';
import { startAlertmanager, startWebhookReceiver, type RunningAlertmanager, type WebhookReceiver } from '../harness/alertmanager';
import { MAIN, withStorage } from '../harness/cli';
import { boundPort } from '../harness/built-daemon';
import { scrape } from '../harness/prom-text';
import { ProcessSet } from '../harness/processes';
import { PROMETHEUS_INSTALL_HINT, startPrometheus, type RunningPrometheus } from '../harness/prometheus';
import { requireBinary } from '../harness/require-binary';
import { startSwitchBackend, type SwitchBackend } from '../harness/switch-backend';
import { sleep, waitFor } from '../harness/wait';

jest.setTimeout(180_000);

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

describe('maintenance windows: exporter -> Prometheus -> Alertmanager -> webhook', () => {
  const procs = new ProcessSet();
  const backends: Record<'planned' | 'reloaded' | 'amonly' | 'unplanned', SwitchBackend> = {} as never;
  let hook: WebhookReceiver;
  let am: RunningAlertmanager;
  let prom: RunningPrometheus;
  let exporterUrl = '';
  let dir = '';
  let cfg: BundleConfig;

  beforeAll(async () => {
    for (const name of ['planned', 'reloaded', 'amonly', 'unplanned'] as const) backends[name] = await startSwitchBackend();
    // Open from a minute ago for 20 minutes: covers the whole test.
    const start = iso(Date.now() - 60_000);
    const end = iso(Date.now() + 20 * 60_000);
    const planned: MaintenanceWindow = { name: 'planned-work', targets: [{ kind: 'http', name: 'planned' }], start, end };
    const reloaded: MaintenanceWindow = { name: 'exporter-only', targets: [{ kind: 'http', name: 'reloaded' }], start, end };
    const amonly: MaintenanceWindow = { name: 'alertmanager-only', targets: [{ kind: 'http', name: 'amonly' }], start, end };

    hook = await startWebhookReceiver();
    const fast = { groupWait: '1s', groupInterval: '1s', repeatInterval: '1h' } as const;
    cfg = variantConfig({
      for: '2s',
      overrides: {
        alertmanager: { ...bundleConfig.alertmanager, webhookBaseUrl: hook.url, page: fast, ticket: fast, other: fast },
        // Alertmanager does not know the exporter-only window.
        maintenance: [planned, amonly],
      },
    });
    cfg.for = { ...cfg.for, StackwatchTargetInMaintenance: '0s' };
    am = await startAlertmanager({ config: toYaml(alertmanagerConfig(cfg)), files: { [TEMPLATE_FILE]: NOTIFICATION_TEMPLATE }, procs });

    dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-maint-'));
    const file = path.join(dir, 'stackwatch.yml');
    writeFileSync(file, stringify({
      http: Object.entries(backends).map(([name, b]) => ({ name, url: b.url, interval: '1s', timeout: '900ms', failure_threshold: 2 })),
      maintenance: {
        windows: [
          { name: planned.name, targets: planned.targets, start, end },
          { name: reloaded.name, targets: reloaded.targets, start, end },
        ],
      },
    }));
    const exporter = procs.start(process.execPath, [MAIN, ...withStorage(['--config', file, '--listen', '127.0.0.1:0'])]);
    const port = await boundPort(exporter);
    exporterUrl = `http://127.0.0.1:${port}`;
    await waitFor('the built exporter to serve /metrics (run `npm run build` first)', async () => {
      try {
        await scrape(exporterUrl);
        return true;
      } catch {
        return false;
      }
    }, 30_000, 200);
    prom = await startPrometheus({
      procs,
      interval: '1s',
      scrape: [{ job: cfg.exporter.job, targets: [`127.0.0.1:${port}`] }],
      ruleFiles: ruleFiles(cfg),
      alertmanagers: [am.hostPort],
      args: ['--rules.alert.resend-delay=1s'],
    });
    await prom.waitForTargetsUp();
    await prom.waitForRules();
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    await am?.stop();
    await procs.killAll();
    await hook?.close();
    for (const b of Object.values(backends)) await b?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  const messagesAbout = (target: string) => hook.notifications.filter((n) => n.path !== '/watchdog'
    && (n.groupLabels.target === target || n.alerts.some((a) => a.labels.target === target)));

  test('the outage inside a window pages nobody and spends no error budget; the same outage outside one does', async () => {
    await waitFor('Prometheus to see the three backends up, two of them in maintenance', async () => {
      const up = await prom.query('stackwatch_target_up{kind="http"} == 1');
      const maint = await prom.query('stackwatch_target_in_maintenance{kind="http"} == 1');
      return up.length === 4 && maint.map((s) => s.metric.target).sort().join() === 'planned,reloaded';
    }, 30_000, 250);
    // The maintenance alert fires for both (it notifies nobody).
    await waitFor('StackwatchTargetInMaintenance firing for both', async () =>
      (await prom.alerts()).filter((a) => a.labels.alertname === 'StackwatchTargetInMaintenance' && a.state === 'firing').length === 2, 20_000, 250);
    const before = await waitFor('an error ratio for unplanned', async () => {
      // A number: the ratio is 0/0 (NaN) until the recording's window holds a check.
      const v = await prom.query(`${R.errorRatio('30d')}{target="unplanned"}`);
      return v.length === 1 && !Number.isNaN(v[0]!.value) ? v[0]!.value : undefined;
    }, 20_000, 250);
    expect(before).toBe(0);

    await Promise.all(Object.values(backends).map((b) => b.set('failing')));
    const failedAt = Date.now();
    const page = await hook.waitFor('StackwatchTargetDown page for unplanned', (n) => n.path === '/page' && n.status === 'firing'
      && n.alerts.some((a) => a.labels.alertname === 'StackwatchTargetDown' && a.labels.target === 'unplanned'), 60_000);
    expect(page.receiver).toBe('page');
    // The two in maintenance fail as long and longer than it took to page the unplanned one.
    await waitFor('StackwatchTargetDown firing in Prometheus for all four (maintenance mutes notifications, not the truth)', async () =>
      (await prom.alerts()).filter((a) => a.labels.alertname === 'StackwatchTargetDown' && a.state === 'firing').length === 4, 30_000, 250);
    const spent = await waitFor('error budget spent by unplanned', async () => {
      const v = await prom.query(`${R.errorRatio('30d')}{target="unplanned"}`);
      return v.length === 1 && v[0]!.value > 0 ? v[0]!.value : undefined;
    }, 20_000, 250);
    expect(spent).toBeGreaterThan(0);
    // Several group intervals more for anything about the planned targets to (wrongly) arrive.
    await sleep(8000);
    const amAlerts = await am.alerts();
    const reloadedDown = amAlerts.find((a) => a.labels.alertname === 'StackwatchTargetDown' && a.labels.target === 'reloaded');
    expect(reloadedDown?.status.state).toBe('suppressed');
    expect(reloadedDown?.status.inhibitedBy.length).toBeGreaterThan(0);
    expect(messagesAbout('planned')).toEqual([]);
    expect(messagesAbout('reloaded')).toEqual([]);
    // Muted by the time interval alone: Alertmanager holds it unsuppressed, and sends it nowhere.
    const amonlyDown = amAlerts.find((a) => a.labels.alertname === 'StackwatchTargetDown' && a.labels.target === 'amonly');
    expect(amonlyDown?.status.state).toBe('active');
    expect(messagesAbout('amonly')).toEqual([]);

    // The exporter: one outage for unplanned; none, and no failed check, for the planned ones.
    const m = await scrape(exporterUrl);
    for (const target of ['planned', 'reloaded']) {
      const l = { kind: 'http', target };
      expect([target, m.get('stackwatch_target_up', l), m.get('stackwatch_target_outages_total', l), m.get('stackwatch_target_check_failures_total', l),
        m.get('stackwatch_target_downtime_seconds_total', l)]).toEqual([target, 0, 0, 0, 0]);
    }
    const u = { kind: 'http', target: 'unplanned' };
    // With the incident list, so that a failure shows what the second outage was.
    const incidents = (await (await fetch(`${exporterUrl}/api/v1/targets`)).json() as { targets: { name: string; incidents: unknown[] }[] }).targets.find((t) => t.name === 'unplanned')!.incidents;
    expect([m.get('stackwatch_target_outages_total', u), incidents]).toEqual([1, expect.anything()]);
    expect(m.get('stackwatch_target_check_failures_total', u)).toBeGreaterThan(0);
    expect(m.get('stackwatch_target_downtime_seconds_total', u)).toBeGreaterThan((Date.now() - failedAt) / 1000 - 3);

    // Prometheus: the SLI spends nothing for the planned ones; their short windows say nothing meanwhile.
    for (const target of ['planned', 'reloaded']) {
      expect(await prom.query(`${R.errorRatio('5m')}{target="${target}"}`)).toEqual([]);
      const ratio = await prom.query(`sum by (target) (increase(stackwatch_target_check_failures_total{target="${target}"}[10m]))`);
      expect(ratio.map((s) => s.value)).toEqual([0]);
    }
    const uptime = await prom.query(`${R.uptimeRatio('1d')}`);
    const byTarget = Object.fromEntries(uptime.map((s) => [s.metric.target, s.value]));
    // Never judged outside maintenance during the test: no uptime figure at all (not 0, not 1).
    expect(byTarget.planned).toBeUndefined();
    expect(byTarget.reloaded).toBeUndefined();
    expect(byTarget.unplanned).toBeLessThan(1);

    // The status API says maintenance, with what the checks give meanwhile.
    const api = await (await fetch(`${exporterUrl}/api/v1/targets`)).json() as { targets: { name: string; state: string; checkedState?: string; outages30d: number }[] };
    const states = Object.fromEntries(api.targets.map((t) => [t.name, [t.state, t.checkedState ?? null, t.outages30d]]));
    expect(states).toEqual({ planned: ['maintenance', 'down', 0], reloaded: ['maintenance', 'down', 0], amonly: ['down', null, 1], unplanned: ['down', null, 1] });
    const badge = await (await fetch(`${exporterUrl}/badge/http/planned/status.svg`)).text();
    expect(badge).toContain('maintenance');

    // Recovery: the unplanned one resolves; the planned ones still never notified anyone.
    await Promise.all(Object.values(backends).map((b) => b.set('healthy')));
    await hook.waitFor('unplanned resolved', (n) => n.path === '/page' && n.status === 'resolved' && n.groupLabels.target === 'unplanned', 60_000);
    await sleep(3000);
    expect(messagesAbout('planned')).toEqual([]);
    expect(messagesAbout('reloaded')).toEqual([]);
    expect(messagesAbout('amonly')).toEqual([]);
    const after = await scrape(exporterUrl);
    expect(after.get('stackwatch_target_recovery_seconds_count', { kind: 'http', target: 'planned' })).toBe(0);
    expect(after.get('stackwatch_target_recovery_seconds_count', u)).toBe(1);
  });
});

describe('amtool check-config on an alertmanager.yml with windows', () => {
  const amtool = requireBinary('amtool', PROMETHEUS_INSTALL_HINT);
  test('recurring (with a time zone) and one-off windows, per target and for all', async () => {
    const windows: MaintenanceWindow[] = [
      {
        name: 'nightly', targets: [{ kind: 'http', name: 'backend' }, { kind: 'container', name: 'backend' }],
        timeIntervals: [
          { weekdays: ['monday:friday'], times: [{ startTime: '02:00', endTime: '02:30' }], location: 'Europe/Berlin' },
          { daysOfMonth: ['-1'], months: ['january:march', '12'], years: ['2026:2030'] },
        ],
      },
      { name: 'upgrade', start: '2026-12-31T23:00:00Z', end: '2027-01-01T02:00:00Z' },
    ];
    const d = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-amcheck-'));
    try {
      const file = path.join(d, 'alertmanager.yml');
      writeFileSync(file, toYaml(alertmanagerConfig({ ...bundleConfig, maintenance: windows })));
      writeFileSync(path.join(d, TEMPLATE_FILE), NOTIFICATION_TEMPLATE);
      const run = (args: string[]) => new Promise<{ code: number; out: string }>((resolve) => {
        execFile(amtool, args, { timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : 1, out: `${stdout}${stderr}` }));
      });
      const r = await run(['check-config', file]);
      if (r.code !== 0) throw new Error(r.out);
      expect(r.out).toContain('SUCCESS');
      // Routing: the window's target goes through its own route to the usual receivers; the maintenance alert to nobody.
      for (const [labels, receiver] of [
        [['alertname=StackwatchTargetDown', 'notify=page', 'role=symptom', 'kind=http', 'target=backend'], 'page'],
        [['alertname=StackwatchSloSlowBurn', 'notify=ticket', 'role=symptom', 'kind=http', 'target=backend'], 'ticket'],
        [['alertname=StackwatchTargetDown', 'notify=page', 'role=symptom', 'kind=http', 'target=other'], 'page'],
        [['alertname=StackwatchTargetInMaintenance', 'kind=http', 'target=backend'], 'maintenance-silent'],
        [['alertname=StackwatchWatchdog'], 'watchdog'],
      ] as const) {
        const t = await run(['config', 'routes', 'test', `--config.file=${file}`, `--verify.receivers=${receiver}`, ...labels]);
        if (t.code !== 0) throw new Error(`${labels.join(' ')} should route to ${receiver}: ${t.out}`);
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
