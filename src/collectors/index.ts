import type { Config } from '../config/schema';
import type { Collector, CollectorContext } from './collector';
import { DockerCollector } from './docker';
import { HttpCollector } from './http';
import { MqttCollector } from './mqtt';

/** The collectors a configuration asks for. Each one is only constructed here; start() opens it. */
export function buildCollectors(config: Config, ctx: CollectorContext): Collector[] {
  const out: Collector[] = [];
  if (config.http.length > 0) out.push(new HttpCollector(config.http, config.limits.http_in_flight, ctx));
  if (config.docker.enabled !== false) out.push(new DockerCollector(config.docker, ctx));
  if (config.mqtt.length > 0) out.push(new MqttCollector(config.mqtt, ctx));
  return out;
}
