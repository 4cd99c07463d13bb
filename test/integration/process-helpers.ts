import { readdirSync, readFileSync } from 'node:fs';

/**
 * /proc read directly, the plain way (readFileSync, split), independent of the collector's
 * byte-level reader: the reference the integration tests compare against.
 */
export interface Direct {
  count: number;
  rss: number;
  cpuUser: number;
  cpuSystem: number;
  fds: number;
}

const PAGE = 4096;

export function directRead(pids: readonly number[]): Direct {
  const out: Direct = { count: 0, rss: 0, cpuUser: 0, cpuSystem: 0, fds: 0 };
  for (const pid of pids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): field n is f[n - 3].
    out.count += 1;
    out.cpuUser += Number(f[14 - 3]) / 100;
    out.cpuSystem += Number(f[15 - 3]) / 100;
    out.rss += Number(f[24 - 3]) * PAGE;
    out.fds += readdirSync(`/proc/${pid}/fd`).length;
  }
  return out;
}

/** Pids whose cmdline (NULs as spaces) matches. */
export function pidsMatching(re: RegExp): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0+$/, '').replaceAll('\0', ' ');
      if (re.test(cmd)) out.push(Number(name));
    } catch {
      /* vanished */
    }
  }
  return out;
}

/** |a - b| within `rel` of the larger, or within `abs`. */
export function near(a: number, b: number, rel: number, abs = 0): boolean {
  return Math.abs(a - b) <= Math.max(abs, rel * Math.max(Math.abs(a), Math.abs(b)));
}

export const uniq = (): string => `${process.pid}${Math.floor(Math.random() * 1e6)}`;

/**
 * VmRSS from /proc/PID/status, in bytes: the kernel's exact sum, which `ps` (and so
 * systeminformation) reports. /proc/PID/stat's RSS, which process-exporter and stackwatch read,
 * may lag it by the per-CPU counter batches (a few hundred KiB), noticeable only for tiny
 * processes.
 */
export function statusRss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]) * 1024;
}
