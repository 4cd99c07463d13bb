import { z } from 'zod';
import { dampingShape, duration, regex, targetName, uniqueNames } from './common';

export const processGroupSchema = z
  .strictObject({
    name: targetName,
    comm: regex.optional(),
    exe: regex.optional(),
    cmdline: regex.optional(),
    pidfile: z.string().optional(),
    include_children: z.boolean().default(false),
    ...dampingShape,
  })
  .superRefine((g, ctx) => {
    const n = [g.comm, g.exe, g.cmdline, g.pidfile].filter((v) => v !== undefined).length;
    if (n !== 1) ctx.addIssue({ code: 'custom', message: 'expected exactly one of comm, exe, cmdline, pidfile' });
  });

export const processesSchema = z.array(processGroupSchema).default([]).superRefine(uniqueNames);

/** Grouping every process on the host by name (the built-in default config turns this on). */
export const processDiscoverySchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** The N names using the most memory get their own group; the rest are summed as "other". */
    top: z.number().int().min(1).max(200).default(20),
  })
  .prefault({});

export const processSettingsSchema = z
  .strictObject({
    /**
     * How often the processes of declared groups (and their children), new processes and young
     * ones are read (not at scrape time).
     */
    interval: duration
      .refine((v) => v >= 0.1 && v <= 3600, { message: 'expected an interval from 100ms to 1h' })
      .default(5),
    /**
     * How often every other process is read as well: discovery's figures, and a long-running
     * process that execs into a group's program. A whole number of `interval`s (rounded), at
     * least one.
     */
    full_interval: duration
      .refine((v) => v >= 0.1 && v <= 3600, { message: 'expected an interval from 100ms to 1h' })
      .default(15),
    /** Where procfs is mounted (e.g. /host/proc in a container); without it, the systeminformation fallback. */
    proc_path: z.string().default('/proc'),
  })
  .prefault({});

export type ProcessGroupConfig = z.output<typeof processGroupSchema>;
