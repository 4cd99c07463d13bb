import { closeSync, openSync, readdirSync } from 'node:fs';
import { Registry } from 'prom-client';
import { openFds, registerOpenFds } from '../../src/metrics/open-fds';

describe('process_open_fds', () => {
  /** What prom-client reports: the listing less the listing's own descriptor. */
  const listed = (): number => readdirSync('/proc/self/fd').length - 1;

  it('counts the open descriptors as a listing of /proc/self/fd does, following opens and closes', () => {
    expect(openFds()).toBe(listed());
    const before = openFds()!;
    const fds = Array.from({ length: 50 }, () => openSync('/proc/self/stat', 'r'));
    try {
      expect(openFds()).toBe(before + 50);
      expect(openFds()).toBe(listed());
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    expect(openFds()).toBe(before);
  });

  it('is exported under prom-client\'s name and help', async () => {
    const registry = new Registry();
    registerOpenFds(registry);
    const text = await registry.metrics();
    expect(text).toContain('# HELP process_open_fds Number of open file descriptors.\n# TYPE process_open_fds gauge\n');
    const value = Number(/^process_open_fds (\d+)$/m.exec(text)?.[1]);
    expect(Math.abs(value - listed())).toBeLessThanOrEqual(1);
  });
});
