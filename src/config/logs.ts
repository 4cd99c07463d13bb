import path from 'node:path';
import { z } from 'zod';
import { dampingShape, duration, regex, targetName, uniqueNames } from './common';
import { compileTemplate, DURATION_UNITS, FORMAT_PRESETS, JSON_PRESETS } from '../collectors/log-formats';

/** A route name becomes a `route` label value. */
const routeName = z.string().regex(/^[A-Za-z0-9_.:/-]{1,64}$/, 'expected a route name of 1-64 letters, digits or _ . : / -');

const jsonPath = z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, 'expected a field path like request.method');

const jsonFieldsSchema = z.strictObject({
  method: jsonPath.optional(),
  path: jsonPath.optional(),
  request: jsonPath.optional(),
  status: jsonPath.optional(),
  bytes: jsonPath.optional(),
  duration: jsonPath.optional(),
  duration_unit: z.enum(DURATION_UNITS).optional(),
  upstream_duration: jsonPath.optional(),
  upstream_duration_unit: z.enum(DURATION_UNITS).optional(),
  time: jsonPath.optional(),
});

/** The `traffic` target: a source counts as down while its 5xx ratio over `window` is above `max_error_ratio`. */
const trafficSchema = z
  .strictObject({
    /** Sliding window the ratio is computed over. */
    window: duration.refine((v) => v >= 1 && v <= 3600, { message: 'expected a window from 1s to 1h' }).default(60),
    /** Down while 5xx / requests in the window is above this. */
    max_error_ratio: z.number().min(0).max(1).default(0.05),
    /** Fewer requests than this in the window: not enough to call it an outage (counts as up). */
    min_requests: z.number().int().min(1).max(1_000_000).default(20),
    /** How often the window is judged (one availability observation each time). */
    interval: duration.refine((v) => v >= 0.1 && v <= 600, { message: 'expected an interval from 100ms to 10m' }).default(5),
    ...dampingShape,
  });

export const logSourceSchema = z
  .strictObject({
    name: targetName,
    /** A file, or a glob (`*`, `?`, `[..]` in the file name) of files read as one source. */
    path: z.string().min(1, 'expected a file path or glob'),
    format: z.enum(FORMAT_PRESETS as [string, ...string[]]).default('nginx'),
    /** An nginx log_format string; overrides `format`. */
    log_format: z.string().optional(),
    /** JSON formats: where each field is (overrides the preset's mapping, dotted paths). */
    json_fields: jsonFieldsSchema.optional(),
    /** Route name -> regular expression on the path (query string excluded); first match wins, else `other`. */
    routes: z.record(routeName, regex).default({}),
    /** Where to start reading files that exist at startup and have no saved position. */
    start_at: z.enum(['end', 'beginning']).default('end'),
    /** Longer lines are skipped and counted as parse failures (reason too_long); nginx's request line is at most 8 KB by default. */
    max_line_bytes: z.number().int().min(256).max(64 * 1024 * 1024).default(64 * 1024),
    /** Polling interval (the fallback where inotify is unavailable, and a safety net beside it). */
    poll_interval: duration.refine((v) => v >= 0.05 && v <= 60, { message: 'expected an interval from 50ms to 1m' }).default(1),
    /** Use inotify (fs.watch) to notice writes at once. */
    watch: z.boolean().default(true),
    /** A replaced file is still read until it has not grown for this long (the writer may not have reopened yet). */
    rotate_wait: duration.default(5),
    /** The source counts as stale after this long without a line. */
    stale_after: duration.refine((v) => v >= 1, { message: 'expected at least 1s' }).default(300),
    traffic: trafficSchema.optional(),
    /**
     * The target this proxy forwards to (an HTTP target, process group or container of the same
     * name): the traffic alerts of this source carry it as their `target`, so the backend's own
     * cause page (process not running, container unhealthy) mutes them and they share its
     * incident. Without it they name the source.
     */
    upstream: targetName.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.log_format !== undefined) {
      const t = compileTemplate(s.log_format);
      if (typeof t === 'string') ctx.addIssue({ code: 'custom', path: ['log_format'], message: t });
      if (s.format in JSON_PRESETS) ctx.addIssue({ code: 'custom', path: ['log_format'], message: `log_format describes a text format; format ${s.format} is JSON` });
      if (s.json_fields !== undefined) ctx.addIssue({ code: 'custom', path: ['json_fields'], message: 'json_fields and log_format exclude each other' });
    }
    if (/[*?[]/.test(path.dirname(s.path))) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: `a glob may only be in the file name, not in the directory: ${s.path}` });
    }
    if ('other' in s.routes) ctx.addIssue({ code: 'custom', path: ['routes', 'other'], message: '"other" is the route of paths no pattern matches; choose another name' });
    if (s.json_fields !== undefined && !(s.format in JSON_PRESETS) && s.json_fields.status === undefined) {
      ctx.addIssue({ code: 'custom', path: ['json_fields', 'status'], message: `format ${s.format} is not JSON: json_fields needs at least status to describe a JSON format` });
    }
  });

export const logsSchema = z.array(logSourceSchema).default([]).superRefine(uniqueNames);

export type LogSourceConfig = z.output<typeof logSourceSchema>;
