/**
 * The incident replay: the built exporter (dist/main.js, as a user runs it) watching real
 * targets, a real Prometheus loading the bundle's rules and alerts, a real Alertmanager with the
 * bundle's routing and template, and a loopback webhook receiver standing for the people paged.
 *
 * The bundle is generated through its variant config with every `for:` divided by 3 (their order,
 * causes before symptoms, is kept), short Alertmanager waits and a few shorter windows, so that
 * an incident plays in well under a minute. Scrape and evaluation run every second.
 *
 * `Replay.pages(target)` is what the people responsible for `target` received: firing and
 * resolved messages of the page receiver for that target name (tickets and the Watchdog apart).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { alertmanagerConfig, NOTIFICATION_TEMPLATE, TEMPLATE_FILE } from '../../src/bundle/alerts-routing';
import { type BundleConfig, bundleConfig, variantConfig } from '../../src/bundle/bundle-config';
import { ruleFiles } from '../../src/bundle/prometheus-files';
import { toYaml } from '../../src/bundle/yaml';
import { startAlertmanager, startWebhookReceiver, type RunningAlertmanager, type WebhookNotification, type WebhookReceiver } from '../harness/alertmanager';
import { boundPort } from '../harness/built-daemon';
import { scrape, type Metrics } from '../harness/prom-text';
import { ProcessSet } from '../harness/processes';
import { startPrometheus, type RunningPrometheus } from '../harness/prometheus';
import { sleep, waitFor } from '../harness/wait';

const ROOT = path.join(__dirname, '..', '..');

/** The replay's variant of the bundle: a third of each `for:`, second-scale Alertmanager waits, short windows. */
export function replayConfig(webhookBaseUrl: string): BundleConfig {
  const fast = { groupWait: '2s', groupInterval: '2s', repeatInterval: '1h' } as const;
  const cfg = variantConfig({
    forDivisor: 3,
    overrides: {
      alertmanager: { ...bundleConfig.alertmanager, webhookBaseUrl, page: fast, ticket: fast, other: fast },
      oomWindow: '20s',
      symptomHoldDown: '20s',
      mqtt: { ...bundleConfig.mqtt, sysStaleSeconds: 10, roundtripRecoveryWindow: '10s' },
      pendingRequests: { ...bundleConfig.pendingRequests, growthWindow: '20s' },
    },
  });
  cfg.for = { ...cfg.for, StackwatchPendingRequestsGrowing: '10s' };
  return cfg;
}

export class Replay {
  readonly procs = new ProcessSet();
  hook!: WebhookReceiver;
  am!: RunningAlertmanager;
  prom!: RunningPrometheus;
  cfg!: BundleConfig;
  exporterUrl = '';
  private dir = '';

  /**
   * Starts receiver, Alertmanager, the built exporter with `exporterConfig`, and Prometheus.
   * Alertmanager starts while the exporter does (and while `exporterConfig`, if a promise, is
   * still being made: the targets' services starting); Prometheus needs both addresses.
   */
  async start(exporterConfig: Record<string, unknown> | Promise<Record<string, unknown>>): Promise<void> {
    const config = Promise.resolve(exporterConfig);
    config.catch(() => undefined); // handled below; not an unhandled rejection meanwhile
    this.hook = await startWebhookReceiver();
    this.cfg = replayConfig(this.hook.url);
    const amStarted = startAlertmanager({ config: toYaml(alertmanagerConfig(this.cfg)), files: { [TEMPLATE_FILE]: NOTIFICATION_TEMPLATE }, procs: this.procs })
      .then((am) => { this.am = am; });
    let port: number;
    try {
      port = await this.startExporter(await config);
    } catch (err) {
      // Alertmanager's process exists (and this.am is set) before stop() runs.
      await amStarted.catch(() => undefined);
      throw err;
    }
    await amStarted;
    this.prom = await startPrometheus({
      procs: this.procs,
      interval: '1s',
      scrape: [{ job: this.cfg.exporter.job, targets: [`127.0.0.1:${port}`] }],
      ruleFiles: ruleFiles(this.cfg),
      alertmanagers: [this.am.hostPort],
      args: ['--rules.alert.resend-delay=1s'],
    });
    await this.prom.waitForTargetsUp();
    await this.prom.waitForRules();
  }

  /** The built exporter on port 0 with `config`, serving /metrics; its port. */
  private async startExporter(config: Record<string, unknown>): Promise<number> {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-replay-'));
    const file = path.join(this.dir, 'stackwatch.yml');
    writeFileSync(file, stringify(config));
    // Port 0: the kernel's choice, read back from the daemon's log (no port to lose to a parallel test).
    const daemon = this.procs.start(process.execPath, [path.join(ROOT, 'dist', 'main.js'), '--config', file, '--listen', '127.0.0.1:0', '--storage.path', path.join(this.dir, 'data')], { cwd: ROOT });
    const port = await boundPort(daemon);
    this.exporterUrl = `http://127.0.0.1:${port}`;
    await waitFor('the built exporter to serve /metrics (run `npm run build` first)', async () => {
      try {
        await scrape(this.exporterUrl);
        return true;
      } catch {
        return false;
      }
    }, 30_000, 200);
    return port;
  }

  async stop(): Promise<void> {
    await this.prom?.stop();
    await this.am?.stop();
    await this.procs.killAll();
    await this.hook?.close();
    if (this.dir !== '') rmSync(this.dir, { recursive: true, force: true });
  }

  scrape(): Promise<Metrics> {
    return scrape(this.exporterUrl);
  }

  /** The page messages about `target` (by group, i.e. by target name), in order. */
  pages(target: string): WebhookNotification[] {
    return this.hook.notifications.filter((n) => n.path === '/page' && n.groupLabels.target === target);
  }

  /** Every message about `target` on any receiver but the Watchdog's. */
  messages(target: string): WebhookNotification[] {
    return this.hook.notifications.filter((n) => n.path !== '/watchdog' && (n.groupLabels.target === target || n.alerts.some((a) => a.labels.target === target)));
  }

  /** Waits until Prometheus sees `expr` return at least one series with value `value`. */
  async until(what: string, expr: string, value: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(what, async () => (await this.prom.query(expr)).some((s) => s.value === value), timeoutMs, 250);
  }

  /**
   * Waits for the first page about `target` and checks it: one message, firing, naming the cause
   * (`cause` is among its alerts, with role="cause"), sent within `withinS` of `startedAt`.
   * Returns the message and its delay in seconds.
   */
  async expectPage(target: string, startedAt: number, cause: string, withinS = 120): Promise<{ page: WebhookNotification; delayS: number }> {
    const page = await this.hook.waitFor(`a page about ${target}`, (n) => n.path === '/page' && n.groupLabels.target === target, withinS * 1000 + 10_000);
    const delayS = (page.receivedAt - startedAt) / 1000;
    const describe = JSON.stringify(page.alerts.map((a) => [a.labels.alertname, a.status]));
    expect([target, page.status, describe]).toEqual([target, 'firing', expect.stringContaining(cause)]);
    const named = page.alerts.find((a) => a.labels.alertname === cause)!;
    expect(named.labels.role).toBe('cause');
    expect(named.annotations.summary!.length).toBeGreaterThan(10);
    expect([target, delayS]).toEqual([target, expect.any(Number)]);
    if (delayS > withinS) throw new Error(`the page about ${target} came ${delayS}s after the incident started (limit ${withinS}s): ${describe}`);
    return { page, delayS };
  }

  /**
   * After recovery at `recoveredAt`: the next message about `target` is the resolve, within
   * `withinS`, and nothing else follows it during `quietS` seconds.
   */
  async expectResolvedOnly(target: string, recoveredAt: number, withinS = 60, quietS = 10): Promise<number> {
    const before = this.pages(target).length;
    const resolved = await this.hook.waitFor(`the resolve of ${target}`, (n) => n.path === '/page' && n.groupLabels.target === target && n.status === 'resolved' && n.receivedAt >= recoveredAt, withinS * 1000 + 5000);
    const delayS = (resolved.receivedAt - recoveredAt) / 1000;
    if (delayS > withinS) throw new Error(`the resolve of ${target} came ${delayS}s after recovery (limit ${withinS}s)`);
    for (const a of resolved.alerts) expect(Date.parse(a.endsAt)).toBeGreaterThan(Date.parse(a.startsAt));
    await sleep(quietS * 1000);
    const after = this.pages(target);
    // Between recovery and the end of the quiet time: only the resolve.
    expect(after.slice(before).map((n) => n.status)).toEqual(['resolved']);
    return delayS;
  }
}

/** A small HTTP backend with a health endpoint, run as its own node process named by `marker`. */
export const BACKEND_SCRIPT = `
const http = require('http');
const port = Number(process.argv[1]);
const dieAfter = Number(process.argv[3] || 0);
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ status: 'healthy', mqtt: { connected: true, pending_requests: 0 } }));
}).listen(port, '127.0.0.1');
if (dieAfter > 0) setTimeout(() => process.exit(1), dieAfter);
`;

/** Starts the backend on `port`, named `marker` in its command line; dies after `dieAfterMs` if given. */
export function startBackend(procs: ProcessSet, port: number, marker: string, dieAfterMs = 0) {
  return procs.start(process.execPath, ['-e', BACKEND_SCRIPT, String(port), marker, String(dieAfterMs)]);
}

export function log(line: string): void {
  process.stdout.write(`[replay] ${line}\n`);
}
