import type { Config } from '../config/schema';
import type { CollectorKind } from './collector';
import type { DockerConfig } from '../config/docker';
import type { HttpSection } from './http';
import type { ProcessSection } from './process';

/*
 * The collector table: one row per kind. A kind's module is loaded only when its section asks
 * for something: the MQTT client, dockerode and systeminformation weigh 10-20 MB of RSS each.
 * Plain requires, as import() would need jest's experimental VM modules.
 */
/* eslint-disable @typescript-eslint/no-require-imports */

/** A row, typed by its section while written; the table holds rows of every kind. */
function row<S>(k: CollectorKind<S>): CollectorKind<unknown> {
  return k;
}

export const COLLECTOR_TABLE: readonly CollectorKind<unknown>[] = [
  row<HttpSection>({
    name: 'http', targetKind: 'http',
    section: (c) => ({ targets: c.http, inFlight: c.limits.http_in_flight }),
    configured: (s) => s.targets.length > 0,
    create: (ctx) => new (require('./http') as typeof import('./http')).HttpCollector(ctx),
  }),
  row<DockerConfig>({
    name: 'docker', targetKind: 'container',
    section: (c) => c.docker,
    configured: (s) => s.enabled !== false,
    create: (ctx) => new (require('./docker') as typeof import('./docker')).DockerCollector(ctx),
  }),
  row<Config['mqtt']>({
    name: 'mqtt', targetKind: 'mqtt',
    section: (c) => c.mqtt,
    configured: (s) => s.length > 0,
    create: (ctx) => new (require('./mqtt') as typeof import('./mqtt')).MqttCollector(ctx),
  }),
  row<ProcessSection>({
    name: 'process', targetKind: 'process',
    section: (c) => ({ processes: c.processes, process_discovery: c.process_discovery, process_settings: c.process_settings }),
    configured: (s) => s.processes.length > 0 || s.process_discovery.enabled,
    create: (ctx) => new (require('./process') as typeof import('./process')).ProcessCollector(ctx),
  }),
  row<Config['logs']>({
    name: 'logs', targetKind: 'traffic',
    section: (c) => c.logs,
    configured: (s) => s.length > 0,
    create: (ctx) => new (require('./logs') as typeof import('./logs')).LogsCollector(ctx),
  }),
];
/* eslint-enable @typescript-eslint/no-require-imports */
