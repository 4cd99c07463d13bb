import { isIP } from 'node:net';
import { z } from 'zod';
import { dockerSchema } from './docker';
import { httpSchema } from './http';
import { logsSchema } from './logs';
import { maintenanceSchema } from './maintenance';
import { mqttSchema } from './mqtt';
import { processDiscoverySchema, processesSchema, processSettingsSchema } from './processes';

const listen = z.string({ error: 'expected HOST:PORT like 127.0.0.1:9967' }).superRefine((v, ctx) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(v);
  if (m === null || Number(m[2]) > 65535 || !validHost(m[1]!)) {
    ctx.addIssue({ code: 'custom', message: `expected HOST:PORT like 127.0.0.1:9967 or [::1]:9967, got "${v}"` });
  }
});

/** An IPv4 address, a bracketed IPv6 address, or a DNS name (`localhost`). */
function validHost(h: string): boolean {
  if (h.startsWith('[')) return isIP(h.slice(1, -1)) === 6;
  if (/^[\d.]+$/.test(h)) return isIP(h) === 4;
  return h.length <= 253 && /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(h);
}

/** Splits a validated HOST:PORT; IPv6 brackets are removed. */
export function splitListen(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(v.slice(i + 1)) };
}

export const serverSchema = z
  .strictObject({
    listen: listen.default('127.0.0.1:9967'),
  })
  .prefault({});

export const limitsSchema = z
  .strictObject({
    /** HTTP probes in flight at once, across all targets. */
    http_in_flight: z.number().int().min(1).max(1000).default(16),
  })
  .prefault({});

/** The whole configuration file. Every section has defaults: an empty file is valid. */
export const configSchema = z
  .strictObject({
    server: serverSchema,
    limits: limitsSchema,
    http: httpSchema,
    mqtt: mqttSchema,
    docker: dockerSchema,
    processes: processesSchema,
    process_discovery: processDiscoverySchema,
    process_settings: processSettingsSchema,
    logs: logsSchema,
    maintenance: maintenanceSchema,
  })
  .superRefine((c, ctx) => {
    if (!c.process_discovery.enabled) return;
    c.processes.forEach((g, i) => {
      if (g.name === 'other') {
        ctx.addIssue({ code: 'custom', path: ['processes', i, 'name'], message: '"other" is the group process_discovery sums the remaining processes under; choose another name' });
      }
    });
  })
  .prefault({});

export type Config = z.output<typeof configSchema>;
