/**
 * Helpers the benches that drive daemons share (bench/http.bench.ts, bench/http-reference.bench.ts,
 * bench/daemon.bench.ts): CPU time of a process from /proc (and the clock ticks it counts in), a
 * promise of a pause, and a driver calling a function at a steady period.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime+stime of a process (all its threads), in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after "(comm)": [0] is field 3 (state); utime is field 14, stime field 15.
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

/**
 * Calls `fn` every `ms` (on a steady schedule: a slow call shortens the next pause) until stopped;
 * a failing call is reported on stderr, as `label: message`, and the schedule goes on.
 */
export function every(ms: number, fn: () => Promise<unknown>, label = 'driver'): { stop: () => void } {
  let stopped = false;
  void (async () => {
    let next = Date.now();
    while (!stopped) {
      next += ms;
      try {
        await fn();
      } catch (err) {
        if (!stopped) process.stderr.write(`${label}: ${(err as Error).message}\n`);
      }
      await sleep(Math.max(0, next - Date.now()));
    }
  })();
  return { stop: () => { stopped = true; } };
}
