import { readFileSync } from 'node:fs';
import { parseMaxOpenFiles } from './collectors/proc-reader';

/**
 * How many connections the exporter's own server accepts at once. Clients of /metrics and the
 * status page get at most a quarter of the process's file descriptors (8 to 512), so idle or
 * slow clients can never take the descriptors that probes of the targets need: running out of
 * them would fail healthy targets (a false outage).
 */
export function serverConnectionCap(limitsText?: string): number {
  const limit = openFilesLimit(limitsText);
  if (limit === undefined || !Number.isFinite(limit)) return 512;
  return Math.max(8, Math.min(512, Math.floor(limit / 4)));
}

/** This process's soft open-files limit (Infinity for unlimited); undefined where /proc cannot tell. */
export function openFilesLimit(limitsText?: string): number | undefined {
  try {
    return parseMaxOpenFiles(limitsText ?? readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}
