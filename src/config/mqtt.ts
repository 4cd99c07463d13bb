import { z } from 'zod';
import { dampingShape, duration, targetName, tlsSchema, uniqueNames } from './common';

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
    /** mosquitto's `sys_interval`: how often the broker publishes $SYS (default 10 s). */
    sys_interval: duration.default(10),
    /** Rebuild the connection when no $SYS message arrived for this many sys_intervals. */
    sys_stale_intervals: z.number().min(1.5).max(100).default(3),
    roundtrip: z
      .strictObject({
        topic: z.string().min(1).regex(/^[^#+]+$/, 'expected a topic without wildcards'),
        interval: duration.default(10),
        timeout: duration.default(5),
      })
      .optional(),
    topics: z
      .array(z.strictObject({ topic: z.string().min(1), stale_after: duration.default(300) }))
      .default([]),
    ...dampingShape,
  });

export const mqttSchema = z.array(mqttBrokerSchema).default([]).superRefine(uniqueNames);

export type MqttBrokerConfig = z.output<typeof mqttBrokerSchema>;
