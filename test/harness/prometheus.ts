/**
 * A real Prometheus (Debian's `prometheus` 2.42) for tests: its own free loopback port, a temp
 * storage dir, a config written by the test, rule files written next to it. Used by the alerting
 * end-to-end test and by the dashboards' panel-query test.
 *
 *   const prom = await startPrometheus({ scrape: [{ job: 'stackwatch', targets: [host] }] });
 *   await prom.waitForTargetsUp();
 *   const v = await prom.query('stackwatch_target_up');
 *   await prom.stop();
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startReadyDaemon } from './daemon';
import { onFreePort } from './ports';
import { ProcessSet } from './processes';
import { requireBinary } from './require-binary';
import { waitFor } from './wait';

export const PROMETHEUS_INSTALL_HINT = 'apt-get install -y prometheus prometheus-alertmanager';

export interface ScrapeJob {
  job: string;
  /** host:port, e.g. 127.0.0.1:9967 */
  targets: string[];
  metricsPath?: string;
}

export interface PrometheusOptions {
  /** Scrape jobs (ignored when `config` is given). */
  scrape?: ScrapeJob[];
  /** Global scrape and rule-evaluation interval; default 1s. */
  interval?: string;
  /** Rule files: path relative to the config dir -> YAML content. Loaded via rule_files. */
  ruleFiles?: Record<string, string>;
  /** Alertmanagers to send alerts to (host:port). */
  alertmanagers?: string[];
  /**
   * A complete prometheus.yml to use instead of the generated one (rule file paths relative to
   * the config dir, where `ruleFiles` are written). See testPrometheusConfig() for the default.
   */
  config?: string;
  /** Extra command-line flags. */
  args?: string[];
  /** Bound on startup; default 30 s. */
  startTimeoutMs?: number;
  /** Share a ProcessSet with other components of the test; by default one of its own. */
  procs?: ProcessSet;
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
  time: number;
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

export interface RunningPrometheus {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Config, rule files and storage live here; removed by stop(). */
  dir: string;
  /** Instant query; throws on a query error (with Prometheus' message). */
  query(expr: string, time?: number): Promise<PromSample[]>;
  /** Range query, one entry per series. */
  queryRange(expr: string, start: number, end: number, step: number): Promise<{ metric: Record<string, string>; values: [number, number][] }[]>;
  /** Any Prometheus HTTP API GET (path like /api/v1/rules); returns `data`. */
  api<T = unknown>(pathAndQuery: string): Promise<T>;
  /** Active alerts (pending and firing). */
  alerts(): Promise<PromAlert[]>;
  /** Waits until every configured scrape target is up (health "up"). */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  /** Waits until the rule groups are loaded and have been evaluated at least once. */
  waitForRules(timeoutMs?: number): Promise<void>;
  /** Everything Prometheus wrote to stderr so far (its log). */
  log(): string;
  stop(): Promise<void>;
}

/** prometheus.yml for a test: global interval, scrape jobs, rule files, alertmanagers. */
export function testPrometheusConfig(opts: { interval: string; scrape: ScrapeJob[]; ruleFiles: string[]; alertmanagers: string[] }): string {
  const lines = [
    'global:',
    `  scrape_interval: ${opts.interval}`,
    `  evaluation_interval: ${opts.interval}`,
    `  scrape_timeout: ${opts.interval}`,
  ];
  if (opts.ruleFiles.length > 0) {
    lines.push('rule_files:', ...opts.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`));
  }
  if (opts.alertmanagers.length > 0) {
    lines.push('alerting:', '  alertmanagers:', '    - static_configs:', '        - targets:', ...opts.alertmanagers.map((t) => `            - ${JSON.stringify(t)}`));
  }
  lines.push('scrape_configs:');
  for (const j of opts.scrape) {
    lines.push(`  - job_name: ${JSON.stringify(j.job)}`);
    if (j.metricsPath) lines.push(`    metrics_path: ${JSON.stringify(j.metricsPath)}`);
    lines.push('    static_configs:', '      - targets:', ...j.targets.map((t) => `          - ${JSON.stringify(t)}`));
  }
  if (opts.scrape.length === 0) lines.push('  []');
  return lines.join('\n') + '\n';
}

export async function startPrometheus(opts: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const bin = requireBinary('prometheus', PROMETHEUS_INSTALL_HINT);
  const procs = opts.procs ?? new ProcessSet();
  const interval = opts.interval ?? '1s';
  const ruleFiles = opts.ruleFiles ?? {};
  // A port taken between choosing and binding it (by a parallel test worker): start again on another.
  const { dir, port, daemon } = await onFreePort(async (port) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-prom-'));
    for (const [rel, content] of Object.entries(ruleFiles)) {
      const file = path.join(dir, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
    const config = opts.config ?? testPrometheusConfig({
      interval, scrape: opts.scrape ?? [], ruleFiles: Object.keys(ruleFiles), alertmanagers: opts.alertmanagers ?? [],
    });
    const configFile = path.join(dir, 'prometheus.yml');
    writeFileSync(configFile, config);
    mkdirSync(path.join(dir, 'data'));
    const daemon = await startReadyDaemon({
      name: 'prometheus', procs, bin, dir, url: `http://127.0.0.1:${port}`, startTimeoutMs: opts.startTimeoutMs,
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-lifecycle',
        '--log.level=info',
        ...(opts.args ?? []),
      ],
    });
    return { dir, port, daemon };
  });
  const url = `http://127.0.0.1:${port}`;

  async function api<T>(pathAndQuery: string): Promise<T> {
    const res = await fetch(`${url}${pathAndQuery}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data?: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${pathAndQuery}: ${body.errorType ?? ''} ${body.error ?? res.status}`);
    return body.data as T;
  }

  const query = async (expr: string, time?: number): Promise<PromSample[]> => {
    const q = new URLSearchParams({ query: expr });
    if (time !== undefined) q.set('time', String(time));
    const data = await api<{ resultType: string; result: unknown }>(`/api/v1/query?${q.toString()}`);
    if (data.resultType === 'scalar') {
      const [t, v] = data.result as [number, string];
      return [{ metric: {}, value: Number(v), time: t }];
    }
    if (data.resultType !== 'vector') throw new Error(`query ${expr} returned a ${data.resultType}, expected a vector`);
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
      metric: r.metric, value: Number(r.value[1]), time: r.value[0],
    }));
  };

  const queryRange = async (expr: string, start: number, end: number, step: number) => {
    const q = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) });
    const data = await api<{ result: { metric: Record<string, string>; values: [number, string][] }[] }>(`/api/v1/query_range?${q.toString()}`);
    return data.result.map((r) => ({ metric: r.metric, values: r.values.map(([t, v]) => [t, Number(v)] as [number, number]) }));
  };

  const alerts = async (): Promise<PromAlert[]> => (await api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts;

  const waitForTargetsUp = async (timeoutMs = 20_000): Promise<void> => {
    await waitFor('every Prometheus scrape target to be up', async () => {
      const data = await api<{ activeTargets: { health: string; lastError: string; scrapeUrl: string }[] }>('/api/v1/targets?state=active');
      if (data.activeTargets.length === 0) return false;
      const bad = data.activeTargets.filter((t) => t.health !== 'up');
      if (bad.length > 0) throw new Error(bad.map((t) => `${t.scrapeUrl}: ${t.health} ${t.lastError}`).join('; '));
      return true;
    }, timeoutMs, 200);
  };

  const waitForRules = async (timeoutMs = 20_000): Promise<void> => {
    await waitFor('Prometheus rule groups to be evaluated', async () => {
      const data = await api<{ groups: { name: string; lastEvaluation: string; rules: { health: string; lastError?: string; name: string }[] }[] }>('/api/v1/rules');
      if (data.groups.length === 0) return false;
      for (const g of data.groups) {
        if (g.lastEvaluation.startsWith('0001-')) return false;
        const bad = g.rules.filter((r) => r.health === 'err');
        if (bad.length > 0) throw new Error(bad.map((r) => `${r.name}: ${r.lastError ?? ''}`).join('; '));
      }
      return true;
    }, timeoutMs, 200);
  };

  return { url, port, dir, query, queryRange, api, alerts, waitForTargetsUp, waitForRules, log: daemon.log, stop: daemon.stop };
}
