import { z } from 'zod';
import { dampingShape, duration, targetName, tlsSchema, uniqueNames } from './common';

/** An MQTT topic filter: `+` fills a whole level, `#` only the whole last level. */
export function isTopicFilter(f: string): boolean {
  if (f.length === 0 || f.length > 65535 || f.includes('\u0000')) return false;
  const levels = f.split('/');
  return levels.every((l, i) => (l.includes('#') ? l === '#' && i === levels.length - 1 : !l.includes('+') || l === '+'));
}

const topicFilter = z.string().min(1).refine(isTopicFilter, { message: 'expected an MQTT topic filter like app/+/status or chatbot/responses/#' });

export const mqttBrokerSchema = z
  .strictObject({
    name: targetName,
    url: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\/.+/, 'expected a URL like mqtt://127.0.0.1:1883 or mqtts://host:8883'),
    username: z.string().optional(),
    password: z.string().optional(),
    client_id_prefix: z.string().max(40).default('stackwatch'),
    keepalive: duration.default(30),
    connect_timeout: duration.default(5),
    tls: tlsSchema.prefault({}),
    /**
     * Largest packet the broker may send us (MQTT 5 CONNECT property); bigger messages are not
     * delivered (mosquitto counts them in $SYS/broker/publish/messages/dropped).
     */
    maximum_packet_size: z.number().int().min(1024).max(268_435_455).default(256 * 1024),
    /** mosquitto's `sys_interval`: how often the broker publishes $SYS (default 10 s). */
    sys_interval: duration.default(10),
    /** Rebuild the connection when no $SYS message arrived for this many sys_intervals. */
    sys_stale_intervals: z.number().min(1.5).max(100).default(3),
    /** Waits between connection attempts: doubling from `initial` up to `max` (with jitter). */
    reconnect: z
      .strictObject({
        initial: duration.default(1),
        max: duration.default(30),
      })
      .prefault({})
      .refine((r) => r.initial >= 0.05 && r.max >= r.initial, { message: 'expected reconnect.initial of at least 50ms and reconnect.max not less than it' }),
    roundtrip: z
      .strictObject({
        topic: z.string().min(1).regex(/^[^#+]+$/, 'expected a topic without wildcards'),
        interval: duration.default(10),
        timeout: duration.default(5),
      })
      .optional(),
    topics: z
      .array(z.strictObject({ topic: topicFilter, stale_after: duration.default(300) }))
      .default([]),
    ...dampingShape,
  })
  .refine((b) => b.roundtrip === undefined || b.roundtrip.timeout < b.roundtrip.interval, {
    message: 'expected roundtrip.timeout shorter than roundtrip.interval',
    path: ['roundtrip', 'timeout'],
  });

export const mqttSchema = z.array(mqttBrokerSchema).default([]).superRefine(uniqueNames);

export type MqttBrokerConfig = z.output<typeof mqttBrokerSchema>;
