import { closeSync, constants, fstatSync, openSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs';
import { FileProblem, readBoundedFile } from '../config/files';
import { PROC_READ_ERROR_REASONS } from '../metrics/definitions';
import { SmallFileReader } from './small-file';

/**
 * A synchronous /proc reader that reuses one buffer.
 *
 * Reading /proc is CPU-bound kernel work: synchronous openSync/readSync into one preallocated
 * buffer costs ~25 ms for stat of 600 processes, where fs.promises costs 8-10x more and
 * systeminformation.processes() ~1 CPU-second. Nothing here allocates per field:
 * /proc/PID/stat is parsed byte by byte straight out of the buffer.
 *
 * Errors: a process that vanishes mid-read (ENOENT, ESRCH) is skipped silently; anything else is
 * counted by reason in `errors` (the collector turns that into
 * stackwatch_process_read_errors_total) and the value is reported as missing.
 */

/** The fixed reasons of stackwatch_process_read_errors_total. */
export const READ_ERROR_REASONS = PROC_READ_ERROR_REASONS.values;
export type ReadErrorReason = (typeof READ_ERROR_REASONS)[number];

/** Kernel threads have PF_KTHREAD in /proc/PID/stat's flags: no memory, fds or limits to read. */
export const PF_KTHREAD = 0x00200000;

/** Clock ticks per second of /proc/PID/stat times (USER_HZ; 100 on every Linux ABI in use). */
export const USER_HZ = 100;

/** The fields of /proc/PID/stat the collector uses (man 5 proc, numbering from 1). */
export interface RawStat {
  pid: number;
  /** Field 2, without the parentheses; may contain spaces and parentheses itself. */
  comm: string;
  /** Field 3: R, S, D, Z, T, ... */
  state: string;
  ppid: number;
  flags: number;
  /** Fields 14 and 15, in clock ticks. */
  utime: number;
  stime: number;
  threads: number;
  /** Field 22: ticks after boot. With the pid, the identity of a process (pids are reused). */
  startTicks: number;
  /** Field 23, bytes. */
  vsize: number;
  /** Field 24, pages. */
  rssPages: number;
}

// Field numbers we keep (after the comm): 4 ppid, 9 flags, 14 utime, 15 stime, 20 threads,
// 22 starttime, 23 vsize, 24 rss.
const LAST_FIELD = 24;

/**
 * Parses /proc/PID/stat from `buf[0, len)`. The comm is everything between the first "(" and the
 * LAST ")": a process may name itself "a) (b" and the kernel does not escape it.
 */
export function parseStat(buf: Buffer, len: number): RawStat | undefined {
  const open = buf.indexOf(0x28);
  if (open < 1 || open >= len) return undefined;
  const close = buf.lastIndexOf(0x29, len - 1);
  if (close < open || close + 2 >= len) return undefined;
  let pid = 0;
  for (let i = 0; i < open - 1; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) return undefined;
    pid = pid * 10 + (c - 0x30);
  }
  const state = String.fromCharCode(buf[close + 2]!);
  let ppid = 0, flags = 0, utime = 0, stime = 0, threads = 0, startTicks = 0, vsize = 0, rss = 0;
  let field = 3;
  let n = 0;
  let i = close + 3;
  // Walk fields 4..24; field 3 (state) was read above and is followed by a space at close + 3.
  for (; i < len && field <= LAST_FIELD; i++) {
    const c = buf[i]!;
    if (c === 0x20 || c === 0x0a) {
      switch (field) {
        case 4: ppid = n; break;
        case 9: flags = n; break;
        case 14: utime = n; break;
        case 15: stime = n; break;
        case 20: threads = n; break;
        case 22: startTicks = n; break;
        case 23: vsize = n; break;
        case 24: rss = n; break;
        default: break;
      }
      field += 1;
      n = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      n = n * 10 + (c - 0x30);
    }
    // A '-' (negative priority or nice, fields 18 and 19) is not in any field we keep.
  }
  if (field <= LAST_FIELD) {
    if (field !== LAST_FIELD || i < len) return undefined;
    rss = n; // the buffer ended right after field 24 (no trailing fields)
  }
  return { pid, comm: buf.toString('utf8', open + 1, close), state, ppid, flags, utime, stime, threads, startTicks, vsize, rssPages: rss };
}

/** The soft "Max open files" limit from /proc/PID/limits; Infinity for "unlimited". */
export function parseMaxOpenFiles(text: string): number | undefined {
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (m === null) return undefined;
  if (m[1] === 'unlimited') return Infinity;
  const v = Number(m[1]);
  return Number.isFinite(v) ? v : undefined;
}

/** /proc/PID/cmdline: NUL-separated arguments, joined with spaces for matching. */
export function parseCmdline(buf: Buffer, len: number): string {
  let end = len;
  while (end > 0 && buf[end - 1] === 0) end--;
  const s = buf.toString('utf8', 0, end);
  return s.includes('\0') ? s.replaceAll('\0', ' ') : s;
}

/** How an error reading /proc is treated: vanished processes are not errors. */
export function classifyError(err: unknown): 'vanished' | ReadErrorReason {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ESRCH') return 'vanished';
  if (code === 'EACCES' || code === 'EPERM') return 'permission';
  return 'other';
}

/**
 * At most this many /proc files (stat files and fd directories) are kept open between cycles, and
 * at most an eighth of the process's file descriptor limit: the rest of the descriptors stay for
 * probes and clients.
 */
export const MAX_HELD_FILES = 4096;

/** A held fd directory that cannot be opened (another user's process): counted by stat() of its path. */
const BY_PATH = -1;

export class ProcReader {
  private readonly files = new SmallFileReader();
  /** One buffer for every read (the reader's). */
  private readonly buf = this.files.buf;
  readonly errors: Record<ReadErrorReason, number> = { permission: 0, parse: 0, other: 0 };
  /** Since Linux 6.2 stat() of /proc/PID/fd gives the number of open fds as its size. */
  private fdSizeWorks = false;
  pageSize = 4096;
  /**
   * /proc/PID/stat kept open by pid and read again from offset 0 each cycle: the kernel renders
   * it anew on every read, and an open file stays tied to its process (once that process is gone,
   * reads fail with ESRCH even if the pid is reused), so the open and close of each file per cycle,
   * half the cost of reading it, are saved.
   */
  private readonly held = new Map<number, number>();
  /**
   * /proc/PID/fd kept open by pid (Linux >= 6.2): fstat() of the open directory gives the fd
   * count without the path walk of a stat() by name, a third of its cost. Tied to its process
   * like `held` (ENOENT once it is gone). BY_PATH: the directory cannot be opened by us.
   */
  private readonly heldFdDirs = new Map<number, number>();
  /** Descriptors open in `held` and `heldFdDirs`. */
  private open = 0;
  private holdLimit = 0;

  constructor(readonly procPath = '/proc') {}

  /** Probes the kernel's facilities once (page size, fd counting); call before reading. */
  init(): void {
    const limits = this.read(`${this.procPath}/self/limits`, true);
    const maxFds = limits > 0 ? parseMaxOpenFiles(this.buf.toString('latin1', 0, limits)) : undefined;
    this.holdLimit = maxFds === undefined ? 0 : Math.min(MAX_HELD_FILES, Math.floor(maxFds / 8));
    const len = this.read(`${this.procPath}/self/smaps`);
    if (len > 0) {
      const m = /KernelPageSize:\s+(\d+) kB/.exec(this.buf.toString('latin1', 0, len));
      if (m !== null) this.pageSize = Number(m[1]) * 1024;
    }
    try {
      this.fdSizeWorks = statSync(`${this.procPath}/self/fd`).size > 0;
    } catch {
      this.fdSizeWorks = false;
    }
  }

  /** Numeric entries of /proc: the thread-group leaders (processes). Closes held files of processes gone. */
  pids(): number[] {
    const out: number[] = [];
    const names = readdirSync(this.procPath);
    // Indexed: for-of made an iterator result per entry (~700) where the loop ran unoptimised.
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const c = name.charCodeAt(0);
      if (c >= 0x30 && c <= 0x39) out.push(Number(name));
    }
    if (this.held.size > 0 || this.heldFdDirs.size > 0) {
      const listed = new Set(out);
      for (const pid of this.held.keys()) if (!listed.has(pid)) this.release(pid);
      for (const pid of this.heldFdDirs.keys()) if (!listed.has(pid)) this.release(pid);
    }
    return out;
  }

  /** Files kept open between cycles (see `held` and `heldFdDirs`). */
  get heldFiles(): number {
    return this.open;
  }

  /** Closes every file kept open; reading again opens them anew. */
  close(): void {
    for (const pid of [...this.held.keys(), ...this.heldFdDirs.keys()]) this.release(pid);
  }

  /** Lets go of what is held for a process (it ended, or its pid may be another process's now). */
  private release(pid: number): void {
    this.closeHeld(this.held, pid);
    this.closeHeld(this.heldFdDirs, pid);
  }

  private closeHeld(map: Map<number, number>, pid: number): void {
    const fd = map.get(pid);
    if (fd === undefined) return;
    map.delete(pid);
    if (fd === BY_PATH) return;
    this.open -= 1;
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }

  /** Unix time of boot (seconds, 10 ms precision): now minus /proc/uptime. */
  bootTime(nowSeconds: number): number | undefined {
    const len = this.read(`${this.procPath}/uptime`, true);
    if (len <= 0) return undefined;
    const up = Number.parseFloat(this.buf.toString('latin1', 0, len));
    return Number.isFinite(up) ? nowSeconds - up : undefined;
  }

  stat(pid: number): RawStat | undefined {
    const len = this.readStat(pid);
    if (len <= 0) return undefined;
    const s = parseStat(this.buf, len);
    if (s === undefined) this.errors.parse += 1;
    return s;
  }

  /** Open file descriptors; undefined if the process vanished or cannot be read. */
  fdCount(pid: number): number | undefined {
    if (this.fdSizeWorks) {
      const fd = this.heldFdDirs.get(pid);
      if (fd !== undefined && fd !== BY_PATH) {
        try {
          return fstatSync(fd).size;
        } catch {
          // The process ended (ENOENT); the pid may be another process's now: open it anew.
          this.closeHeld(this.heldFdDirs, pid);
        }
      } else if (fd === undefined && this.open < this.holdLimit) {
        const n = this.holdFdDir(pid);
        if (n !== undefined) return n;
      }
    }
    const dir = `${this.procPath}/${pid}/fd`;
    try {
      if (this.fdSizeWorks) return statSync(dir).size;
      return readdirSync(dir).length;
    } catch (err) {
      this.fail(err);
      return undefined;
    }
  }

  /**
   * Opens /proc/PID/fd to keep and returns the count through it; undefined when it cannot be
   * opened (then the count is taken by path; by path for good when opening it is not permitted).
   */
  private holdFdDir(pid: number): number | undefined {
    let fd: number;
    try {
      fd = openSync(`${this.procPath}/${pid}/fd`, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (err) {
      // Another user's process: stat() by path still counts its fds.
      if (classifyError(err) === 'permission') this.heldFdDirs.set(pid, BY_PATH);
      return undefined;
    }
    try {
      const n = fstatSync(fd).size;
      this.heldFdDirs.set(pid, fd);
      this.open += 1;
      return n;
    } catch {
      closeSync(fd);
      return undefined;
    }
  }

  maxFds(pid: number): number | undefined {
    const len = this.read(`${this.procPath}/${pid}/limits`, true);
    if (len <= 0) return undefined;
    const v = parseMaxOpenFiles(this.buf.toString('latin1', 0, len));
    if (v === undefined) this.errors.parse += 1;
    return v;
  }

  cmdline(pid: number): string | undefined {
    const len = this.read(`${this.procPath}/${pid}/cmdline`);
    return len < 0 ? undefined : parseCmdline(this.buf, len);
  }

  /** The executable's path (" (deleted)" when replaced on disk); undefined for kernel threads. */
  exe(pid: number): string | undefined {
    try {
      return readlinkSync(`${this.procPath}/${pid}/exe`);
    } catch (err) {
      this.fail(err);
      return undefined;
    }
  }

  /**
   * A small text file named by the configuration (a pidfile); undefined when missing or not a
   * regular file of at most 4 KiB. Opened non-blocking: a FIFO there cannot stall the loop.
   */
  text(path: string): string | undefined {
    try {
      return readBoundedFile(path, 4096).toString('utf8');
    } catch (err) {
      if (!(err instanceof FileProblem && err.message === 'file not found')) this.errors.other += 1;
      return undefined;
    }
  }

  /** /proc/PID/stat into the buffer, through the held file where there is one; -1 when it cannot be read. */
  private readStat(pid: number): number {
    const fd = this.held.get(pid);
    if (fd !== undefined) {
      try {
        const n = readSync(fd, this.buf, 0, this.buf.length, 0);
        if (n > 0) return n;
      } catch {
        // The process ended (ESRCH); the pid may be another process's now: open it anew.
      }
      this.release(pid);
    }
    if (this.open >= this.holdLimit) return this.read(`${this.procPath}/${pid}/stat`, true);
    let opened: number;
    try {
      opened = openSync(`${this.procPath}/${pid}/stat`, 'r');
    } catch (err) {
      this.fail(err);
      return -1;
    }
    try {
      const n = readSync(opened, this.buf, 0, this.buf.length, 0);
      if (n > 0) {
        this.held.set(pid, opened);
        this.open += 1;
        return n;
      }
    } catch (err) {
      this.fail(err);
    }
    closeSync(opened);
    return -1;
  }

  /** Reads a whole file into the buffer (see SmallFileReader.readInto); -1 when it cannot. */
  private read(path: string, small = false): number {
    try {
      return this.files.readInto(path, small);
    } catch (err) {
      this.fail(err);
      return -1;
    }
  }

  private fail(err: unknown): void {
    const kind = classifyError(err);
    if (kind !== 'vanished') this.errors[kind] += 1;
  }
}
