import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import type { Registry } from 'prom-client';
import type { AvailabilityTracker, TrackerSnapshot, TrackerState } from './availability';
import type { Clock } from './clock';
import type { Logger } from './log';
import { M } from './metrics/definitions';
import { counter, gauge, type CounterOf, type GaugeOf } from './metrics/instruments';
import { makeDirectory } from './make-dir';

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
 *
 * Most of a snapshot is the closed slots of each target's history (48 h of minutes, 90 days of
 * hours), which change once a minute at most; see SnapshotEncoder for how it is not encoded again
 * every few seconds.
 */

export const SNAPSHOT_FILE = 'snapshot.json.gz';
export const SNAPSHOT_FORMAT = 'stackwatch-snapshot';
export const SNAPSHOT_VERSION = 1;
export const SAVE_INTERVAL_SECONDS = 5;

interface SnapshotFile {
  format: string;
  version: number;
  tracker: TrackerState;
}

/** A snapshot file in one piece, from a plain state (tests and tools; the daemon uses SnapshotEncoder). */
export function encodeSnapshot(state: TrackerState): Buffer {
  return gzipSync(JSON.stringify({ format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, tracker: state } satisfies SnapshotFile), { level: 1 });
}

/** Text compressed on its own: raw deflate blocks, none final, ending on a byte boundary. */
interface Segment {
  deflated: Buffer;
  /** CRC-32 and length in bytes of the text. */
  crc: number;
  length: number;
}

/** A part of the snapshot's text that is kept compressed while `stamp` stays the same. */
interface Cached {
  key: object;
  stamp: string;
  /** The kept segment when it is current; else what makes the text of the state as planned. */
  segment?: Segment;
  make?: () => string;
}

type Part = Buffer | Cached;

const SEGMENT_LEVEL = 1;
const deflateRawAsync = promisify(deflateRaw);
const segmentOptions = { level: SEGMENT_LEVEL, finishFlush: constants.Z_SYNC_FLUSH };
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
/** An empty final block with fixed codes: ends the deflate stream. */
const FINAL_BLOCK = Buffer.from([3, 0]);
const MAX_STORED = 0xffff;

/**
 * Encodes snapshots of one tracker, reusing what did not change since the last one.
 *
 * The file is one ordinary gzip stream of the same JSON as encodeSnapshot's (JSON does not care
 * about the order of an object's members, so each ring's closed slots are written after its slot
 * in progress), so any version reads it. Inside, the deflate stream is a sequence of pieces that
 * are each complete on their own: the closed slots of each target's minute ring, and of its hour
 * ring together with its incidents, are compressed once and kept until they change (a minute
 * ring once a minute, an hour ring once an hour or when an outage ends); the rest (counters,
 * the slots in progress, maintenance) is small and goes in stored (uncompressed) blocks. The
 * CRC-32 of the whole is combined from the pieces' CRCs. A snapshot at 5 s thus compresses only
 * what changed and never builds the whole text.
 */
export class SnapshotEncoder {
  private readonly kept = new WeakMap<object, { stamp: string; segment: Segment }>();

  /** The parts of a snapshot, taken at once (the state may change as soon as this returns). */
  plan(s: TrackerSnapshot): Part[] {
    const parts: Part[] = [];
    let text = `{"format":${JSON.stringify(SNAPSHOT_FORMAT)},"version":${SNAPSHOT_VERSION},"tracker":{"savedAt":${JSON.stringify(s.savedAt)},"gaps":${JSON.stringify(s.gaps)},"targets":[`;
    const cached = (key: object, stamp: string, later: () => () => string): void => {
      parts.push(Buffer.from(text));
      text = '';
      const part: Cached = { key, stamp };
      const kept = this.kept.get(key);
      if (kept?.stamp === stamp) part.segment = kept.segment;
      else part.make = later();
      parts.push(part);
    };
    let first = true;
    for (const { fields, history: h } of s.live) {
      text += `${first ? '' : ','}{${JSON.stringify(fields).slice(1, -1)},"history":{${JSON.stringify(h.headState()).slice(1, -1)},"minutes":{"open":${JSON.stringify(h.minutes.openState())},`;
      cached(h.minutes, String(h.minutes.closedRevision), () => h.minutes.closedJsonLater());
      text += `},"hours":{"open":${JSON.stringify(h.hours.openState())},`;
      cached(h.hours, `${h.hours.closedRevision}:${h.revision}`, () => {
        const hours = h.hours.closedJsonLater();
        const incidents = JSON.stringify(h.incidentsState());
        return () => `${hours()}},"incidents":${incidents}`;
      });
      text += '}}';
      first = false;
    }
    for (const p of s.pending) {
      text += first ? '' : ',';
      cached(p, '', () => () => JSON.stringify(p));
      first = false;
    }
    parts.push(Buffer.from(`${text}]}}`));
    return parts;
  }

  /** The file: the parts' stale segments compressed here (the stop's last save). */
  encodeSync(parts: Part[]): Buffer {
    for (const p of parts) {
      if (Buffer.isBuffer(p) || p.make === undefined) continue;
      const text = Buffer.from(p.make());
      this.keep(p, segment(text, deflateRawSync(text, segmentOptions)));
    }
    return this.assemble(parts);
  }

  /**
   * The file, with stale segments compressed in the thread pool, one at a time: the event loop
   * is free while each is compressed, and only one segment's text and one zlib state (~270 kB of
   * C memory) exist at once. Once a minute every target's minute ring is stale; compressing them
   * all at once held one text and one zlib state per target together (~40 MB of C memory at 150
   * targets), and the C allocator kept that peak: the daemon's RSS grew by it and stayed up.
   */
  async encode(parts: Part[]): Promise<Buffer> {
    for (const p of parts) {
      if (Buffer.isBuffer(p) || p.make === undefined) continue;
      const text = Buffer.from(p.make());
      this.keep(p, segment(text, await deflateRawAsync(text, segmentOptions)));
    }
    return this.assemble(parts);
  }

  private keep(p: Cached, seg: Segment): void {
    this.kept.set(p.key, { stamp: p.stamp, segment: seg });
    p.segment = seg;
    delete p.make;
  }

  private assemble(parts: Part[]): Buffer {
    const out: Buffer[] = [GZIP_HEADER];
    let crc = 0;
    let length = 0;
    for (const p of parts) {
      if (Buffer.isBuffer(p)) {
        for (let off = 0; off < p.length; off += MAX_STORED) {
          const block = p.subarray(off, off + MAX_STORED);
          const head = Buffer.alloc(5);
          head.writeUInt16LE(block.length, 1);
          head.writeUInt16LE(~block.length & 0xffff, 3);
          out.push(head, block);
        }
        crc = crc32(p, crc);
        length += p.length;
      } else {
        const seg = p.segment!;
        out.push(seg.deflated);
        crc = crc32Combine(crc, seg.crc, seg.length);
        length += seg.length;
      }
    }
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(length % 2 ** 32, 4);
    out.push(FINAL_BLOCK, trailer);
    return Buffer.concat(out);
  }
}

/**
 * A kept segment. zlib hands its output back as a view of its output chunk; kept as is, each
 * segment of a few hundred bytes would hold a whole chunk for as long as it is kept (two per
 * target: ~5 MB at 150 targets). Its bytes are copied into memory of their own size: a copy by
 * Buffer.from lands in Buffer's shared pool, whose slab (64 kB on Node 24) the segment would then
 * keep alive just the same once the rest of it is garbage.
 */
function segment(text: Buffer, deflated: Buffer): Segment {
  const own = Buffer.allocUnsafeSlow(deflated.length);
  deflated.copy(own);
  return { deflated: own, crc: crc32(text), length: text.length };
}

// CRC-32 of two pieces joined, from theirs (zlib's crc32_combine, by polynomial arithmetic mod p).
const CRC_POLY = 0xedb88320;
/** a * b modulo the CRC polynomial (bit-reflected). */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  while (m !== 0) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ CRC_POLY : b >>> 1;
  }
  return p >>> 0;
}
/** x^(2^k) mod p, for k = 0..31. */
const X2N: number[] = [];
for (let k = 0, p = 0x40000000; k < 32; k++) {
  X2N.push(p);
  p = multModP(p, p);
}
export function crc32Combine(crc1: number, crc2: number, length2: number): number {
  // x^(8 * length2) mod p, times crc1.
  let x = 0x80000000;
  for (let n = length2, k = 3; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) x = multModP(X2N[k % 32]!, x);
  }
  return (multModP(x, crc1) ^ crc2) >>> 0;
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
  /**
   * The gaps of the last snapshot written without any target, as JSON; undefined when the last
   * one written had targets (or none was written yet).
   */
  private emptyWritten: string | undefined;
  /** The periodic save in progress, if any (saves never overlap). */
  private pending: Promise<unknown> | undefined;
  private readonly encoder = new SnapshotEncoder();
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
      makeDirectory(this.dir, 0o700);
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
   * One turn of the periodic save. Without any target a snapshot holds nothing but its time and
   * the gaps (time nobody watched): it is written only when the gaps differ from those of the last
   * one written, or the file is gone, so an idle exporter does not open, write and fsync a file
   * every minute. A graceful stop still writes one, so a restart continues from the stop's time.
   * After a crash the gap recorded then starts at the last write instead of the last turn; with no
   * target, no figure covers that time. Resolves with whether it wrote.
   */
  async periodicSave(): Promise<boolean> {
    const state = this.tracker.snapshot();
    const empty = state.live.length + state.pending.length === 0;
    const gaps = empty ? JSON.stringify(state.gaps) : undefined;
    if (empty && gaps === this.emptyWritten && !this.failing && existsSync(this.file)) {
      // The file holds all there is: as good as written now (an alert on its age stays quiet).
      this.lastSuccess?.set({ operation: 'write' }, this.clock());
      return false;
    }
    const ok = await this.saveAsync(state);
    this.emptyWritten = ok ? gaps : undefined;
    return ok;
  }

  /** Writes a snapshot: the state is taken at once, compression and disk I/O happen off the loop. */
  async saveAsync(state: TrackerSnapshot = this.tracker.snapshot()): Promise<boolean> {
    try {
      this.ensureDir();
      const parts = this.encoder.plan(state);
      await writeAtomicAsync(this.file, await this.encoder.encode(parts));
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
    makeDirectory(this.dir, 0o700);
    this.usable = true;
  }

  /** Writes a snapshot now; failures are logged (once per failing run), never thrown. */
  save(): boolean {
    try {
      this.ensureDir();
      writeAtomic(this.file, this.encoder.encodeSync(this.encoder.plan(this.tracker.snapshot())));
      this.saved();
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }
}
