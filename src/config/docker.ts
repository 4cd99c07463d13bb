import { z } from 'zod';
import { dampingShape, duration, regex } from './common';

export const dockerSchema = z
  .strictObject({
    /** auto: watch the engine if its socket exists; true: it must be reachable; false: off. */
    enabled: z.union([z.literal('auto'), z.boolean()], { error: 'expected auto, true or false' }).default('auto'),
    host: z
      .string()
      .regex(/^(unix|tcp|http|https):\/\/.+/, 'expected unix:///path/docker.sock or tcp://host:port')
      .default('unix:///var/run/docker.sock'),
    include_names: z.array(regex).default([]),
    exclude_names: z.array(regex).default([]),
    /** Label name -> value a container must carry; an empty value only requires the label. */
    labels: z.record(z.string(), z.string()).default({}),
    compose_project: z.string().optional(),
    /** How often memory and CPU figures are read from the containers' cgroup files. */
    resources_interval: duration.default(5),
    /** Timeout of each Docker API request (list, inspect, one-shot stats); not the events stream. */
    api_timeout: duration.default(5),
    /** Longest wait between two attempts to reconnect to the engine (the backoff doubles from 0.5 s). */
    reconnect_max_backoff: duration.default(10),
    /** One-shot stats requests per resources interval, for containers whose cgroup files cannot be read. */
    stats_per_interval: z.number().int().min(0).max(1000).default(5),
    /** Where the host's /proc and cgroup tree are visible (e.g. /host/proc when run in a container). */
    proc_root: z.string().default('/proc'),
    cgroup_root: z.string().default('/sys/fs/cgroup'),
    ...dampingShape,
  })
  .prefault({});

export type DockerConfig = z.output<typeof dockerSchema>;
