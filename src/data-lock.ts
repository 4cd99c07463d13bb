import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseStat } from './collectors/proc-reader';
import type { Logger } from './log';

/**
 * The data directory's lock: one daemon per --storage.path. Two daemons sharing a directory
 * overwrite each other's snapshot, and the next start restores the other's targets, outages and
 * incidents as its own; the second daemon is refused instead.
 *
 * The lock is a file naming its holder (pid, start time, boot id, pid namespace), refreshed
 * every HEARTBEAT_MS while held and removed at a graceful stop. A lock left by a crash or a
 * kill -9 is taken over:
 *  - at once when its holder could be seen from here (same boot, same pid namespace: a daemon
 *    restarted by systemd or by hand) and is gone: no process with its pid and start time;
 *  - after STALE_AFTER_MS without a refresh when it could not (another container on the same
 *    volume, or a container restarted: each start is a new pid namespace, and the daemon is pid 1
 *    again). Meanwhile the start waits; a refresh seen during the wait means a live holder.
 */

export const LOCK_FILE = 'lock';
/** How often a held lock's modification time is refreshed. */
export const HEARTBEAT_MS = 5000;
/** A lock not refreshed for this long, whose holder cannot be seen, is stale. */
export const STALE_AFTER_MS = 20_000;

/** Who holds a lock: what the lock file says. */
export interface LockHolder {
  pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22), when /proc has it. */
  start?: number;
  /** /proc/sys/kernel/random/boot_id, when /proc has it. */
  boot?: string;
  /** The pid namespace (/proc/self/ns/pid), when /proc has it. */
  ns?: string;
}

/** The directory is in use by another live daemon. */
export class DataDirInUse extends Error {
  constructor(readonly dir: string, readonly holder: LockHolder | undefined) {
    const who = holder === undefined ? 'another stackwatch' : `another stackwatch (pid ${holder.pid}${holder.ns !== undefined ? ` in pid namespace ${holder.ns}` : ''})`;
    super(`--storage.path ${dir}: in use by ${who}; each daemon needs a data directory of its own`);
    this.name = 'DataDirInUse';
  }
}

/** How the lock sees processes and time; /proc and the system clock by default (tests give their own). */
export interface LockView {
  /** A process's start time in clock ticks since boot, or undefined when it cannot be read (gone). */
  startOf(pid: number): number | undefined;
  /** Whether a process with this pid exists (it may belong to another user). */
  alive(pid: number): boolean;
  /** This process as a holder. */
  self(): LockHolder;
  now(): number;
  sleep(ms: number): Promise<void>;
}

const readOr = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
};

export const procView: LockView = {
  startOf(pid) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`);
      return parseStat(stat, stat.length)?.startTicks;
    } catch {
      return undefined;
    }
  },
  alive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
  self() {
    const h: LockHolder = { pid: process.pid };
    const start = this.startOf(process.pid);
    const boot = readOr('/proc/sys/kernel/random/boot_id')?.trim();
    let ns: string | undefined;
    try {
      ns = readlinkSync('/proc/self/ns/pid');
    } catch {
      ns = undefined;
    }
    if (start !== undefined) h.start = start;
    if (boot !== undefined && boot !== '') h.boot = boot;
    if (ns !== undefined) h.ns = ns;
    return h;
  },
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The holder a lock file's text names, or undefined when it names none (empty, cut short, garbage). */
export function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Record<string, unknown> | null;
    if (typeof v !== 'object' || v === null || !Number.isSafeInteger(v.pid) || (v.pid as number) <= 0) return undefined;
    const h: LockHolder = { pid: v.pid as number };
    if (Number.isSafeInteger(v.start)) h.start = v.start as number;
    if (typeof v.boot === 'string') h.boot = v.boot;
    if (typeof v.ns === 'string') h.ns = v.ns;
    return h;
  } catch {
    return undefined;
  }
}

/**
 * What a lock's holder is, as seen by `me`: alive ('held'), gone ('stale'), or not visible from
 * here ('unseen': another pid namespace, a lock file that names nobody, or a live pid whose start
 * time cannot be read), judged then by whether the file is refreshed.
 */
export function judge(holder: LockHolder | undefined, me: LockHolder, view: LockView): 'held' | 'stale' | 'unseen' {
  if (holder === undefined) return 'unseen';
  // A reboot ended every process of the boot before.
  if (holder.boot !== undefined && me.boot !== undefined && holder.boot !== me.boot) return 'stale';
  if (holder.ns !== me.ns) return 'unseen';
  // This very process (a lock it left without releasing it) does not keep itself out.
  const isMe = holder.pid === me.pid && holder.start === me.start;
  if (holder.start !== undefined) {
    const start = view.startOf(holder.pid);
    if (start !== undefined) return start === holder.start && !isMe ? 'held' : 'stale';
  }
  if (holder.pid === me.pid || !view.alive(holder.pid)) return 'stale';
  // A live pid, but no start time to tell the holder from a process that got its pid since (/proc
  // hidden by hidepid, or none): judged, like an unseen holder, by whether the lock is refreshed.
  return 'unseen';
}

/** Locks held by this process: a second App on the same directory in one process is refused too. */
const heldHere = new Set<string>();

interface Seen { text: string; mtimeMs: number }

function read(file: string): Seen | undefined {
  try {
    return { text: readFileSync(file, 'utf8'), mtimeMs: statSync(file).mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Takes the lock of `dir` (which exists) for this process, waiting up to STALE_AFTER_MS for a
 * lock whose holder cannot be seen. Rejects with DataDirInUse when another live daemon holds
 * it, or with the filesystem's error when the lock file cannot be written.
 */
export async function lockDataDir(dir: string, log: Logger, view: LockView = procView): Promise<DataDirLock> {
  const key = path.resolve(dir);
  const file = path.join(dir, LOCK_FILE);
  const me = view.self();
  if (heldHere.has(key)) throw new DataDirInUse(dir, me);
  const text = `${JSON.stringify(me)}\n`;
  let first: Seen | undefined;
  for (;;) {
    try {
      writeFileSync(file, text, { flag: 'wx', mode: 0o600 });
      heldHere.add(key);
      return new DataDirLock(key, file, text, log);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const seen = read(file);
    if (seen === undefined) continue;
    const holder = parseHolder(seen.text);
    const verdict = judge(holder, me, view);
    if (verdict === 'held') throw new DataDirInUse(dir, holder);
    if (verdict === 'unseen') {
      if (first === undefined) {
        first = seen;
        log.info({ dir, holder, staleAfterSeconds: STALE_AFTER_MS / 1000 }, 'data directory locked by a daemon not visible from here; waiting for the lock to be refreshed or go stale');
      } else if (seen.text !== first.text || seen.mtimeMs !== first.mtimeMs) {
        // Refreshed (or taken by another starter) while we watched: someone lives there.
        throw new DataDirInUse(dir, holder);
      }
      if (view.now() - seen.mtimeMs < STALE_AFTER_MS) {
        await view.sleep(Math.min(1000, STALE_AFTER_MS - (view.now() - seen.mtimeMs) + 10));
        continue;
      }
    }
    // Stale: moved aside under a name of our own, then checked to be the lock judged (another
    // daemon starting at the same moment may have taken it over meanwhile: that one goes back).
    // Unique: in containers every starter is pid 1.
    const aside = `${file}.stale-${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      renameSync(file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const moved = readFileSync(aside, 'utf8');
    if (moved !== seen.text) {
      // Back only if nobody created a lock meanwhile (link fails on an existing name).
      try {
        linkSync(aside, file);
      } finally {
        unlinkSync(aside);
      }
      throw new DataDirInUse(dir, parseHolder(moved));
    }
    unlinkSync(aside);
    log.warn({ dir, holder }, 'stale data directory lock taken over (its daemon ended without releasing it)');
    first = undefined;
  }
}

/** A held lock: refreshed every HEARTBEAT_MS from start() to release(), which removes it if still this process's. */
export class DataDirLock {
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  private failing = false;

  constructor(private readonly key: string, readonly file: string, private readonly text: string, private readonly log: Logger) {}

  start(): void {
    if (this.timer !== undefined || this.released) return;
    this.timer = setInterval(() => this.refresh(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Moves the file's modification time to now: a daemon that cannot see this one's pid watches it. */
  refresh(): void {
    try {
      if (readFileSync(this.file, 'utf8') !== this.text) throw new Error('the lock file names another daemon now (taken over while this one was not refreshing it)');
      const now = new Date();
      utimesSync(this.file, now, now);
      if (this.failing) this.log.info({ file: this.file }, 'data directory lock refreshed again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.error({ err, file: this.file }, 'data directory lock could not be refreshed; another daemon may take the directory over');
      this.failing = true;
    }
  }

  release(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.key);
    try {
      if (readFileSync(this.file, 'utf8') === this.text) unlinkSync(this.file);
    } catch {
      // Gone already, or the directory with it: nothing to release.
    }
  }
}
