import type { Config } from '../config/schema';
import type { Collector, CollectorContext } from './collector';
import { HttpCollector } from './http';

/*
 * Collectors other than HTTP are loaded only when the configuration asks for them: the MQTT
 * client and systeminformation weigh 10-15 MB of RSS each (dockerode is deferred inside the
 * Docker collector until an engine is actually there). Plain requires, as import() would need
 * jest's experimental VM modules.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const load = {
  docker: () => (require('./docker') as typeof import('./docker')).DockerCollector,
  mqtt: () => (require('./mqtt') as typeof import('./mqtt')).MqttCollector,
  process: () => (require('./process') as typeof import('./process')).ProcessCollector,
  logs: () => (require('./logs') as typeof import('./logs')).LogsCollector,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** The collectors a configuration asks for. Each one is only constructed here; start() opens it. */
export function buildCollectors(config: Config, ctx: CollectorContext): Collector[] {
  const out: Collector[] = [];
  if (config.http.length > 0) out.push(new HttpCollector(config.http, config.limits.http_in_flight, ctx));
  if (config.docker.enabled !== false) out.push(new (load.docker())(config.docker, ctx));
  if (config.mqtt.length > 0) out.push(new (load.mqtt())(config.mqtt, ctx));
  if (config.processes.length > 0 || config.process_discovery.enabled) out.push(new (load.process())(config, ctx));
  if (config.logs.length > 0) out.push(new (load.logs())(config.logs, ctx));
  return out;
}
