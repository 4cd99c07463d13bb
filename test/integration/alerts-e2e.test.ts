/**
 * End to end with real components: the exporter (in-process) watching a loopback HTTP backend,
 * a real Prometheus (scrape and evaluation every 1 s) loading the bundle's rules and alerts
 * generated with short `for:`, a real Alertmanager with the bundle's routing, and a webhook
 * receiver. Kill the backend: StackwatchTargetDown reaches the page receiver. Restart it: the
 * resolved notification arrives and the MTTR recording rule returns the real outage length.
 */
import { alertmanagerConfig, NOTIFICATION_TEMPLATE, TEMPLATE_FILE } from '../../src/bundle/alerts-routing';
import { bundleConfig, variantConfig } from '../../src/bundle/bundle-config';
import { MTTR_NONE } from '../../src/bundle/alerts';
import { R } from '../../src/bundle/names';
import { ruleFiles } from '../../src/bundle/prometheus-files';
import { toYaml } from '../../src/bundle/yaml';
import { startAlertmanager, startWebhookReceiver, type RunningAlertmanager, type WebhookReceiver } from '../harness/alertmanager';
import { startExporter, type RunningExporter } from '../harness/exporter';
import { ProcessSet } from '../harness/processes';
import { startPrometheus, type RunningPrometheus } from '../harness/prometheus';
import { startSwitchBackend, type SwitchBackend } from '../harness/switch-backend';
import { waitFor } from '../harness/wait';

describe('alerts end to end: exporter -> Prometheus -> Alertmanager -> webhook', () => {
  const procs = new ProcessSet();
  let backend: SwitchBackend;
  let exporter: RunningExporter;
  let prom: RunningPrometheus;
  let am: RunningAlertmanager;
  let hook: WebhookReceiver;
  const cfg = variantConfig({ for: '2s' });

  beforeAll(async () => {
    backend = await startSwitchBackend('healthy', { extra: { mqtt: { connected: true } }, keepAlive: true });
    exporter = await startExporter({
      http: [{ name: 'backend', url: `http://127.0.0.1:${backend.port}/api/health`, interval: '500ms', timeout: '400ms' }],
    });
    hook = await startWebhookReceiver();
    const amCfg = variantConfig({
      overrides: {
        alertmanager: {
          ...bundleConfig.alertmanager, webhookBaseUrl: hook.url,
          page: { groupWait: '1s', groupInterval: '1s', repeatInterval: '1h' }, ticket: { groupWait: '1s', groupInterval: '1s', repeatInterval: '1h' },
        },
      },
    });
    am = await startAlertmanager({ config: toYaml(alertmanagerConfig(amCfg)), files: { [TEMPLATE_FILE]: NOTIFICATION_TEMPLATE }, procs });
    prom = await startPrometheus({
      procs,
      interval: '1s',
      scrape: [{ job: cfg.exporter.job, targets: [exporter.url.replace('http://', '')] }],
      ruleFiles: ruleFiles(cfg),
      alertmanagers: [am.hostPort],
      // Alerts firing before Prometheus has discovered the Alertmanager (the Watchdog, at the
      // first evaluation) are re-sent after this delay (default 1m).
      args: ['--rules.alert.resend-delay=1s'],
    });
    await prom.waitForTargetsUp();
    await prom.waitForRules();
  }, 90_000);

  afterAll(async () => {
    await prom?.stop();
    await am?.stop();
    await procs.killAll();
    await exporter?.stop();
    await hook?.close();
    await backend?.close();
  });

  test('target down reaches the webhook, recovery resolves it, MTTR is the outage length', async () => {
    const target = { kind: 'http', target: 'backend' };
    await waitFor('Prometheus to see the backend up', async () => {
      const v = await prom.query(`stackwatch_target_up{kind="http",target="backend"}`);
      return v.length === 1 && v[0]!.value === 1;
    }, 20_000, 250);
    // Nothing about the backend before the outage.
    expect(hook.notifications.filter((n) => n.commonLabels.target === 'backend')).toEqual([]);

    const killedAt = Date.now();
    await backend.stop();

    const firing = await hook.waitFor('StackwatchTargetDown firing', (n) =>
      n.status === 'firing' && n.alerts.some((a) => a.labels.alertname === 'StackwatchTargetDown' && a.labels.target === 'backend'), 45_000);
    expect(firing.path).toBe('/page');
    expect(firing.receiver).toBe('page');
    const alert = firing.alerts.find((a) => a.labels.alertname === 'StackwatchTargetDown')!;
    expect(alert.labels).toMatchObject({ ...target, severity: 'critical', notify: 'page', role: 'symptom', job: cfg.exporter.job, instance: exporter.url.replace('http://', '') });
    expect(alert.annotations.summary).toBe('http target backend is down');
    expect(alert.annotations.runbook_url).toBe(`${cfg.runbookBaseUrl}#stackwatchtargetdown`);
    // Rendered by the real Prometheus: the dashboard link for this target, and its MTTR (looked up
    // with the query template function; no outage has ended yet).
    expect(alert.annotations.dashboard_url).toBe(`${cfg.dashboardBaseUrl}/d/stackwatch-recovery/?orgId=1&var-job=${cfg.exporter.job}&var-instance=${encodeURIComponent(exporter.url.replace('http://', ''))}&var-target=backend`);
    expect(alert.annotations.mttr_7d).toBe(MTTR_NONE);

    // Keep it down a little longer than the alert took, then bring it back on the same port.
    await new Promise((r) => setTimeout(r, 2000));
    await backend.start();
    const restartedAt = Date.now();
    const outage = (restartedAt - killedAt) / 1000;

    const resolved = await hook.waitFor('StackwatchTargetDown resolved', (n) =>
      n.status === 'resolved' && n.alerts.some((a) => a.labels.alertname === 'StackwatchTargetDown' && a.labels.target === 'backend' && a.status === 'resolved'), 45_000);
    expect(resolved.path).toBe('/page');
    expect(resolved.receivedAt).toBeGreaterThan(firing.receivedAt);

    // The exporter's own record of the outage (first failed check to first good one)...
    const m = await exporter.scrape();
    const sum = m.get('stackwatch_target_recovery_seconds_sum', target)!;
    expect(m.get('stackwatch_target_recovery_seconds_count', target)).toBe(1);
    // ...is the real outage, within one check interval (0.5 s) and a margin for scheduling...
    expect(Math.abs(sum - outage)).toBeLessThan(1.5);
    // ...and the MTTR rules return it: one recovery in the window, its length.
    for (const w of ['1d', '7d'] as const) {
      const mttr = await waitFor(`${R.mttr(w)} for the backend`, async () => {
        const v = await prom.query(`${R.mttr(w)}{kind="http",target="backend"}`);
        return v.length === 1 && !Number.isNaN(v[0]!.value) ? v[0]!.value : undefined;
      }, 20_000, 250);
      expect(mttr).toBeCloseTo(sum, 6);
    }
    // The uptime and error-ratio rules saw the outage too.
    const uptime = await prom.query(`${R.uptimeRatio('1d')}{kind="http",target="backend"}`);
    expect(uptime[0]!.value).toBeGreaterThan(0);
    expect(uptime[0]!.value).toBeLessThan(1);
    const errors = await prom.query(`${R.errorRatio('5m')}{kind="http",target="backend"}`);
    expect(errors[0]!.value).toBeGreaterThan(0);

    // The Watchdog went to its own receiver all along; the SLO burn alerts, with seconds of
    // history, said nothing about the error budget.
    expect(hook.notifications.some((n) => n.path === '/watchdog' && n.commonLabels.alertname === 'StackwatchWatchdog')).toBe(true);
    expect(hook.notifications.filter((n) => n.alerts.some((a) => /^StackwatchSlo/.test(a.labels.alertname!)))).toEqual([]);
  }, 120_000);
});
