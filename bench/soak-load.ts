/**
 * The soak's load, shared by bench/soak.ts and bench/rss-ab.ts: the HTTP JSON health targets (one
 * server, one path per target, a failing one answers 503) and the daemon's configuration.
 */
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dockerd } from '../test/harness/dockerd';
import type { Mosquitto } from '../test/harness/mosquitto';
import type { ProcessSet } from '../test/harness/processes';

export interface HealthTargets {
  server: http.Server;
  port: number;
  /** Targets answering 503 while their index is in here. */
  failing: Set<number>;
}

export async function startHealthTargets(): Promise<HealthTargets> {
  const failing = new Set<number>();
  const server = http.createServer((req, res) => {
    const i = Number(/^\/t\/(\d+)/.exec(req.url ?? '')?.[1] ?? -1);
    const bad = failing.has(i);
    res.writeHead(bad ? 503 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({
      status: bad ? 'unhealthy' : 'healthy', mqtt: { connected: true, pending_requests: i % 7, last_activity_seconds_ago: 1, reconnect_attempts: 0 },
    }));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port, failing };
}

export interface SoakConfigOptions {
  httpPort: number;
  nHttp: number;
  /** With one more HTTP target (what a reload adds and the next removes). */
  extra: boolean;
  brokerUrl: string;
  /** The private dockerd's host; no docker section without it. */
  dockerHost?: string;
  groupNames: string[];
  accessLog: string;
  routes: Record<string, string>;
}

export function soakConfig(o: SoakConfigOptions): Record<string, unknown> {
  return {
    http: [
      ...Array.from({ length: o.nHttp }, (_, i) => ({
        name: `t${i}`, url: `http://127.0.0.1:${o.httpPort}/t/${i}`, interval: '5s', timeout: '3s',
        json: { status: 'status', fields: { mqtt_connected: 'mqtt.connected', pending_requests: 'mqtt.pending_requests' } },
      })),
      ...(o.extra ? [{ name: 'reload-extra', url: `http://127.0.0.1:${o.httpPort}/t/9999`, interval: '5s', timeout: '3s' }] : []),
    ],
    mqtt: [{ name: 'broker', url: o.brokerUrl, sys_interval: '10s', roundtrip: { topic: 'stackwatch/probe', interval: '10s', timeout: '5s' } }],
    ...(o.dockerHost !== undefined ? { docker: { enabled: true, host: o.dockerHost } } : {}),
    processes: o.groupNames.map((n, g) => ({ name: `g${g}`, cmdline: `^${n}( |$)` })),
    logs: [{
      name: 'proxy', path: o.accessLog, start_at: 'beginning', rotate_wait: '5s',
      log_format: '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time',
      routes: o.routes,
    }],
  };
}

/** Stops what a soak-like run started (after its daemons), ignoring what never started. */
export async function stopLoad(r: { server?: http.Server; broker?: Mosquitto; docker?: Dockerd; procs: ProcessSet; dir: string }): Promise<void> {
  r.server?.closeAllConnections();
  r.server?.close();
  await r.broker?.stop().catch(() => undefined);
  r.broker?.cleanup();
  await r.docker?.stop().catch(() => undefined);
  await r.procs.killAll();
  rmSync(r.dir, { recursive: true, force: true });
}
