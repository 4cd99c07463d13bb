import { z } from 'zod';
import { dampingShape, duration, targetName, tlsSchema, uniqueNames } from './common';
import { DEFAULT_STATUS_MAP, parseCondition, parsePath, type Condition } from '../collectors/http-json';

const jsonPath = z.string({ error: 'expected a JSON path like mqtt.connected' }).transform((v, ctx) => {
  const segs = parsePath(v);
  if (segs === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a JSON path (expected keys separated by dots, like mqtt.connected)` });
    return z.NEVER;
  }
  return { text: v, segs };
});

const field = z.union([
  jsonPath,
  z.strictObject({ path: jsonPath, map: z.record(z.string(), z.number()).optional() }),
], { error: 'expected a JSON path, or { path, map }' }).transform((v) => ('segs' in v ? { path: v, map: undefined } : v));

const statusCode = z.union([
  z.number().int().min(100).max(599),
  z.string().regex(/^[1-5]xx$/, 'expected a status code like 200 or a class like 2xx'),
], { error: 'expected a status code like 200 or a class like 2xx' });

const condition = z.string({ error: 'expected a condition like "mqtt.connected == true"' }).transform((v, ctx): Condition => {
  const c = parseCondition(v);
  if (typeof c === 'string') {
    ctx.addIssue({ code: 'custom', message: `condition "${v}": ${c}` });
    return z.NEVER;
  }
  return c;
});

export const httpTargetSchema = z
  .strictObject({
    name: targetName,
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
    interval: duration.default(5),
    timeout: duration.default(3),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
    headers: z.record(z.string(), z.string()).default({}),
    /** Sent as `Authorization: Bearer ...`; `bearer_token_file` reads it from a file. */
    bearer_token: z.string().min(1).optional(),
    body: z.string().optional(),
    expect_status: z.array(statusCode).min(1).default(['2xx']),
    max_body_bytes: z.number().int().min(0).max(64 * 1024 * 1024).default(1024 * 1024),
    max_redirects: z.number().int().min(0).max(20).default(5),
    tls: tlsSchema.prefault({}),
    json: z
      .strictObject({
        status: jsonPath.optional(),
        status_map: z
          .strictObject({
            healthy: z.array(z.string()).default([...DEFAULT_STATUS_MAP.healthy]),
            degraded: z.array(z.string()).default([...DEFAULT_STATUS_MAP.degraded]),
            unhealthy: z.array(z.string()).default([...DEFAULT_STATUS_MAP.unhealthy]),
          })
          .prefault({}),
        fail_on: z.array(z.enum(['degraded', 'unhealthy', 'unknown'])).default(['unhealthy']),
        fields: z.record(z.string(), field).default({}),
      })
      .optional(),
    conditions: z.array(condition).default([]),
    ...dampingShape,
  })
  .superRefine((t, ctx) => {
    if (t.timeout >= t.interval) {
      ctx.addIssue({ code: 'custom', path: ['timeout'], message: `must be shorter than interval (${t.interval}s), got ${t.timeout}s` });
    }
    if (t.timeout <= 0) ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'must be more than 0' });
    if (t.body !== undefined && (t.method === 'GET' || t.method === 'HEAD')) {
      ctx.addIssue({ code: 'custom', path: ['body'], message: `a body needs a method that sends one (POST, PUT, PATCH), not ${t.method}` });
    }
  });

export const httpSchema = z.array(httpTargetSchema).default([]).superRefine(uniqueNames);

export type HttpTargetConfig = z.output<typeof httpTargetSchema>;
