/**
 * prometheus/alertmanager/alertmanager.yml through Debian's amtool 0.25 (check-config, routes test
 * for every severity, receiver and alert) and through a real Alertmanager: notifications reach the
 * receiver of their severity, and the inhibitions mute what they should and nothing else.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { allAlerts } from '../../bundle/alerts';
import { alertmanagerConfig } from '../../bundle/alerts-routing';
import { bundleConfig, variantConfig } from '../../bundle/bundle-config';
import { toYaml } from '../../bundle/yaml';
import { startAlertmanager, startWebhookReceiver, type AmAlert, type RunningAlertmanager, type WebhookReceiver } from '../harness/alertmanager';
import { ProcessSet } from '../harness/processes';
import { PROMETHEUS_INSTALL_HINT } from '../harness/prometheus';
import { requireBinary } from '../harness/require-binary';
import { waitFor } from '../harness/wait';

const configFile = path.join(__dirname, '..', '..', 'prometheus', 'alertmanager', 'alertmanager.yml');
const amtool = requireBinary('amtool', PROMETHEUS_INSTALL_HINT);

function amtoolRun(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(amtool, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: `${stdout}${stderr}` });
    });
  });
}

/** `amtool config routes test`: passes only when the labels route to exactly `receiver`. */
async function routesTo(labels: Record<string, string>, receiver: string): Promise<void> {
  const r = await amtoolRun(['config', 'routes', 'test', `--config.file=${configFile}`, `--verify.receivers=${receiver}`,
    ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
  if (r.code !== 0) throw new Error(`${JSON.stringify(labels)} should route to ${receiver}: ${r.out}`);
}

describe('amtool', () => {
  test('check-config', async () => {
    const r = await amtoolRun(['check-config', configFile]);
    if (r.code !== 0) throw new Error(r.out);
    expect(r.out).toContain('SUCCESS');
    expect(r.out).toContain('6 inhibit rules');
  });

  test.each([
    [{ alertname: 'StackwatchTargetDown', severity: 'critical', kind: 'http', target: 'backend' }, 'critical'],
    [{ alertname: 'StackwatchSloSlowBurn', severity: 'warning', kind: 'http', target: 'backend' }, 'warning'],
    [{ alertname: 'SomethingInformational', severity: 'info' }, 'info'],
    [{ alertname: 'StackwatchWatchdog', severity: 'info' }, 'watchdog'],
    [{ alertname: 'NoSeverityAtAll' }, 'default'],
  ])('routes %j to %s', async (labels, receiver) => {
    await routesTo(labels, receiver);
  });

  test('a wrong receiver fails the routes test (the check has teeth)', async () => {
    await expect(routesTo({ alertname: 'StackwatchTargetDown', severity: 'critical' }, 'warning')).rejects.toThrow(/should route to warning/);
  });

  test.each(allAlerts(bundleConfig).map((a) => [a.alert, a.labels.severity!] as const))('%s (severity %s) routes to its receiver', async (alertname, severity) => {
    await routesTo({ alertname, severity, job: 'stackwatch', instance: 'stackwatch:9967' }, alertname === 'StackwatchWatchdog' ? 'watchdog' : severity);
  });
});

describe('a real Alertmanager with the bundle config', () => {
  const procs = new ProcessSet();
  let am: RunningAlertmanager;
  let hook: WebhookReceiver;

  beforeAll(async () => {
    hook = await startWebhookReceiver();
    const cfg = variantConfig({ overrides: { alertmanager: { ...bundleConfig.alertmanager, webhookBaseUrl: hook.url, groupWait: '1s', groupInterval: '1s' } } });
    am = await startAlertmanager({ config: toYaml(alertmanagerConfig(cfg)), procs });
  }, 40_000);

  afterAll(async () => {
    await am?.stop();
    await hook?.close();
    await procs.killAll();
  });

  async function post(alerts: Record<string, string>[]): Promise<void> {
    const res = await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts.map((labels) => ({ labels, annotations: { summary: labels.alertname }, startsAt: new Date().toISOString() }))),
    });
    expect(res.status).toBe(200);
  }

  const find = (all: AmAlert[], labels: Record<string, string>): AmAlert | undefined =>
    all.find((a) => Object.entries(labels).every(([k, v]) => a.labels[k] === v));

  async function states(expected: { labels: Record<string, string>; state: 'active' | 'suppressed' }[]): Promise<void> {
    await waitFor('Alertmanager to settle the inhibitions', async () => {
      const all = await am.alerts();
      return expected.every((e) => find(all, e.labels)?.status.state === e.state);
    }, 15_000, 200).catch(async (err) => {
      const all = await am.alerts();
      throw new Error(`${String(err)}\n${JSON.stringify(expected.map((e) => ({ want: e, got: find(all, e.labels)?.status })), null, 1)}`);
    });
  }

  test('critical and warning alerts reach their receivers', async () => {
    await post([
      { alertname: 'StackwatchProcessNotRunning', severity: 'critical', job: 'stackwatch', instance: 'route:1', kind: 'process', target: 'worker', group: 'worker' },
      { alertname: 'StackwatchContainerOomKilled', severity: 'warning', job: 'stackwatch', instance: 'route:1', kind: 'container', target: 'api', container: 'api' },
    ]);
    const crit = await hook.waitFor('critical receiver', (n) => n.path === '/critical' && n.commonLabels.alertname === 'StackwatchProcessNotRunning', 20_000);
    expect(crit.status).toBe('firing');
    const warn = await hook.waitFor('warning receiver', (n) => n.path === '/warning' && n.commonLabels.alertname === 'StackwatchContainerOomKilled', 20_000);
    expect(warn.alerts[0]!.labels.container).toBe('api');
  }, 30_000);

  test('exporter down mutes the alerts about its targets, not those of another exporter', async () => {
    const job = 'stackwatch';
    await post([
      { alertname: 'StackwatchExporterDown', severity: 'critical', job, instance: 'exp:1' },
      { alertname: 'StackwatchTargetDown', severity: 'critical', job, instance: 'exp:1', kind: 'http', target: 'backend' },
      { alertname: 'StackwatchContainerUnhealthy', severity: 'warning', job, instance: 'exp:1', kind: 'container', target: 'db', container: 'db' },
      { alertname: 'StackwatchTargetDown', severity: 'critical', job, instance: 'exp:2', kind: 'http', target: 'backend' },
    ]);
    await states([
      { labels: { alertname: 'StackwatchExporterDown', instance: 'exp:1' }, state: 'active' },
      { labels: { alertname: 'StackwatchTargetDown', instance: 'exp:1' }, state: 'suppressed' },
      { labels: { alertname: 'StackwatchContainerUnhealthy', instance: 'exp:1' }, state: 'suppressed' },
      { labels: { alertname: 'StackwatchTargetDown', instance: 'exp:2' }, state: 'active' },
    ]);
  }, 30_000);

  test('broker down mutes the alerts that depend on the broker', async () => {
    const base = { job: 'stackwatch', instance: 'mq:1' };
    await post([
      { alertname: 'StackwatchMqttBrokerDown', severity: 'critical', ...base, broker: 'main', kind: 'mqtt', target: 'main' },
      { alertname: 'StackwatchMqttSysStale', severity: 'warning', ...base, broker: 'main', kind: 'mqtt', target: 'main' },
      { alertname: 'StackwatchMqttRoundtripFailing', severity: 'critical', ...base, broker: 'main', kind: 'mqtt', target: 'main' },
      { alertname: 'StackwatchMqttRoundtripFailing', severity: 'critical', ...base, broker: 'other', kind: 'mqtt', target: 'other' },
      { alertname: 'StackwatchBackendMqttDisconnected', severity: 'critical', ...base, kind: 'http', target: 'backend', field: 'mqtt_connected' },
      { alertname: 'StackwatchTargetDown', severity: 'critical', ...base, kind: 'http', target: 'backend' },
    ]);
    await states([
      { labels: { alertname: 'StackwatchMqttBrokerDown', instance: 'mq:1' }, state: 'active' },
      { labels: { alertname: 'StackwatchMqttSysStale', instance: 'mq:1' }, state: 'suppressed' },
      { labels: { alertname: 'StackwatchMqttRoundtripFailing', instance: 'mq:1', broker: 'main' }, state: 'suppressed' },
      { labels: { alertname: 'StackwatchMqttRoundtripFailing', instance: 'mq:1', broker: 'other' }, state: 'active' },
      { labels: { alertname: 'StackwatchBackendMqttDisconnected', instance: 'mq:1' }, state: 'suppressed' },
      // The backend itself down is not the broker's doing.
      { labels: { alertname: 'StackwatchTargetDown', instance: 'mq:1' }, state: 'active' },
    ]);
  }, 30_000);

  test('Docker API down mutes the container alerts of its exporter, nothing else', async () => {
    const job = 'stackwatch';
    await post([
      { alertname: 'StackwatchDockerApiDown', severity: 'warning', job, instance: 'dk:1' },
      { alertname: 'StackwatchContainerUnhealthy', severity: 'warning', job, instance: 'dk:1', kind: 'container', target: 'db', container: 'db', status: 'unhealthy' },
      { alertname: 'StackwatchTargetDown', severity: 'critical', job, instance: 'dk:1', kind: 'container', target: 'api' },
      { alertname: 'StackwatchTargetDown', severity: 'critical', job, instance: 'dk:1', kind: 'http', target: 'api' },
      { alertname: 'StackwatchCollectorFailing', severity: 'warning', job, instance: 'dk:1', collector: 'process' },
      { alertname: 'StackwatchContainerUnhealthy', severity: 'warning', job, instance: 'dk:2', kind: 'container', target: 'db', container: 'db', status: 'unhealthy' },
    ]);
    await states([
      { labels: { alertname: 'StackwatchDockerApiDown', instance: 'dk:1' }, state: 'active' },
      { labels: { alertname: 'StackwatchContainerUnhealthy', instance: 'dk:1' }, state: 'suppressed' },
      { labels: { alertname: 'StackwatchTargetDown', instance: 'dk:1', kind: 'container' }, state: 'suppressed' },
      // An HTTP endpoint does not depend on the Docker API, nor does another collector.
      { labels: { alertname: 'StackwatchTargetDown', instance: 'dk:1', kind: 'http' }, state: 'active' },
      { labels: { alertname: 'StackwatchCollectorFailing', instance: 'dk:1' }, state: 'active' },
      // Another exporter still reaches its Docker engine.
      { labels: { alertname: 'StackwatchContainerUnhealthy', instance: 'dk:2' }, state: 'active' },
    ]);
  }, 30_000);

  test('MQTT auth failing mutes broker down for that broker, and the muted broker down still mutes its dependents', async () => {
    const base = { job: 'stackwatch', instance: 'au:1' };
    await post([
      { alertname: 'StackwatchMqttAuthFailing', severity: 'critical', ...base, broker: 'main', kind: 'mqtt', target: 'main', reason: 'auth' },
      { alertname: 'StackwatchMqttBrokerDown', severity: 'critical', ...base, broker: 'main', kind: 'mqtt', target: 'main' },
      { alertname: 'StackwatchMqttRoundtripFailing', severity: 'critical', ...base, broker: 'main', kind: 'mqtt', target: 'main' },
      { alertname: 'StackwatchMqttBrokerDown', severity: 'critical', ...base, broker: 'other', kind: 'mqtt', target: 'other' },
    ]);
    await states([
      { labels: { alertname: 'StackwatchMqttAuthFailing', instance: 'au:1' }, state: 'active' },
      { labels: { alertname: 'StackwatchMqttBrokerDown', instance: 'au:1', broker: 'main' }, state: 'suppressed' },
      // Muted by the (itself muted) broker down: critical, so not by the severity rule.
      { labels: { alertname: 'StackwatchMqttRoundtripFailing', instance: 'au:1', broker: 'main' }, state: 'suppressed' },
      { labels: { alertname: 'StackwatchMqttBrokerDown', instance: 'au:1', broker: 'other' }, state: 'active' },
    ]);
  }, 30_000);

  test('a critical alert mutes warnings for the same target only', async () => {
    const base = { job: 'stackwatch', instance: 'sev:1' };
    await post([
      { alertname: 'StackwatchTargetDown', severity: 'critical', ...base, kind: 'http', target: 'api' },
      { alertname: 'StackwatchSloSlowBurn', severity: 'warning', ...base, kind: 'http', target: 'api' },
      { alertname: 'StackwatchSloSlowBurn', severity: 'warning', ...base, kind: 'http', target: 'web' },
      { alertname: 'StackwatchContainerCrashLooping', severity: 'warning', ...base, kind: 'container', target: 'api', container: 'api' },
    ]);
    await states([
      { labels: { alertname: 'StackwatchTargetDown', instance: 'sev:1' }, state: 'active' },
      { labels: { alertname: 'StackwatchSloSlowBurn', instance: 'sev:1', target: 'api' }, state: 'suppressed' },
      { labels: { alertname: 'StackwatchSloSlowBurn', instance: 'sev:1', target: 'web' }, state: 'active' },
      // Same name, different kind: the container api is another target than the HTTP endpoint api.
      { labels: { alertname: 'StackwatchContainerCrashLooping', instance: 'sev:1' }, state: 'active' },
    ]);
  }, 30_000);
});
