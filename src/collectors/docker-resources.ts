import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import os from 'node:os';
import { findCgroup, parseMountInfo, readResources, type CgroupDirs, type CgroupMounts, type Resources } from './docker-cgroup';
import { openFilesLimit } from '../fd-limit';
import { SmallFileReader } from './small-file';

/**
 * Memory and CPU of the Docker collector's containers: read from their cgroup files (found once
 * per run of a container and cached), or, where those cannot be read, from a one-shot stats
 * document of the engine.
 */

/**
 * At most this many cgroup files are kept open between cycles, and at most a sixteenth of the
 * process's file descriptor limit: the rest stay for probes, clients and /proc.
 */
export const MAX_KEPT_CGROUP_FILES = 1024;

/**
 * The host's cgroup mounts and one reusable buffer for the small cgroup files. The resource
 * files of each container (four per cycle) are kept open between cycles and read again from
 * offset 0: the kernel renders a cgroup file anew on every read from the start, and the open and
 * close were two thirds of reading one. A file no container read in a cycle (its container
 * stopped, was removed or moved) is closed when the cycle ends (`sweep`).
 */
export class CgroupFiles {
  private readonly files = new SmallFileReader();
  /** Reads a small file by path (finding a container's cgroup). */
  readonly read = this.files.read;
  mounts: CgroupMounts = { v1: new Map() };
  /** Open resource files by path, with the sweep that last read each. */
  private readonly kept = new Map<string, { fd: number; sweep: number }>();
  private sweeps = 0;
  private keepLimit?: number;

  /** Reads the cgroup mounts of this process's mount namespace (throws when it cannot). */
  loadMounts(): void {
    this.mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  }

  /** A container's resource file through the file kept open for it; undefined when it cannot be read. */
  readonly readKept = (file: string): string | undefined => {
    const k = this.kept.get(file);
    if (k !== undefined) {
      k.sweep = this.sweeps;
      const len = this.readAt0(k.fd);
      if (len >= 0) return this.files.buf.toString('utf8', 0, len);
      // Its cgroup was removed (ENODEV), perhaps made again under the same path: open it anew.
      this.release(file);
    }
    if (this.kept.size >= (this.keepLimit ??= keepLimit())) return this.read(file);
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return undefined;
    }
    const len = this.readAt0(fd);
    if (len < 0) {
      closeSync(fd);
      return undefined;
    }
    this.kept.set(file, { fd, sweep: this.sweeps });
    return this.files.buf.toString('utf8', 0, len);
  };

  /** Files kept open (tests). */
  get keptFiles(): number {
    return this.kept.size;
  }

  /** Ends a resources cycle: closes the files no container read in it. */
  sweep(): void {
    for (const [file, k] of this.kept) if (k.sweep !== this.sweeps) this.release(file);
    this.sweeps += 1;
  }

  /** Closes every kept file. */
  close(): void {
    for (const file of [...this.kept.keys()]) this.release(file);
  }

  private release(file: string): void {
    const k = this.kept.get(file);
    if (k === undefined) return;
    this.kept.delete(file);
    try {
      closeSync(k.fd);
    } catch {
      // already closed
    }
  }

  /** The whole file from offset 0 into the buffer; -1 when it cannot be read. */
  private readAt0(fd: number): number {
    const buf = this.files.buf;
    try {
      let len = 0;
      for (;;) {
        const want = buf.length - len;
        const n = readSync(fd, buf, len, want, len);
        len += n;
        // A cgroup file is handed over whole when it fits: a short read is its end.
        if (n < want || len >= buf.length) return len;
      }
    } catch {
      return -1;
    }
  }
}

/** How many cgroup files may be kept open: MAX_KEPT_CGROUP_FILES, at most 1/16 of the fd limit. */
function keepLimit(): number {
  const max = openFilesLimit();
  return max === undefined ? 0 : Math.min(MAX_KEPT_CGROUP_FILES, Math.floor(max / 16));
}

/** One container's cgroup: where its files are, and its CPU counter across runs. */
export class ContainerCgroup {
  /** Where its cgroup files are; undefined until found (reset when the container starts again). */
  private dirs?: CgroupDirs;
  /** The pid the cgroup was looked up for. */
  private pid?: number;
  /** The files could not be found for `pid`: the one-shot stats fallback serves it. */
  missing = false;
  /** CPU seconds of earlier runs (the cgroup counter restarts at 0 with each run). */
  private cpuBase = 0;
  private cpuLast = 0;
  /** When one-shot stats were last requested for it (ms), for the round robin of the fallback. */
  statsAt?: number;

  /** The container started again (or its pid changed): look its cgroup up afresh. */
  forget(): void {
    this.dirs = undefined;
    this.pid = undefined;
    this.missing = false;
  }

  /**
   * Resources from the cgroup files, finding (and caching) the container's cgroup first;
   * undefined when they cannot be read. `onMissing` is called when they go missing.
   */
  read(id: string, pid: number, files: CgroupFiles, roots: { proc_root: string; cgroup_root: string }, onMissing: () => void): Resources | undefined {
    if (this.dirs !== undefined && this.pid === pid) {
      const res = readResources(this.dirs, files.readKept);
      if (res !== undefined) return res;
      this.forget();
    }
    if (this.missing && this.pid === pid) return undefined;
    const dirs = findCgroup(id, pid, files.mounts, files.read, roots.proc_root, roots.cgroup_root);
    this.pid = pid;
    if (dirs === undefined) {
      if (!this.missing) onMissing();
      this.missing = true;
      return undefined;
    }
    this.dirs = dirs;
    this.missing = false;
    return readResources(dirs, files.readKept);
  }

  /** CPU seconds over every run seen, from the current run's cgroup counter. */
  cpuTotal(cpuSeconds: number): number {
    if (cpuSeconds < this.cpuLast) this.cpuBase += this.cpuLast;
    this.cpuLast = cpuSeconds;
    return this.cpuBase + cpuSeconds;
  }
}

export interface StatsDoc {
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
}

/** Figures from a stats document (the fallback), computed as `docker stats` does. */
export function resourcesFromStats(s: StatsDoc): Resources | undefined {
  const usage = s.memory_stats?.usage;
  const cpu = s.cpu_stats?.cpu_usage?.total_usage;
  if (usage === undefined || cpu === undefined) return undefined;
  const st = s.memory_stats?.stats ?? {};
  const inactive = st.total_inactive_file ?? st.inactive_file ?? 0;
  const out: Resources = { memoryUsage: inactive < usage ? usage - inactive : usage, cpuSeconds: cpu / 1e9 };
  const limit = s.memory_stats?.limit;
  // Without a limit Docker reports the host's memory; the metric is absent then.
  if (limit !== undefined && limit > 0 && limit < 2 ** 62 && !unlimitedLike(limit)) out.memoryLimit = limit;
  return out;
}

function unlimitedLike(limit: number): boolean {
  return limit >= os.totalmem();
}
