import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { constants, crc32, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import type { Registry } from 'prom-client';
import type { AvailabilityTracker, TrackerSnapshot, TrackerState } from './availability';
import type { Clock } from './clock';
import { DataDirInUse, lockDataDir, type DataDirLock } from './data-lock';
import type { Logger } from './log';
import { M } from './metrics/definitions';
import { counter, gauge, type CounterOf, type GaugeOf } from './metrics/instruments';
import { runAtOnce, runInSlices } from './loop-turn';
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

// CRC-32 of two pieces joined, from theirs (zlib's crc32_combine, by polynomial arithmetic mod p).
const CRC_POLY = 0xedb88320;
/** The polynomial 1 (x^0), bit-reflected. */
const X0 = 0x80000000;
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
/** crcShift of the lengths asked for most: those of small texts, which repeat (a ring's hot texts). */
const SHIFTS = new Map<number, number>();
/** x^(8 * length) mod p. */
function crcShift(length: number): number {
  if (length > 4096) return shiftOf(length);
  let x = SHIFTS.get(length);
  if (x === undefined) SHIFTS.set(length, (x = shiftOf(length)));
  return x;
}
function shiftOf(length: number): number {
  let x = X0;
  for (let n = length, k = 3; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) x = multModP(X2N[k % 32]!, x);
  }
  return x;
}
export function crc32Combine(crc1: number, crc2: number, length2: number): number {
  return (multModP(crcShift(length2), crc1) ^ crc2) >>> 0;
}

/** Text compressed on its own: raw deflate blocks, none final, ending on a byte boundary. */
interface Segment {
  deflated: Buffer;
  /** CRC-32 and length in bytes of the text. */
  crc: number;
  length: number;
  /** x^(8 * length) modulo the CRC polynomial: joining this text after another multiplies the other's CRC by it. */
  shift: number;
}

/**
 * A part of the snapshot's text, in one or more texts, kept as segments while `stamp` stays the
 * same. `key` and `name` say which part (a ring has two: its hot and its cold texts).
 */
interface Piece {
  key: object;
  name: string;
  stamp: number;
  /** The kept segments when they are current; else what makes the texts of the state as planned. */
  segments?: Segment[];
  make?: () => string[];
}

/** A piece's segments, with the stamp they were made at. */
interface Kept {
  stamp: number;
  segments: Segment[];
}

/**
 * Pieces' texts and fixed text that follow each other in the file (one target's closed history):
 * their compressed bytes go one after the other, and the CRC-32 and length of their text together
 * are kept while each piece stays the same. A piece's text is named by the piece and its index.
 */
interface Run {
  key: object;
  /** What the pieces' stamps were when planned: the run is kept while they stay the same. */
  stamps: number[];
  /** The run as kept when its stamps are the same; else its items, to be joined once encoded. */
  joined?: Joined;
  items?: (Segment | [Piece, number])[];
}

/**
 * A run as it goes into the file: its segments' bytes, to be copied one after the other, with the
 * CRC-32, length and shift of their texts combined.
 */
interface Joined {
  parts: Buffer[];
  bytes: number;
  crc: number;
  length: number;
  shift: number;
  stamps: number[];
}

/**
 * A snapshot as planned: `texts[i]` (small, made anew for every save) comes before `runs[i]`, and
 * one more text ends the file.
 */
export interface Plan {
  texts: string[];
  runs: Run[];
}

const SEGMENT_LEVEL = 1;
/**
 * A 4 kB window and a small hash table: the texts are 1-4 kB each, so a larger window finds almost
 * nothing more (the file is the same size), and zlib's state for one text is ~30 kB in allocations
 * of 8 kB at most instead of ~270 kB in four of 64 kB. Those come from the main malloc arena (below
 * the daemon's mmap threshold of 128 kB), where the daemon's own allocations between two
 * compressions land between them. Side by side at the soak's load the main arena was 7.5 MB
 * smaller with this state (docs/benchmarks.md, "Periodic snapshot").
 */
const segmentOptions = { level: SEGMENT_LEVEL, windowBits: 12, memLevel: 4, finishFlush: constants.Z_SYNC_FLUSH };
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
/** An empty final block with fixed codes: ends the deflate stream. */
const FINAL_BLOCK = Buffer.from([3, 0]);
const MAX_STORED = 0xffff;

/** Bytes that `n` bytes take in stored (uncompressed) deflate blocks. */
const storedSize = (n: number): number => n + 5 * Math.ceil(n / MAX_STORED);

/** Copies `text` into `out` at `at` as stored blocks; returns the offset after them. */
function putStored(out: Buffer, at: number, text: Buffer, from: number, to: number): number {
  for (let off = from; off < to; off += MAX_STORED) {
    const n = Math.min(MAX_STORED, to - off);
    out[at] = 0;
    out.writeUInt16LE(n, at + 1);
    out.writeUInt16LE(~n & 0xffff, at + 3);
    text.copy(out, at + 5, off, off + n);
    at += 5 + n;
  }
  return at;
}

/** A text as a segment in stored blocks (its bytes in Buffer's shared pool until owned). */
function stored(t: string): Segment {
  const text = Buffer.from(t);
  const deflated = Buffer.allocUnsafe(storedSize(text.length));
  putStored(deflated, 0, text, 0, text.length);
  return { deflated, crc: crc32(text), length: text.length, shift: crcShift(text.length) };
}

/**
 * Texts shorter than this are kept in stored blocks: compressing them saves a few hundred bytes
 * at most and costs a zlib state each time they change.
 */
const SMALL_TEXT = 256;

/** A text compressed (or stored, when small) on its own; its bytes are zlib's until owned. */
function compress(t: string): Segment {
  const text = Buffer.from(t);
  if (text.length < SMALL_TEXT) return stored(t);
  return { deflated: deflateRawSync(text, segmentOptions), crc: crc32(text), length: text.length, shift: crcShift(text.length) };
}

/**
 * Segments whose bytes are copied into one allocation of their own size, as views of it: the
 * texts of a piece are kept, and freed, together. zlib hands its output back as a view of a 16 kB
 * output chunk and Buffer.from copies into the shared pool's 64 kB slab; kept as is, each segment
 * would keep a whole chunk or slab alive for as long as it is kept.
 */
function owned(segments: Segment[]): Segment[] {
  const all = Buffer.allocUnsafeSlow(segments.reduce((n, s) => n + s.deflated.length, 0));
  let at = 0;
  for (const s of segments) {
    const end = at + s.deflated.copy(all, at);
    s.deflated = all.subarray(at, end);
    at = end;
  }
  return segments;
}
const storedSegments = (texts: string[]): Segment[] => owned(texts.map(stored));
const storedSegment = (text: string): Segment => storedSegments([text])[0]!;

/** What comes between the closed minutes, the incidents and the closed hours of a target. */
const MINUTES_TO_INCIDENTS = storedSegment('},"incidents":');
const INCIDENTS_TO_HOURS = storedSegment(',"hours":{');

/**
 * Encodes snapshots of one tracker, reusing what did not change since the last one.
 *
 * The file is one ordinary gzip stream of the same JSON as encodeSnapshot's (JSON does not care
 * about the order of an object's members), so any version reads it. Each target is written as
 *
 *   {…its fields…,"history":{…,"minutes":{"open":…,  CLOSED MINUTES},"incidents":INCIDENTS,"hours":{CLOSED HOURS  ,"open":…}}}
 *
 * where the pieces in capitals are kept, as raw deflate blocks ending on a byte boundary (so that
 * they can follow each other and the rest), until they change. The closed minute slots change every
 * minute, but only within the hour of the ring the open minute is in: that hour of each slot array
 * is stored (uncompressed, 80-160 bytes) and redone every minute, and the texts around it are
 * compressed again only when the open minute moves into the next hour of the ring or an older
 * slot changes (see Ring.hotTexts). The incidents change when an outage starts or ends, the closed
 * hour slots once an hour or when an outage ends. With the fixed texts between them they form one
 * run per target, kept joined with its CRC-32 while none of them changes; the rest (the target's
 * counters, the slots in progress) is small, is made anew for every save as one text, and goes
 * into stored blocks. The file's CRC-32 is the text's, combined with each run's by one
 * multiplication. A save at 5 s thus makes one small text, copies the runs, compresses only what
 * changed and never builds the whole text.
 */
export class SnapshotEncoder {
  private readonly kept = new WeakMap<object, Map<string, Kept>>();
  private readonly joined = new WeakMap<object, Joined>();

  /** The parts of a snapshot, taken at once (the state may change as soon as this returns). */
  plan(s: TrackerSnapshot): Plan {
    const texts: string[] = [];
    const runs: Run[] = [];
    let text = `{"format":${JSON.stringify(SNAPSHOT_FORMAT)},"version":${SNAPSHOT_VERSION},"tracker":{"savedAt":${JSON.stringify(s.savedAt)},"gaps":${JSON.stringify(s.gaps)},"targets":[`;
    let sep = '';
    for (const { fields, history: h } of s.live) {
      const f = JSON.stringify(fields);
      const head = JSON.stringify(h.headState());
      texts.push(`${text}${sep}{${f.slice(1, -1)},"history":{${head.slice(1, -1)},"minutes":{"open":${JSON.stringify(h.minutes.openState())},`);
      const m = h.minutes;
      const stamps = [m.coldRevision, m.closedRevision, h.revision, h.hours.closedRevision];
      const joined = this.current(h, stamps);
      text = `,"open":${JSON.stringify(h.hours.openState())}}}}`;
      sep = ',';
      if (joined !== undefined) {
        runs.push({ key: h, stamps, joined });
        continue;
      }
      const cold = this.piece(m, 'cold', m.coldRevision, () => m.coldTextsLater());
      const hot = this.storedPiece(m, 'hot', m.closedRevision, () => m.hotTexts());
      const items: Run['items'] = [];
      for (let i = 0; i < m.arrayCount; i++) items.push([cold, i], [hot, i]);
      items.push(
        [cold, m.arrayCount],
        MINUTES_TO_INCIDENTS,
        [this.piece(h.incidents, 'incidents', h.revision, () => {
          const incidents = JSON.stringify(h.incidentsState());
          return () => [incidents];
        }), 0],
        INCIDENTS_TO_HOURS,
        [this.piece(h.hours, 'closed', h.hours.closedRevision, () => {
          const closed = h.hours.closedJsonLater();
          return () => [closed()];
        }), 0],
      );
      runs.push({ key: h, stamps, items });
    }
    for (const p of s.pending) {
      texts.push(`${text}${sep}`);
      const joined = this.current(p, [0]);
      runs.push(joined !== undefined ? { key: p, stamps: [0], joined } : { key: p, stamps: [0], items: [[this.piece(p, 'pending', 0, () => () => [JSON.stringify(p)]), 0]] });
      text = '';
      sep = ',';
    }
    texts.push(`${text}]}}`);
    return { texts, runs };
  }

  /** The run of `key` as kept, if its stamps are still `stamps`. */
  private current(key: object, stamps: number[]): Joined | undefined {
    const was = this.joined.get(key);
    return was !== undefined && was.stamps.length === stamps.length && was.stamps.every((x, i) => x === stamps[i]) ? was : undefined;
  }

  /** A piece compressed when the plan is encoded, unless it is kept. */
  private piece(key: object, name: string, stamp: number, later: () => () => string[]): Piece {
    const kept = this.kept.get(key)?.get(name);
    return kept?.stamp === stamp ? { key, name, stamp, segments: kept.segments } : { key, name, stamp, make: later() };
  }

  /** A piece in stored blocks (texts of a few hundred bytes that change every minute), made now unless kept. */
  private storedPiece(key: object, name: string, stamp: number, now: () => string[]): Piece {
    const kept = this.kept.get(key)?.get(name);
    if (kept?.stamp === stamp) return { key, name, stamp, segments: kept.segments };
    const p: Piece = { key, name, stamp };
    this.keep(p, storedSegments(now()));
    return p;
  }

  /** The file: the plan's stale pieces compressed here (the stop's last save). */
  encodeSync(plan: Plan): Buffer {
    runAtOnce(this.compressStale(plan));
    return this.assemble(plan);
  }

  /**
   * The file, with the event loop let go between stale pieces after every few milliseconds of
   * compressing. In a steady state a save compresses nothing: the minutes' texts of their current
   * hour are stored, and the rest of a ring is compressed again once an hour, when the open
   * minute moves to the next hour of the ring (every target at once: ~1,000 texts of ~4 kB at 150
   * targets, ~100 ms in all). One zlib state (~30 kB of C memory) exists at a time: compressing
   * many at once (in the thread pool) held one per target together (~40 MB of C memory at 150
   * targets), and the C allocator kept that peak: the daemon's RSS grew by it and stayed up.
   */
  async encode(plan: Plan): Promise<Buffer> {
    await runInSlices(this.compressStale(plan), () => false);
    return this.assemble(plan);
  }

  /** Compresses the plan's stale pieces, one text per step. */
  private *compressStale(plan: Plan): Generator<undefined, void> {
    for (const p of stale(plan)) {
      const segments: Segment[] = [];
      for (const t of p.make!()) {
        segments.push(compress(t));
        yield;
      }
      this.keep(p, owned(segments));
    }
  }

  private keep(p: Piece, segments: Segment[]): void {
    let byName = this.kept.get(p.key);
    if (byName === undefined) this.kept.set(p.key, (byName = new Map<string, Kept>()));
    byName.set(p.name, { stamp: p.stamp, segments });
    p.segments = segments;
    delete p.make;
  }

  /**
   * A run as it goes into the file: kept as planned, else its segments' CRC-32s combined (and kept:
   * once a minute, the minutes' hot texts change; other saves reuse it whole). Its bytes stay
   * where its pieces keep them: nothing is copied until the file is assembled.
   */
  private join(run: Run): Joined {
    if (run.joined !== undefined) return run.joined;
    const parts: Buffer[] = [];
    let crc = 0;
    let length = 0;
    let shift = X0;
    let bytes = 0;
    for (const i of run.items!) {
      const seg = Array.isArray(i) ? i[0].segments![i[1]]! : i;
      parts.push(seg.deflated);
      crc = (multModP(seg.shift, crc) ^ seg.crc) >>> 0;
      length += seg.length;
      shift = multModP(seg.shift, shift);
      bytes += seg.deflated.length;
    }
    const joined: Joined = { parts, bytes, crc, length, shift, stamps: run.stamps };
    this.joined.set(run.key, joined);
    run.joined = joined;
    return joined;
  }

  private assemble(plan: Plan): Buffer {
    const { texts, runs } = plan;
    const all = texts.join('');
    const text = Buffer.from(all);
    // Where each text ends in `text` (characters are bytes unless one is not ASCII).
    const ends: number[] = [];
    let end = 0;
    for (const t of texts) ends.push((end += text.length === all.length ? t.length : Buffer.byteLength(t)));
    const joined = runs.map((r) => this.join(r));
    let size = GZIP_HEADER.length + FINAL_BLOCK.length + 8;
    let from = 0;
    for (const e of ends) {
      size += storedSize(e - from);
      from = e;
    }
    for (const j of joined) size += j.bytes;

    const out = Buffer.allocUnsafe(size);
    let at = GZIP_HEADER.copy(out, 0);
    let crc = 0;
    let length = 0;
    from = 0;
    for (let i = 0; i < texts.length; i++) {
      const e = ends[i]!;
      at = putStored(out, at, text, from, e);
      crc = crc32(text.subarray(from, e), crc);
      length += e - from;
      from = e;
      const j = joined[i];
      if (j === undefined) continue;
      for (const part of j.parts) at += part.copy(out, at);
      crc = (multModP(j.shift, crc) ^ j.crc) >>> 0;
      length += j.length;
    }
    at += FINAL_BLOCK.copy(out, at);
    if (at + 8 !== size) throw new Error(`snapshot encoder: ${at + 8} bytes written where ${size} were counted`);
    out.writeUInt32LE(crc >>> 0, at);
    out.writeUInt32LE(length % 2 ** 32, at + 4);
    return out;
  }
}

/** The pieces of a plan that need compressing. */
function* stale(plan: Plan): Generator<Piece> {
  const seen = new Set<Piece>();
  for (const run of plan.runs) {
    for (const i of run.items ?? []) {
      if (!Array.isArray(i) || i[0].make === undefined || seen.has(i[0])) continue;
      seen.add(i[0]);
      yield i[0];
    }
  }
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

/**
 * A directory where the lock cannot be created at all (read-only, not ours, not creatable): the
 * exporter runs on without persistence, as load() reports. Anything else (a lock file that cannot
 * be read or judged) refuses the start rather than run unlocked beside another daemon.
 */
function isUnwritable(err: unknown): boolean {
  if (err instanceof DataDirInUse) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return code === undefined || code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR' || code === 'ENOENT';
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
  /** The directory's lock, from open() to stop(). */
  private lock: DataDirLock | undefined;
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
   * Takes the directory's lock (src/data-lock.ts), then load(). Rejects only when another live
   * daemon holds the directory; a lock that cannot be written (a read-only or missing directory)
   * is logged and the exporter goes on as load() says.
   */
  async open(): Promise<void> {
    try {
      makeDirectory(this.dir, 0o700);
      this.lock = await lockDataDir(this.dir, this.log);
      // Refreshed from now on, not from the end of the start: a start slower than the stale
      // period must not let a daemon that cannot see this one take the directory.
      this.lock.start();
    } catch (err) {
      if (!isUnwritable(err)) throw err;
      this.log.error({ err, dir: this.dir }, 'data directory lock not taken; a second daemon on this directory would not be refused');
    }
    this.load();
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

  /**
   * Stops the periodic save, writes a last snapshot (after the one in progress, if any) and
   * releases the directory's lock.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.pending;
    this.save();
    this.release();
  }

  /** Releases the directory's lock without a last save (a start that failed after open()). */
  release(): void {
    this.lock?.release();
    this.lock = undefined;
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
