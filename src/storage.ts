import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzip, gzipSync } from 'node:zlib';

const gzipAsync = promisify(gzip);
import type { Registry } from 'prom-client';
import type { AvailabilityTracker, TrackerState } from './availability';
import type { Clock } from './clock';
import type { Logger } from './log';
import { M } from './metrics/definitions';
import { counter, gauge, type CounterOf, type GaugeOf } from './metrics/instruments';

/**
 * The data directory (--storage.path): a snapshot of the availability tracker (states, outages
 * in progress with their start, counters, recovery histogram, history, incidents), so that a
 * restart continues where the exporter stopped.
 *
 * The snapshot is gzip'd JSON (the gzip CRC catches a torn or damaged file), written to a
 * temporary file, fsync'd, renamed over the old one and the directory fsync'd: a crash at any
 * moment leaves the old snapshot or the new one, never a mix. It is written every few seconds
 * and when the exporter stops. A snapshot that cannot be read (damaged, or written by another
 * format version) is renamed aside with a log line saying where, and the exporter starts fresh.
 */

export const SNAPSHOT_FILE = 'snapshot.json.gz';
export const SNAPSHOT_FORMAT = 'stackwatch-snapshot';
export const SNAPSHOT_VERSION = 1;
export const SAVE_INTERVAL_SECONDS = 5;
/**
 * With no target at all, a periodic snapshot changes nothing but its time: it is then written at
 * most this often (a graceful stop still writes one). An idle exporter otherwise spent most of
 * its CPU on an fsync every 5 s.
 */
export const EMPTY_SAVE_INTERVAL_SECONDS = 60;

interface SnapshotFile {
  format: string;
  version: number;
  tracker: TrackerState;
}

const snapshotJson = (state: TrackerState): string =>
  JSON.stringify({ format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, tracker: state } satisfies SnapshotFile);

export function encodeSnapshot(state: TrackerState): Buffer {
  return gzipSync(snapshotJson(state), { level: 1 });
}

/** As encodeSnapshot, with the compression off the event loop (probes keep their timing). */
export function encodeSnapshotAsync(state: TrackerState): Promise<Buffer> {
  return gzipAsync(snapshotJson(state), { level: 1 });
}

/** Decodes a snapshot; throws with a reason when it is damaged or of another format or version. */
export function decodeSnapshot(data: Buffer): TrackerState {
  let file: SnapshotFile;
  try {
    file = JSON.parse(gunzipSync(data).toString('utf8')) as SnapshotFile;
  } catch (err) {
    throw new Error(`not a readable snapshot (${(err as Error).message})`, { cause: err });
  }
  if (typeof file !== 'object' || file === null || file.format !== SNAPSHOT_FORMAT) throw new Error('not a stackwatch snapshot');
  if (file.version !== SNAPSHOT_VERSION) throw new Error(`snapshot format version ${String(file.version)}; this stackwatch reads version ${SNAPSHOT_VERSION}`);
  const t = file.tracker;
  if (typeof t !== 'object' || t === null || typeof t.savedAt !== 'number' || !Array.isArray(t.gaps) || !Array.isArray(t.targets)) {
    throw new Error('snapshot lacks savedAt, gaps or targets');
  }
  return t;
}

/** Writes `data` to `file` atomically: temp file, fsync, rename, fsync of the directory. */
export function writeAtomic(file: string, data: Buffer): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  try {
    const dir = openSync(path.dirname(file), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  }
}

/** writeAtomic without blocking the event loop on the disk. */
export async function writeAtomicAsync(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  try {
    const dir = await open(path.dirname(file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  }
}

export class Storage {
  private timer?: NodeJS.Timeout;
  private usable = false;
  private failing = false;
  /** When the last periodic snapshot without any target was written (tracker clock). */
  private emptySavedAt: number | undefined;
  /** The periodic save in progress, if any (saves never overlap). */
  private pending: Promise<unknown> | undefined;
  private readonly failures: CounterOf<typeof M.storageSnapshotFailures> | undefined;
  private readonly lastSuccess: GaugeOf<typeof M.storageSnapshotLastSuccess> | undefined;

  constructor(
    readonly dir: string,
    private readonly tracker: AvailabilityTracker,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly intervalSeconds: number = SAVE_INTERVAL_SECONDS,
    registry?: Registry,
  ) {
    if (registry !== undefined) {
      this.failures = counter(registry, M.storageSnapshotFailures);
      this.lastSuccess = gauge(registry, M.storageSnapshotLastSuccess);
    }
  }

  get file(): string {
    return path.join(this.dir, SNAPSHOT_FILE);
  }

  /**
   * Creates the directory and restores the snapshot into the tracker (before collectors start).
   * Never throws: without a usable directory the exporter runs without persistence.
   */
  load(): void {
    // Both operations exist from the start, so the first failure is an increase() too.
    for (const operation of ['write', 'read']) this.failures?.inc({ operation }, 0);
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.usable = true;
    } catch (err) {
      this.failures?.inc({ operation: 'read' });
      this.log.error({ err, dir: this.dir }, 'storage directory unusable; history will not survive a restart');
      return;
    }
    if (!existsSync(this.file)) {
      this.log.info({ dir: this.dir }, 'no snapshot yet; starting with empty history');
      return;
    }
    try {
      const state = decodeSnapshot(readFileSync(this.file));
      this.tracker.importState(state);
      this.lastSuccess?.set({ operation: 'read' }, this.clock());
      this.log.info({ file: this.file, targets: state.targets.length, savedAt: new Date(state.savedAt * 1000).toISOString() }, 'snapshot restored');
    } catch (err) {
      this.failures?.inc({ operation: 'read' });
      const aside = path.join(this.dir, `snapshot.unreadable-${new Date(this.clock() * 1000).toISOString().replace(/[:.]/g, '-')}.json.gz`);
      try {
        renameSync(this.file, aside);
      } catch (renameErr) {
        this.log.error({ err: renameErr, file: this.file }, 'unreadable snapshot could not be set aside');
      }
      this.log.warn({ err, file: this.file, setAside: aside }, 'snapshot unreadable; set aside, starting with empty history');
    }
  }

  /**
   * Starts the periodic save. A directory that could not be created at start is tried again at
   * every interval (each attempt that fails counts as a failed write).
   */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      if (this.pending === undefined) this.pending = this.periodicSave().finally(() => { this.pending = undefined; });
    }, this.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Stops the periodic save and writes a last snapshot (after the one in progress, if any). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.pending;
    this.save();
  }

  /**
   * One turn of the periodic save: skipped while there is no target and an empty snapshot was
   * written less than EMPTY_SAVE_INTERVAL_SECONDS ago. Resolves with whether it wrote.
   */
  async periodicSave(): Promise<boolean> {
    const state = this.tracker.exportState();
    const empty = state.targets.length === 0;
    if (empty && this.emptySavedAt !== undefined && state.savedAt - this.emptySavedAt < EMPTY_SAVE_INTERVAL_SECONDS && !this.failing) return false;
    const ok = await this.saveAsync(state);
    this.emptySavedAt = ok && empty ? state.savedAt : undefined;
    return ok;
  }

  /** Writes a snapshot: the state is taken at once, compression and disk I/O happen off the loop. */
  async saveAsync(state: TrackerState = this.tracker.exportState()): Promise<boolean> {
    try {
      this.ensureDir();
      await writeAtomicAsync(this.file, await encodeSnapshotAsync(state));
      this.saved();
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  private saved(): void {
    if (this.failing) this.log.info({ file: this.file }, 'snapshot written again');
    this.failing = false;
    this.lastSuccess?.set({ operation: 'write' }, this.clock());
  }

  private failed(err: unknown): void {
    if (!this.failing) this.log.error({ err, file: this.file }, 'writing the snapshot failed; retrying every interval');
    this.failing = true;
    this.failures?.inc({ operation: 'write' });
  }

  /** The directory, created if it is missing (it may have been removed, or unwritable at start). */
  private ensureDir(): void {
    if (this.usable) {
      if (existsSync(this.dir)) return;
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.usable = true;
  }

  /** Writes a snapshot now; failures are logged (once per failing run), never thrown. */
  save(): boolean {
    try {
      this.ensureDir();
      writeAtomic(this.file, encodeSnapshot(this.tracker.exportState()));
      this.saved();
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }
}
