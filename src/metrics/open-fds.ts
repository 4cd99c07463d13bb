import { readdirSync, statSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';

/**
 * `process_open_fds`, under prom-client's name and help text, counted without listing
 * /proc/self/fd. The process collector keeps a /proc file or two open per process it reads, so at
 * 600 processes the daemon holds ~900 descriptors, and prom-client's listing of them on every
 * scrape was about a third of the scrape's CPU. Since Linux 6.2 the size of /proc/self/fd is its
 * number of entries (one stat); older kernels say 0 there, and the directory is listed instead.
 */
export const OPEN_FDS = 'process_open_fds';

/** The count of this process's open descriptors; undefined where /proc cannot tell. */
export function openFds(): number | undefined {
  try {
    const size = statSync('/proc/self/fd').size;
    if (size > 0) return size;
    // The listing's own descriptor is in it.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

/** Registers the gauge (Linux only, as prom-client's). Call after removing prom-client's own. */
export function registerOpenFds(registry: Registry): void {
  if (process.platform !== 'linux') return;
  new Gauge({
    name: OPEN_FDS,
    help: 'Number of open file descriptors.',
    registers: [registry],
    collect() {
      const n = openFds();
      if (n !== undefined) this.set(n);
    },
  });
}
