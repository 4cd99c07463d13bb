/**
 * Past one host, on loopback: two stackwatch daemons (the built dist/main.js, one per "host",
 * each watching its own backend, worker process, mosquitto broker, access log and containers of a
 * shared private dockerd), two Prometheus replicas (Debian's 2.42) loading the bundle's rules and
 * alerts with `external_labels: { replica }` and scraping both hosts, and two Alertmanagers (0.25)
 * clustered by gossip, each replica sending to both, as the README's "Scaling out" describes.
 *
 * Host a's backend goes down long enough to page; host b's blips shorter than the alert's `for:`.
 * Then: the outage reaches the webhook receiver exactly once (firing) and once (resolved), though
 * two replicas raised it and two Alertmanagers received it; both replicas compute the same MTTR
 * for it; and every dashboard query, with the `instance` variable on either host, answers with
 * that host's data only, from either replica.
 */
import { readdirSync, readFileSync, rmSync, appendFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { alertmanagerConfig, NOTIFICATION_TEMPLATE, TEMPLATE_FILE } from '../../src/bundle/alerts-routing';
import { bundleConfig, variantConfig } from '../../src/bundle/bundle-config';
import type { Dashboard } from '../../src/bundle/dashboards/grafana';
import { substituteVariables } from '../../src/bundle/dashboards/promql';
import { R } from '../../src/bundle/names';
import { ruleFiles } from '../../src/bundle/prometheus-files';
import { toYaml } from '../../src/bundle/yaml';
import { startAlertmanager, startWebhookReceiver, type RunningAlertmanager, type WebhookNotification, type WebhookReceiver } from '../harness/alertmanager';
import { startBuiltDaemon, type BuiltDaemon } from '../harness/built-daemon';
import { Dockerd } from '../harness/dockerd';
import { Mosquitto } from '../harness/mosquitto';
import { onFreePorts } from '../harness/ports';
import { ProcessSet } from '../harness/processes';
import { startPrometheus, type RunningPrometheus } from '../harness/prometheus';
import { startSwitchBackend, type SwitchBackend } from '../harness/switch-backend';
import { sleep, waitFor } from '../harness/wait';

jest.setTimeout(300_000);

const DASH_DIR = path.join(__dirname, '..', '..', 'grafana', 'dashboards');
const PROBE_INTERVAL_S = 1;
const FOR = '5s';

/**
 * Queries that return nothing for either host here, by `dashboard uid / panel title / refId`,
 * with the reason; each is checked to be empty for both (so the list cannot hide a broken panel).
 * Everything else must return data for each host. dashboards-live.test.ts covers these panels.
 */
const EMPTY_FOR_BOTH: Record<string, string> = {
  'stackwatch-memory / Predicted time to memory limit / A': 'needs a 30-minute memory floor that grows, longer than a test',
  'stackwatch-errors / TLS certificate expires in / A': 'no HTTPS target on these hosts (dashboards-live.test.ts has one)',
};

/** A long-running worker process whose command line names its host. */
const WORKER = 'setInterval(() => undefined, 1000)';

interface Host {
  name: 'a' | 'b';
  backend: SwitchBackend;
  broker: Mosquitto;
  accessLog: string;
  worker: ReturnType<ProcessSet['start']>;
  daemon: BuiltDaemon;
}

const procs = new ProcessSet();
const hosts: Host[] = [];
const proms: RunningPrometheus[] = [];
const ams: RunningAlertmanager[] = [];
let dockerd: Dockerd | undefined;
let hook: WebhookReceiver | undefined;
let tmp = '';
let running = true;
const loops: Promise<void>[] = [];
const publishers: mqtt.MqttClient[] = [];
let scenarioStart = 0;

function startWorker(host: string): ReturnType<ProcessSet['start']> {
  return procs.start(process.execPath, ['-e', WORKER, `stackwatch-ha-worker-${host}`, tmp]);
}

/** Access-log lines in nginx's format with timings: mostly 200s, some 404s, 502s and 503s. */
function accessLine(i: number): string {
  const code = [200, 200, 200, 200, 404, 200, 502, 200, 503, 200][i % 10]!;
  const route = code === 404 ? '/api/chatbot/nope' : '/api/health';
  const now = new Date();
  const mon = now.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const p = (n: number): string => String(n).padStart(2, '0');
  const t = `${p(now.getUTCDate())}/${mon}/${now.getUTCFullYear()}:${p(now.getUTCHours())}:${p(now.getUTCMinutes())}:${p(now.getUTCSeconds())} +0000`;
  return `127.0.0.1 - - [${t}] "GET ${route}?n=${i} HTTP/1.1" ${code} 42 "-" "test" 0.0${i % 9 + 1}0 0.0${i % 9 + 1}0\n`;
}

async function startHost(name: 'a' | 'b', docker: Dockerd): Promise<Host> {
  const backend = await startSwitchBackend('healthy', {
    extra: { mqtt: { connected: true, pending_requests: 1, last_activity_seconds_ago: 2, reconnect_attempts: 0 } }, keepAlive: true,
  });
  const broker = await Mosquitto.start(procs, { sysInterval: 1 });
  const accessLog = path.join(tmp, `access-${name}.log`);
  appendFileSync(accessLog, '');
  const worker = startWorker(name);
  await Promise.all([
    docker.runContainer(`${name}-app`, ['--memory', '64m', '--health-cmd', 'true', '--health-interval', '1s'], ['sleep', '3600']),
    docker.runContainer(`${name}-sick`, ['--health-cmd', 'false', '--health-interval', '1s', '--health-retries', '1'], ['sleep', '3600']),
    docker.runContainer(`${name}-crashy`, ['--restart', 'on-failure:30', '--memory', '32m'], ['sh', '-c', 'sleep 3; exit 3']),
  ]);
  const daemon = await startBuiltDaemon(procs, {
    http: [{
      name: 'backend', url: `http://127.0.0.1:${backend.port}/api/health`, interval: `${PROBE_INTERVAL_S * 1000}ms`, timeout: '900ms',
      // One slow answer on this shared, loaded machine is not an outage; two in a row are.
      failure_threshold: 2,
      json: {
        status: 'status',
        fields: {
          mqtt_connected: 'mqtt.connected', pending_requests: 'mqtt.pending_requests',
          mqtt_last_activity_seconds_ago: 'mqtt.last_activity_seconds_ago', mqtt_reconnect_attempts: 'mqtt.reconnect_attempts',
        },
      },
    }],
    mqtt: [{
      name: 'mosquitto', url: broker.url, sys_interval: '1s',
      roundtrip: { topic: 'stackwatch/probe', interval: '1s', timeout: '800ms' },
      topics: [{ topic: 'app/events', stale_after: '30s' }],
    }],
    docker: { enabled: true, host: docker.host, resources_interval: '1s', include_names: [`^${name}-`] },
    processes: [{ name: 'worker', cmdline: `stackwatch-ha-worker-${name}` }],
    process_settings: { interval: '1s' },
    logs: [{
      name: 'proxy', path: accessLog, start_at: 'beginning',
      log_format: '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time',
      routes: { health: '^/api/health', chatbot: '^/api/chatbot/' }, traffic: { window: '10s', min_requests: 5, interval: '1s' },
    }],
  });
  // Traffic in the access log and messages on the application topic, all along.
  const pub = mqtt.connect(broker.url, { reconnectPeriod: 500 });
  publishers.push(pub);
  loops.push((async () => {
    for (let i = 0; running; i++) {
      appendFileSync(accessLog, accessLine(i));
      if (i % 5 === 0 && pub.connected) pub.publish('app/events', JSON.stringify({ i }));
      await sleep(200);
    }
  })());
  return { name, backend, broker, accessLog, worker, daemon };
}

afterAll(async () => {
  running = false;
  await Promise.all(loops);
  for (const p of publishers) p.end(true);
  for (const p of proms) await p.stop().catch(() => undefined);
  for (const a of ams) await a.stop().catch(() => undefined);
  for (const h of hosts) {
    await h.daemon.stop().catch(() => undefined);
    await h.backend.close();
    await h.broker.stop().catch(() => undefined);
    h.broker.cleanup();
  }
  await hook?.close();
  await dockerd?.stop().catch(() => undefined);
  await procs.killAll();
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

const cfg = variantConfig({ for: FOR });

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-ha-'));
  scenarioStart = Math.floor(Date.now() / 1000) - 1;
  hook = await startWebhookReceiver();
  // The hosts (on one dockerd) and the Alertmanager pair start at the same time; each host is
  // kept as soon as it runs, so that afterAll stops it if the other fails.
  const hostsStarted = (async () => {
    const d = await Dockerd.start();
    dockerd = d;
    await Promise.all((['a', 'b'] as const).map(async (name) => void hosts.push(await startHost(name, d))));
    hosts.sort((x, y) => (x.name < y.name ? -1 : 1));
  })();
  hostsStarted.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  try {
    await startAlertmanagers(hook.url);
  } finally {
    await hostsStarted;
  }

  // The Prometheus pair: identical but for the replica label; the label is dropped from alerts so
  // that the Alertmanagers see one alert, not one per replica.
  const started = await Promise.allSettled(['r1', 'r2'].map(async (replica) => {
    const promConfig = toYaml({
      global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s', external_labels: { replica } },
      rule_files: Object.keys(ruleFiles(cfg)),
      alerting: {
        alert_relabel_configs: [{ action: 'labeldrop', regex: 'replica' }],
        alertmanagers: [{ static_configs: [{ targets: ams.map((a) => a.hostPort) }] }],
      },
      scrape_configs: [{ job_name: cfg.exporter.job, static_configs: [{ targets: hosts.map((h) => h.daemon.hostPort) }] }],
    });
    return startPrometheus({ procs, config: promConfig, ruleFiles: ruleFiles(cfg), args: ['--rules.alert.resend-delay=1s'] });
  }));
  for (const r of started) if (r.status === 'fulfilled') proms.push(r.value);
  for (const r of started) if (r.status === 'rejected') throw r.reason;
  await Promise.all(proms.map(async (p) => {
    await p.waitForTargetsUp(30_000);
    await p.waitForRules(30_000);
  }));
}, 240_000);

async function startAlertmanagers(webhookBaseUrl: string): Promise<void> {
  // The Alertmanager pair: each listens for gossip and names the other as its peer. A notifying
  // member waits peer_timeout per position before sending, and skips what its peer already sent.
  const amCfg = variantConfig({
    overrides: {
      alertmanager: {
        ...bundleConfig.alertmanager, webhookBaseUrl,
        // The bundle's page group_interval is two evaluation intervals (30s at 15s); for an HA pair it
        // must outlast the replicas' disagreement about a resolve (up to a scrape plus an evaluation
        // interval each), or the first replica's resolve is sent, the other's firing re-opens the
        // alert and a second resolve follows. Five intervals here (1s), as the README advises.
        page: { groupWait: '1s', groupInterval: '5s', repeatInterval: '1h' }, ticket: { groupWait: '1s', groupInterval: '5s', repeatInterval: '1h' },
      },
    },
  });
  const amArgs = ['--cluster.peer-timeout=3s', '--cluster.gossip-interval=100ms', '--cluster.pushpull-interval=2s', '--cluster.settle-timeout=5s'];
  const files = { [TEMPLATE_FILE]: NOTIFICATION_TEMPLATE };
  const config = toYaml(alertmanagerConfig(amCfg));
  await onFreePorts(2, async ([p1, p2]) => {
    const first = await startAlertmanager({ config, files, procs, args: amArgs, cluster: { listenPort: p1!, peers: [`127.0.0.1:${p2!}`] } });
    try {
      ams.push(first, await startAlertmanager({ config, files, procs, args: amArgs, cluster: { listenPort: p2!, peers: [`127.0.0.1:${p1!}`] } }));
    } catch (err) {
      ams.length = 0;
      await first.stop();
      throw err;
    }
  });
  await waitFor('the Alertmanagers to form a two-member cluster', async () => {
    for (const am of ams) {
      const s = (await (await fetch(`${am.url}/api/v2/status`)).json()) as { cluster: { status: string; peers: unknown[] } };
      if (s.cluster.status !== 'ready' || s.cluster.peers.length !== 2) return false;
    }
    return true;
  }, 30_000, 200);
}

const instanceOf = (h: Host): string => h.daemon.hostPort;
/** Page notifications about one host's backend. */
const pagesAbout = (h: Host): WebhookNotification[] => hook!.notifications.filter((n) =>
  n.path === '/page' && n.groupLabels.target === 'backend' && n.groupLabels.instance === instanceOf(h));

describe('two hosts, two Prometheus replicas, two clustered Alertmanagers', () => {
  let outageS = 0;

  test('one outage on host a: exactly one firing and one resolved notification; host b\'s blip pages nobody', async () => {
    const [a, b] = hosts as [Host, Host];
    for (const p of proms) {
      let seen = '';
      await waitFor('both replicas to see both backends up', async () => {
        const v = await p.query('stackwatch_target_up{kind="http",target="backend"}');
        seen = JSON.stringify(v.map((x) => [x.metric.instance, x.value]));
        return v.length === 2 && v.every((x) => x.value === 1);
      }, 30_000, 250).catch(async (err: unknown) => {
        // What each host itself says, so that a failure here shows whose probe failed and why.
        const own = await Promise.all(hosts.map(async (h) => {
          const m = await h.daemon.scrape().catch(() => undefined);
          return `${h.name}: up ${m?.get('stackwatch_target_up', { kind: 'http', target: 'backend' })}, failures ${JSON.stringify(m?.all('stackwatch_http_failures_total').map((x) => [x.labels.reason, x.value]))}`;
        }));
        throw new Error(`${String(err)}; the replica saw ${seen}; the hosts say ${own.join('; ')}`, { cause: err });
      });
    }
    // The Alertmanagers have gossiped the Watchdog notification log: the cluster works end to end.
    // (Awaited below: it comes while the outages play.)
    const watchdog = hook!.waitFor('the Watchdog', (n) => n.path === '/watchdog', 60_000);
    watchdog.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile

    // At the same time: host b down for less than the alert's `for:` (a recovery for the MTTR
    // panels, no page), and a real outage of host a.
    const blip = (async () => {
      await b.backend.stop();
      await sleep(3000);
      await b.backend.start();
    })();
    blip.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    const killedAt = Date.now();
    await a.backend.stop();
    await blip;
    await watchdog;
    const firing = await hook!.waitFor('the page about host a\'s backend', (n) => pagesAbout(a).includes(n) && n.status === 'firing', 60_000);
    await sleep(2000);
    await a.backend.start();
    outageS = (Date.now() - killedAt) / 1000;
    await hook!.waitFor('the resolve of host a\'s backend', (n) => pagesAbout(a).includes(n) && n.status === 'resolved', 60_000);
    // Longer than peer_timeout: a second member that had not heard of the first one's
    // notification would have sent its own by now.
    await sleep(8000);

    const pages = pagesAbout(a);
    const seen = pages.map((n) => `${n.status} at +${((n.receivedAt - killedAt) / 1000).toFixed(1)}s: ${n.alerts.map((x) => `${x.labels.alertname} ${x.status} ${x.startsAt}`).join(', ')}`);
    if (pages.length !== 2) process.stderr.write(`pages about host a:\n${seen.join("\n")}\n`);
    expect([seen, pages.map((n) => n.status)]).toEqual([seen, ['firing', 'resolved']]);
    // One alert in it, not one per replica: the replica label was dropped before the Alertmanagers.
    const down = firing.alerts.filter((x) => x.labels.alertname === 'StackwatchTargetDown');
    expect(down).toHaveLength(1);
    expect(down[0]!.labels).toMatchObject({ target: 'backend', kind: 'http', instance: instanceOf(a), job: cfg.exporter.job });
    expect(down[0]!.labels.replica).toBeUndefined();
    expect(pagesAbout(b)).toEqual([]);
    // One Watchdog message per repeat interval (5 minutes), too: the pair does not double it.
    const watchdogs = hook!.notifications.filter((n) => n.path === '/watchdog').map((n) => n.receivedAt);
    expect(watchdogs.length).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < watchdogs.length; i++) expect(watchdogs[i]! - watchdogs[i - 1]!).toBeGreaterThan(4 * 60_000);
  }, 180_000);

  test('both replicas compute the same MTTR for the outage, within one probe interval, and it is the outage length', async () => {
    const [a] = hosts as [Host];
    const mttrs: number[] = [];
    for (const p of proms) {
      mttrs.push(await waitFor('the MTTR of host a\'s backend on each replica', async () => {
        const v = await p.query(`${R.mttr('1d')}{kind="http",target="backend",instance="${instanceOf(a)}"}`);
        return v.length === 1 && !Number.isNaN(v[0]!.value) ? v[0]!.value : undefined;
      }, 30_000, 250));
    }
    // The host's own record of the outage (first failed check to first good one)...
    const m = await a.daemon.scrape();
    const sum = m.get('stackwatch_target_recovery_seconds_sum', { kind: 'http', target: 'backend' })!;
    const seen = `replica MTTRs ${mttrs.join(", ")}; outage ${outageS} s; host a recorded ${sum} s in ${m.get("stackwatch_target_recovery_seconds_count", { kind: "http", target: "backend" })} outages; failures ${JSON.stringify(m.all('stackwatch_http_failures_total').map((x) => [x.labels.reason, x.value]))}`;
    // ...is the real outage, within a probe interval and a margin for scheduling...
    expect([seen, Math.abs(sum - outageS) < 1.5]).toEqual([seen, true]);
    // ...and both replicas compute it, within one probe interval of each other.
    expect([seen, Math.abs(mttrs[0]! - mttrs[1]!) <= PROBE_INTERVAL_S, Math.abs(mttrs[0]! - sum) < 1e-6]).toEqual([seen, true, true]);
    // The replicas hold the same outage history: one outage of host a, one blip of host b.
    for (const p of proms) {
      const counts = await p.query('stackwatch_target_recovery_seconds_count{kind="http",target="backend"}');
      expect(counts.map((s) => [s.metric.instance, s.value]).sort()).toEqual(hosts.map((h) => [instanceOf(h), 1]).sort());
    }
  }, 60_000);

  test('every dashboard query returns each host\'s data with the instance variable on that host, on either replica', async () => {
    // The scenario's slower parts: a container restarted, the worker restarted.
    for (const h of hosts) {
      await procs.kill(h.worker, 'SIGKILL');
      h.worker = startWorker(h.name);
    }
    await waitFor('both hosts to have seen a worker and a container restart', async () => {
      for (const h of hosts) {
        const m = await h.daemon.scrape();
        if ((m.get('stackwatch_process_restarts_total', { group: 'worker' }) ?? 0) < 1) return false;
        if ((m.get('stackwatch_container_restarts_total', { container: `${h.name}-crashy` }) ?? 0) < 1) return false;
      }
      return true;
    }, 90_000, 500);
    await sleep(3000);

    const end = Math.floor(Date.now() / 1000);
    const failures: string[] = [];
    const emptyFor = new Map<string, Set<string>>();
    let queries = 0;
    for (const f of readdirSync(DASH_DIR).filter((x) => x.endsWith('.json')).sort()) {
      const d = JSON.parse(readFileSync(path.join(DASH_DIR, f), 'utf8')) as Dashboard;
      const all = Object.fromEntries(d.templating.list.flatMap((v) => (v.type === 'query' ? [[v.name, v.allValue]] : [])));
      for (const p of d.panels) {
        if (p.type === 'row') continue;
        for (const t of p.targets) {
          const key = `${d.uid} / ${p.title} / ${t.refId}`;
          for (const h of hosts) {
            const instance = instanceOf(h).replace(/\./g, '\\\\.');
            const expr = substituteVariables(t.expr, { ...all, job: cfg.exporter.job, instance, slo: '99.9', __rate_interval: '10s', __range: '5m', __interval: '2s' });
            for (const [i, prom] of proms.entries()) {
              queries++;
              let series: { metric: Record<string, string>; values: number[] }[];
              try {
                series = t.instant
                  ? (await prom.query(expr, end)).map((s) => ({ metric: s.metric, values: [s.value] }))
                  : (await prom.queryRange(expr, Math.max(scenarioStart, end - 300), end, 2)).map((s) => ({ metric: s.metric, values: s.values.map(([, v]) => v) }));
              } catch (err) {
                failures.push(`${key} (host ${h.name}, replica ${i + 1}): ${String(err)}`);
                continue;
              }
              const withData = series.filter((s) => s.values.some(Number.isFinite));
              if (withData.length === 0) {
                emptyFor.set(key, (emptyFor.get(key) ?? new Set()).add(`${h.name}@${i + 1}`));
                continue;
              }
              // Only this host's series: the variable selects, it does not merely pass.
              const foreign = withData.filter((s) => s.metric.instance !== undefined && s.metric.instance !== instanceOf(h));
              if (foreign.length > 0) failures.push(`${key} (host ${h.name}): series of another instance: ${JSON.stringify(foreign[0]!.metric)}`);
            }
          }
        }
      }
    }
    expect(queries).toBeGreaterThan(4 * 80);
    expect(failures).toEqual([]);
    const both = hosts.flatMap((h) => proms.map((_, i) => `${h.name}@${i + 1}`)).sort();
    const unexpected = [...emptyFor].filter(([key]) => !(key in EMPTY_FOR_BOTH)).map(([key, who]) => `${key}: empty for ${[...who].sort().join(', ')}`);
    expect(unexpected).toEqual([]);
    for (const key of Object.keys(EMPTY_FOR_BOTH)) expect([key, [...(emptyFor.get(key) ?? [])].sort()]).toEqual([key, both]);
  }, 180_000);
});
