import path from 'node:path';

/**
 * Container memory and CPU figures read straight from the kernel's cgroup files (v1 and v2),
 * instead of the Docker stats API (which waits for the daemon's 1 s sampling cycle per
 * container). The container's cgroup directory is found from /proc/PID/cgroup of its main
 * process and the cgroup mounts in /proc/self/mountinfo; where the PID is not visible (the
 * exporter runs in its own PID namespace), the well-known Docker paths are tried.
 *
 * The parsers are pure and unit-tested; file access goes through a small synchronous reader
 * that reuses one buffer (reading ~200 small files per cycle this way takes a few ms).
 */

export interface CgroupMount {
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory. */
  mountpoint: string;
  /** Which cgroup of the hierarchy is mounted there (usually /). */
  root: string;
}

export interface CgroupMounts {
  v2?: CgroupMount;
  /** v1 hierarchies by controller name (memory, cpuacct, ...). */
  v1: Map<string, CgroupMount>;
}

/** Unescapes the octal escapes (\040 for a space) of /proc/self/mountinfo fields. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Finds the cgroup v1 and v2 mounts in the text of /proc/self/mountinfo. */
export function parseMountInfo(text: string): CgroupMounts {
  const out: CgroupMounts = { v1: new Map() };
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep === -1) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const fstype = right[0];
    const root = left[3];
    const mountpoint = left[4];
    if (root === undefined || mountpoint === undefined) continue;
    const mount = { mountpoint: unescapeMount(mountpoint), root: unescapeMount(root) };
    if (fstype === 'cgroup2') {
      // Prefer the conventional location when the hierarchy is mounted more than once.
      if (out.v2 === undefined || mount.mountpoint === '/sys/fs/cgroup') out.v2 = mount;
    } else if (fstype === 'cgroup') {
      for (const opt of (right[2] ?? '').split(',')) {
        if (opt === 'rw' || opt === 'ro' || opt.includes('=')) continue;
        if (!out.v1.has(opt)) out.v1.set(opt, mount);
      }
    }
  }
  return out;
}

/** Parses /proc/PID/cgroup: controller name (or '' for the v2 hierarchy) to cgroup path. */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a === -1 || b === -1) continue;
    const controllers = line.slice(a + 1, b);
    const cgPath = line.slice(b + 1);
    if (controllers === '') out.set('', cgPath);
    else for (const c of controllers.split(',')) out.set(c, cgPath);
  }
  return out;
}

export type CgroupDirs =
  | { version: 2; dir: string }
  | { version: 1; memory: string; cpu: string };

/** The directory of cgroup `cgPath` under `mount`, or undefined when the mount does not contain it. */
export function dirUnder(mount: CgroupMount, cgPath: string): string | undefined {
  const root = mount.root === '/' ? '' : mount.root.replace(/\/$/, '');
  if (root !== '' && cgPath !== root && !cgPath.startsWith(`${root}/`)) return undefined;
  return path.join(mount.mountpoint, cgPath.slice(root.length));
}

/**
 * Maps a process's cgroups to the directories holding its memory and CPU files. v1 when the
 * memory controller is a v1 hierarchy (also in hybrid mode), v2 otherwise.
 */
export function resolveFromProc(procCgroup: Map<string, string>, mounts: CgroupMounts): CgroupDirs | undefined {
  const memPath = procCgroup.get('memory');
  const memMount = mounts.v1.get('memory');
  if (memPath !== undefined && memMount !== undefined) {
    const cpuPath = procCgroup.get('cpuacct') ?? procCgroup.get('cpu');
    const cpuMount = mounts.v1.get('cpuacct') ?? mounts.v1.get('cpu');
    const memory = dirUnder(memMount, memPath);
    const cpu = cpuPath !== undefined && cpuMount !== undefined ? dirUnder(cpuMount, cpuPath) : undefined;
    return memory !== undefined && cpu !== undefined ? { version: 1, memory, cpu } : undefined;
  }
  const v2Path = procCgroup.get('');
  if (v2Path !== undefined && mounts.v2 !== undefined) {
    const dir = dirUnder(mounts.v2, v2Path);
    return dir === undefined ? undefined : { version: 2, dir };
  }
  return undefined;
}

/** Where Docker puts a container's cgroup with the cgroupfs and systemd drivers, v2 then v1. */
export function knownDirs(id: string, cgroupRoot: string): CgroupDirs[] {
  const j = (...p: string[]): string => path.join(cgroupRoot, ...p);
  return [
    { version: 2, dir: j('system.slice', `docker-${id}.scope`) },
    { version: 2, dir: j('docker', id) },
    { version: 1, memory: j('memory', 'docker', id), cpu: j('cpuacct', 'docker', id) },
    { version: 1, memory: j('memory', 'docker', id), cpu: j('cpu,cpuacct', 'docker', id) },
    { version: 1, memory: j('memory', 'system.slice', `docker-${id}.scope`), cpu: j('cpuacct', 'system.slice', `docker-${id}.scope`) },
    { version: 1, memory: j('memory', 'system.slice', `docker-${id}.scope`), cpu: j('cpu,cpuacct', 'system.slice', `docker-${id}.scope`) },
  ];
}

export interface Resources {
  /** Working set: usage minus inactive file cache, as `docker stats` shows it. */
  memoryUsage: number;
  /** Absent when the container has no memory limit. */
  memoryLimit?: number;
  cpuSeconds: number;
}

/**
 * The value of `key` in a `key value` per line file (memory.stat, cpu.stat): its first line whose
 * key is `key` and whose value is a finite number. Found by searching the text for the key, not by
 * splitting it into lines (memory.stat has 30-50 of them, read for every container every cycle).
 */
export function statValue(text: string, key: string): number | undefined {
  for (let at = text.indexOf(key); at !== -1; at = text.indexOf(key, at + 1)) {
    const sp = at + key.length;
    if ((at !== 0 && text.charCodeAt(at - 1) !== 0x0a) || text.charCodeAt(sp) !== 0x20) continue;
    const end = text.indexOf('\n', sp);
    const v = Number(text.slice(sp + 1, end === -1 ? text.length : end));
    if (Number.isFinite(v)) return v;
  }
  return undefined;
}

/** v1 reports "no limit" as a huge page-aligned number near 2^63. */
const V1_UNLIMITED = 2 ** 62;

function num(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === '') return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}

/** Reads a small file; undefined when it cannot be read (gone, permission). */
export type ReadText = (file: string) => string | undefined;

/** The resource files of a cgroup, by path. */
interface ResourceFiles {
  /** memory.current (v2) or memory.usage_in_bytes (v1). */
  usage: string;
  stat: string;
  /** cpu.stat (v2) or cpuacct.usage (v1). */
  cpu: string;
  /** memory.max (v2) or memory.limit_in_bytes (v1). */
  limit: string;
}

/** The paths of each cgroup's resource files, made once per container run (not on every read). */
const resourceFiles = new WeakMap<CgroupDirs, ResourceFiles>();

function filesOf(dirs: CgroupDirs): ResourceFiles {
  let f = resourceFiles.get(dirs);
  if (f === undefined) {
    f = dirs.version === 2
      ? { usage: path.join(dirs.dir, 'memory.current'), stat: path.join(dirs.dir, 'memory.stat'), cpu: path.join(dirs.dir, 'cpu.stat'), limit: path.join(dirs.dir, 'memory.max') }
      : { usage: path.join(dirs.memory, 'memory.usage_in_bytes'), stat: path.join(dirs.memory, 'memory.stat'), cpu: path.join(dirs.cpu, 'cpuacct.usage'), limit: path.join(dirs.memory, 'memory.limit_in_bytes') };
    resourceFiles.set(dirs, f);
  }
  return f;
}

/** Computes the figures from the files of a v1 or v2 cgroup; undefined when they cannot be read. */
export function readResources(dirs: CgroupDirs, read: ReadText): Resources | undefined {
  const files = filesOf(dirs);
  if (dirs.version === 2) {
    const current = num(read(files.usage));
    const stat = read(files.stat);
    const cpuStat = read(files.cpu);
    if (current === undefined || stat === undefined || cpuStat === undefined) return undefined;
    const inactive = statValue(stat, 'inactive_file') ?? 0;
    const usec = statValue(cpuStat, 'usage_usec');
    if (usec === undefined) return undefined;
    const max = read(files.limit)?.trim();
    const out: Resources = { memoryUsage: workingSet(current, inactive), cpuSeconds: usec / 1e6 };
    const limit = max === undefined || max === 'max' ? undefined : num(max);
    if (limit !== undefined) out.memoryLimit = limit;
    return out;
  }
  const usage = num(read(files.usage));
  const stat = read(files.stat);
  const cpuNs = num(read(files.cpu));
  if (usage === undefined || stat === undefined || cpuNs === undefined) return undefined;
  // v1's memory.stat has both: the hierarchy's total (what a container's limit applies to) and its own.
  const inactive = statValue(stat, 'total_inactive_file') ?? statValue(stat, 'inactive_file') ?? 0;
  const out: Resources = { memoryUsage: workingSet(usage, inactive), cpuSeconds: cpuNs / 1e9 };
  const limit = num(read(files.limit));
  if (limit !== undefined && limit < V1_UNLIMITED) out.memoryLimit = limit;
  return out;
}

/** Usage minus inactive file cache (what the kernel cannot reclaim easily), as docker stats and cAdvisor do. */
export function workingSet(usage: number, inactiveFile: number): number {
  return inactiveFile < usage ? usage - inactiveFile : usage;
}

/**
 * Finds a container's cgroup directories: from its main process when its PID is visible
 * (`procRoot`/PID/cgroup), else from Docker's well-known paths under `cgroupRoot`. Returns the
 * first candidate whose files read.
 */
export function findCgroup(
  id: string, pid: number, mounts: CgroupMounts, read: ReadText, procRoot = '/proc', cgroupRoot = '/sys/fs/cgroup',
): CgroupDirs | undefined {
  if (pid > 0) {
    const text = read(path.join(procRoot, String(pid), 'cgroup'));
    if (text !== undefined) {
      const dirs = resolveFromProc(parseProcCgroup(text), mounts);
      if (dirs !== undefined && readResources(dirs, read) !== undefined) return dirs;
    }
  }
  for (const dirs of knownDirs(id, cgroupRoot)) {
    if (readResources(dirs, read) !== undefined) return dirs;
  }
  return undefined;
}
