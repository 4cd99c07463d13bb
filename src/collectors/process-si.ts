import type { ProcessGroupConfig } from '../config/processes';
import type { ProcSample } from './process-groups';
import { compileMatchers, matchGroups, parsePidfile, type Matcher, type ProcessSource } from './process-source';
import { readFileSync } from 'node:fs';

/**
 * The fallback on systems without /proc (macOS, Windows, BSDs): systeminformation.processes().
 * It spawns `ps` and costs ~1 CPU-second at 600 processes, so the collector runs it at a slow,
 * bounded rate (FALLBACK_MIN_INTERVAL) and never two at once. It has no cumulative CPU times: CPU
 * seconds are integrated from the per-call usage percentages; fds, fd limits and threads are
 * not available (those series are absent).
 */

export const FALLBACK_MIN_INTERVAL = 60;

/** systeminformation's processes module alone (its index loads 23 modules, 700 kB of source). */
const siProcesses = (): ReturnType<typeof import('systeminformation').processes> =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- one module of the library, loaded when first used
  (require('systeminformation/lib/processes') as Pick<typeof import('systeminformation'), 'processes'>).processes();

interface Seen {
  cpuUser: number;
  cpuSystem: number;
  at: number;
}

export class SiSource implements ProcessSource {
  readonly errors: Record<string, number> = { permission: 0, parse: 0, other: 0 };
  private readonly matchers: Matcher[];
  private seen = new Map<string, Seen>();

  constructor(groups: readonly ProcessGroupConfig[]) {
    this.matchers = compileMatchers(groups);
  }

  async snapshot(now: number): Promise<ProcSample[]> {
    const data = await siProcesses();
    const byPidfile = new Map<number, string[]>();
    for (const m of this.matchers) {
      if (m.pidfile === undefined) continue;
      let pid: number | undefined;
      try {
        pid = parsePidfile(readFileSync(m.pidfile, 'utf8'));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') this.errors.permission! += 1;
      }
      if (pid !== undefined) byPidfile.set(pid, [...(byPidfile.get(pid) ?? []), m.name]);
    }
    const next = new Map<string, Seen>();
    const out: ProcSample[] = [];
    for (const p of data.list) {
      // An exited process its parent has not reaped runs nothing: in no group (as with /proc).
      if (p.state === 'zombie') continue;
      const started = Date.parse(p.started.replace(' ', 'T'));
      const startTime = Number.isFinite(started) ? started / 1000 : now;
      const startTicks = Math.round(startTime * 100);
      const key = `${p.pid}:${startTicks}`;
      const prev = this.seen.get(key);
      // cpuu/cpus are percentages of one CPU since the previous call.
      const dt = prev === undefined ? 0 : Math.max(0, now - prev.at);
      const cur: Seen = {
        cpuUser: (prev?.cpuUser ?? 0) + (p.cpuu / 100) * dt,
        cpuSystem: (prev?.cpuSystem ?? 0) + (p.cpus / 100) * dt,
        at: now,
      };
      next.set(key, cur);
      const cmdline = `${p.command} ${p.params}`.trim();
      const matches = matchGroups(this.matchers, { comm: p.name, cmdline: () => cmdline, exe: () => p.path === '' ? p.command : `${p.path}/${p.name}` });
      const byFile = byPidfile.get(p.pid);
      out.push({
        pid: p.pid, ppid: p.parentPid, startTicks, comm: p.name, startTime,
        cpuUser: cur.cpuUser, cpuSystem: cur.cpuSystem,
        rss: p.memRss * 1024, vms: p.memVsz * 1024,
        matches: byFile === undefined ? matches : [...matches, ...byFile],
      });
    }
    this.seen = next;
    return out;
  }
}
