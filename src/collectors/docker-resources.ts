import { readFileSync } from 'node:fs';
import os from 'node:os';
import { findCgroup, parseMountInfo, readResources, type CgroupDirs, type CgroupMounts, type Resources } from './docker-cgroup';
import { SmallFileReader } from './small-file';

/**
 * Memory and CPU of the Docker collector's containers: read from their cgroup files (found once
 * per run of a container and cached), or, where those cannot be read, from a one-shot stats
 * document of the engine.
 */

/** The host's cgroup mounts and one reusable buffer for the small cgroup files. */
export class CgroupFiles {
  readonly read = new SmallFileReader().read;
  mounts: CgroupMounts = { v1: new Map() };

  /** Reads the cgroup mounts of this process's mount namespace (throws when it cannot). */
  loadMounts(): void {
    this.mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  }
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
      const res = readResources(this.dirs, files.read);
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
    return readResources(dirs, files.read);
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
