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
    labels: z.record(z.string(), z.string()).default({}),
    compose_project: z.string().optional(),
    /** How often memory and CPU figures are read from the containers' cgroup files. */
    resources_interval: duration.default(5),
    ...dampingShape,
  })
  .prefault({});

export type DockerConfig = z.output<typeof dockerSchema>;
