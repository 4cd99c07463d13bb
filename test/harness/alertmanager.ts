/**
 * A real Alertmanager (Debian's `prometheus-alertmanager` 0.25) for tests: free loopback port,
 * temp storage dir, clustering disabled unless asked for, a config given by the test. Plus a webhook receiver
 * (an HTTP server on loopback) that records the notifications Alertmanager sends.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { onFreePort } from './ports';
import { ProcessSet } from './processes';
import { startReadyDaemon } from './daemon';
import { PROMETHEUS_INSTALL_HINT } from './prometheus';
import { requireBinary } from './require-binary';
import { waitFor } from './wait';

export interface AlertmanagerOptions {
  /** alertmanager.yml content. */
  config: string;
  /** More files next to alertmanager.yml (notification templates): name -> content. */
  files?: Record<string, string>;
  args?: string[];
  startTimeoutMs?: number;
  procs?: ProcessSet;
  /**
   * Gossip clustering (an HA pair): listen on 127.0.0.1:listenPort and join `peers` (host:port).
   * Without it clustering is off.
   */
  cluster?: { listenPort: number; peers: string[] };
}

export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: 'active' | 'suppressed' | 'unprocessed'; inhibitedBy: string[]; silencedBy: string[] };
  receivers: { name: string }[];
  startsAt: string;
  endsAt: string;
}

export interface RunningAlertmanager {
  url: string;
  port: number;
  /** host:port, for Prometheus' alerting config. */
  hostPort: string;
  dir: string;
  /** Alerts Alertmanager currently holds (API v2). */
  alerts(): Promise<AmAlert[]>;
  log(): string;
  stop(): Promise<void>;
}

export async function startAlertmanager(opts: AlertmanagerOptions): Promise<RunningAlertmanager> {
  const bin = requireBinary('prometheus-alertmanager', PROMETHEUS_INSTALL_HINT);
  const procs = opts.procs ?? new ProcessSet();
  // A port taken between choosing and binding it (by a parallel test worker): start again on another.
  const { dir, port, daemon } = await onFreePort(async (port) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-am-'));
    const configFile = path.join(dir, 'alertmanager.yml');
    writeFileSync(configFile, opts.config);
    for (const [name, content] of Object.entries(opts.files ?? {})) writeFileSync(path.join(dir, name), content);
    const cluster = opts.cluster === undefined
      ? ['--cluster.listen-address=']
      : [`--cluster.listen-address=127.0.0.1:${opts.cluster.listenPort}`, ...opts.cluster.peers.map((p) => `--cluster.peer=${p}`)];
    const daemon = await startReadyDaemon({
      name: 'alertmanager', procs, bin, dir, url: `http://127.0.0.1:${port}`, startTimeoutMs: opts.startTimeoutMs,
      args: [
        `--config.file=${configFile}`,
        `--storage.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        ...cluster,
        '--log.level=debug',
        ...(opts.args ?? []),
      ],
    });
    return { dir, port, daemon };
  });
  const url = `http://127.0.0.1:${port}`;

  const alerts = async (): Promise<AmAlert[]> => {
    const res = await fetch(`${url}/api/v2/alerts`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`Alertmanager /api/v2/alerts answered ${res.status}`);
    return (await res.json()) as AmAlert[];
  };

  return { url, port, hostPort: `127.0.0.1:${port}`, dir, alerts, log: daemon.log, stop: daemon.stop };
}

/** One webhook notification (Alertmanager's webhook payload, version 4). */
export interface WebhookNotification {
  receiver: string;
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  alerts: { status: 'firing' | 'resolved'; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string }[];
  receivedAt: number;
  /** The URL path it was posted to (lets one server stand for several receivers). */
  path: string;
}

export interface WebhookReceiver {
  /** http://127.0.0.1:PORT (append a path per receiver if you like). */
  url: string;
  notifications: WebhookNotification[];
  /** Waits (bounded) for a notification matching `pred`. */
  waitFor(what: string, pred: (n: WebhookNotification) => boolean, timeoutMs?: number): Promise<WebhookNotification>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const notifications: WebhookNotification[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<WebhookNotification, 'receivedAt' | 'path'>;
        notifications.push({ ...body, receivedAt: Date.now(), path: req.url ?? '/' });
        res.writeHead(200).end('ok');
      } catch {
        res.writeHead(400).end('bad json');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    notifications,
    waitFor: (what, pred, timeoutMs = 30_000) => waitFor(`webhook notification: ${what}`, () => notifications.find(pred), timeoutMs, 100),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
