/**
 * What the exporter remembers of each target by itself, bounded in memory: per-minute
 * aggregates for 48 hours, per-hour aggregates for 90 days, and the last 100 incidents.
 *
 * A slot holds the checks and failed checks of its minute (hour), the seconds of closed outages
 * that fell into it, and, for kinds that measure a latency (HTTP request, MQTT round trip), its
 * minimum, mean and maximum. Only the slot in progress is kept at full precision; when time moves
 * past it, it is packed into fixed typed arrays:
 *
 *   minute slot: checks u8, failures u8 (both saturate at 255), down u8 (quarter seconds),
 *                latency mean u16 (log scale, 0.03 % steps), min and max u8 (log scale, 7.5 % steps)
 *   hour slot:   checks u16, failures u16 (saturate at 65535), down u16 (1/16 s), outages started u8,
 *                latency as for minutes
 *
 * That is 3 (+4 with latency) bytes per minute and 7 (+4) bytes per hour: 23.8 KB per target
 * without latency, 43.9 KB with it, plus up to 100 incidents (about 5 KB; reasons are cut at 256
 * characters). docs/benchmarks.md has the memory measured for 100 targets.
 *
 * The outage in progress is not in the slots: readers add it (it ends "now"). Time the exporter
 * did not watch (the gap of a restart, before the target's state was first known) is unknown,
 * neither up nor down; readers pass those intervals in.
 */

export const MINUTE = 60;
export const HOUR = 3600;
export const DAY = 86_400;
export const MINUTE_SLOTS = 48 * 60;
/** Minute slots per chunk of the minute ring's saved text (see Ring.hotTexts). */
export const MINUTE_CHUNK = 60;
export const HOUR_SLOTS = 90 * 24;
export const MAX_INCIDENTS = 100;
/** Maintenance intervals kept per target (the oldest go first), and for how long. */
export const MAX_MAINTENANCE = 500;
const MAINTENANCE_RETENTION = 91 * 86_400;
/** Longest reason kept with an incident (characters). */
export const MAX_REASON = 256;

export interface Incident {
  start: number;
  /** Absent while the outage goes on. */
  end?: number;
  /** The error of the first failed check of the outage. */
  reason: string;
}

/** A closed interval of time [start, end) in unix seconds. */
export interface Interval { start: number; end: number }

/** Aggregates over a span of time. */
export interface Aggregate {
  checks: number;
  failures: number;
  /** Seconds down (excluding unknown time). */
  downSeconds: number;
  /** Seconds whose state is known (the span minus unknown time). */
  knownSeconds: number;
  /** Outages that started in the span. */
  outages: number;
  latency?: { min: number; avg: number; max: number };
}

// --- log-scale latency codes; 0 means "no value" --------------------------------------------------
const L16_UNIT = 1e-6;
const L16_STEPS = 2048;
export function enc16(s: number): number {
  const c = 1 + Math.round(Math.log2(Math.max(0, s) / L16_UNIT + 1) * L16_STEPS);
  return Math.min(0xffff, c);
}
export function dec16(c: number): number {
  return (2 ** ((c - 1) / L16_STEPS) - 1) * L16_UNIT;
}
const L8_UNIT = 1e-5;
const L8_BASE = Math.log(1.075);
export function enc8(s: number): number {
  const c = 1 + Math.round(Math.log(Math.max(L8_UNIT, s) / L8_UNIT) / L8_BASE);
  return Math.min(0xff, Math.max(1, c));
}
const DEC8 = Float64Array.from({ length: 256 }, (_, c) => L8_UNIT * Math.exp((c - 1) * L8_BASE));
export function dec8(c: number): number {
  return DEC8[c]!;
}

interface Open {
  slot: number;
  checks: number;
  failures: number;
  down: number;
  outages: number;
  latN: number;
  latSum: number;
  latMin: number;
  latMax: number;
}

const emptyOpen = (slot: number): Open => ({ slot, checks: 0, failures: 0, down: 0, outages: 0, latN: 0, latSum: 0, latMin: Infinity, latMax: 0 });

/** One resolution: a ring of `size` slots of `width` seconds plus the slot in progress. */
export class Ring {
  readonly checks: Uint8Array | Uint16Array;
  readonly failures: Uint8Array | Uint16Array;
  readonly down: Uint8Array | Uint16Array;
  readonly outages: Uint8Array | undefined;
  readonly latAvg: Uint16Array | undefined;
  readonly latMin: Uint8Array | undefined;
  readonly latMax: Uint8Array | undefined;
  private readonly countMax: number;
  private readonly downMax: number;
  /** Units of `down` per second. */
  private readonly downUnit: number;
  /** Slot number (floor(t / width)) of the open slot; -1 before the first event. */
  private open: Open = emptyOpen(-1);
  /**
   * Grows whenever a closed slot changes (packed, cleared, down time or an outage added to it,
   * loaded): the text of closedJsonLater() made at the same revision still holds.
   */
  closedRevision = 0;
  /**
   * Grows whenever a closed slot outside the open slot's chunk changes, and when the open slot
   * moves to another chunk: the texts of coldTextsLater() made at the same revision still
   * hold (see there).
   */
  coldRevision = 0;

  /** `chunk`: slots per chunk of hotTexts() (a multiple of 3 that divides `size`). */
  constructor(readonly width: number, readonly size: number, latency: boolean, readonly chunk: number = size) {
    if (size % chunk !== 0 || chunk % 3 !== 0) throw new Error(`chunk of ${chunk} slots does not divide a ring of ${size} into base64-aligned parts`);
    const wide = width > MINUTE;
    this.checks = wide ? new Uint16Array(size) : new Uint8Array(size);
    this.failures = wide ? new Uint16Array(size) : new Uint8Array(size);
    this.countMax = wide ? 0xffff : 0xff;
    this.down = wide ? new Uint16Array(size) : new Uint8Array(size);
    this.downMax = wide ? 0xffff : 0xff;
    this.downUnit = wide ? 16 : 4;
    this.outages = wide ? new Uint8Array(size) : undefined;
    if (latency) {
      this.latAvg = new Uint16Array(size);
      this.latMin = new Uint8Array(size);
      this.latMax = new Uint8Array(size);
    }
  }

  get openSlot(): number {
    return this.open.slot;
  }

  /** Moves the open slot to the one holding `t`, packing and clearing the slots passed over. */
  advance(t: number): void {
    const slot = Math.floor(t / this.width);
    const o = this.open;
    if (slot <= o.slot) return;
    if (o.slot >= 0) {
      this.pack(o);
      // Clear what lies between (the ring wraps: at most `size` slots need clearing).
      const from = Math.max(o.slot + 1, slot - this.size + 1);
      for (let s = from; s < slot; s++) this.clear(s % this.size);
    }
    this.clear(slot % this.size);
    // Every slot passed over lies in the open slot's chunk unless the open slot left it (or
    // went round the ring to it again).
    if (o.slot < 0 || this.chunkOf(slot) !== this.chunkOf(o.slot) || slot - o.slot >= this.chunk) this.coldRevision += 1;
    this.open = emptyOpen(slot);
    this.closedRevision += 1;
  }

  /** The chunk of hotTexts() that a slot number's place in the ring falls into. */
  private chunkOf(slot: number): number {
    return Math.floor((slot % this.size) / this.chunk);
  }

  /** Counts a change of the closed slot `slot` (not the open one). */
  private changed(slot: number): void {
    this.closedRevision += 1;
    if (this.chunkOf(slot) !== this.chunkOf(Math.max(0, this.open.slot))) this.coldRevision += 1;
  }

  addCheck(t: number, ok: boolean): void {
    this.advance(t);
    const o = this.slotAt(t);
    if (o === undefined) return;
    o.checks += 1;
    if (!ok) o.failures += 1;
  }

  addLatency(t: number, seconds: number): void {
    if (this.latAvg === undefined || !Number.isFinite(seconds) || seconds < 0) return;
    this.advance(t);
    const o = this.slotAt(t);
    if (o === undefined) return;
    o.latN += 1;
    o.latSum += seconds;
    o.latMin = Math.min(o.latMin, seconds);
    o.latMax = Math.max(o.latMax, seconds);
  }

  addOutageStart(t: number): void {
    if (this.outages === undefined) return;
    const slot = Math.floor(t / this.width);
    if (slot === this.open.slot) this.open.outages += 1;
    else if (this.holds(slot)) {
      const i = slot % this.size;
      this.outages[i] = Math.min(0xff, this.outages[i]! + 1);
      this.changed(slot);
    }
  }

  /** Adds down time over [from, to) to the slots it covers (closed ones included). */
  addDown(from: number, to: number): void {
    if (!(to > from)) return;
    let s = Math.floor(from / this.width);
    const last = Math.floor((to - 1e-9) / this.width);
    for (; s <= last; s++) {
      const a = Math.max(from, s * this.width);
      const b = Math.min(to, (s + 1) * this.width);
      if (b <= a) continue;
      if (s === this.open.slot) this.open.down += b - a;
      else if (this.holds(s)) {
        const i = s % this.size;
        this.down[i] = Math.min(this.downMax, this.down[i]! + Math.round((b - a) * this.downUnit));
        this.changed(s);
      }
    }
  }

  /** True for a closed slot still in the ring. */
  private holds(slot: number): boolean {
    return slot < this.open.slot && slot > this.open.slot - this.size && slot >= 0;
  }

  /** The open slot if `t` falls into it (events older than the open slot are dropped). */
  private slotAt(t: number): Open | undefined {
    return Math.floor(t / this.width) === this.open.slot ? this.open : undefined;
  }

  private clear(i: number): void {
    this.checks[i] = 0;
    this.failures[i] = 0;
    this.down[i] = 0;
    if (this.outages) this.outages[i] = 0;
    if (this.latAvg) {
      this.latAvg[i] = 0;
      this.latMin![i] = 0;
      this.latMax![i] = 0;
    }
  }

  private pack(o: Open): void {
    const i = o.slot % this.size;
    this.checks[i] = Math.min(this.countMax, o.checks);
    this.failures[i] = Math.min(this.countMax, o.failures);
    this.down[i] = Math.min(this.downMax, Math.round(o.down * this.downUnit));
    if (this.outages) this.outages[i] = Math.min(0xff, o.outages);
    if (this.latAvg && o.latN > 0) {
      this.latAvg[i] = enc16(o.latSum / o.latN);
      this.latMin![i] = enc8(o.latMin);
      this.latMax![i] = enc8(o.latMax);
    }
  }

  /**
   * Sums the slots that start in [from, to) into `acc` (down time only; known time and the
   * outage in progress are the caller's). Slots no longer in the ring count as empty.
   */
  sum(from: number, to: number, acc: Aggregate, lat: LatencyAcc | undefined): void {
    const first = Math.ceil(from / this.width);
    const last = Math.ceil(to / this.width) - 1;
    for (let s = Math.max(first, this.open.slot - this.size + 1, 0); s <= Math.min(last, this.open.slot); s++) {
      if (s === this.open.slot) {
        const o = this.open;
        acc.checks += o.checks;
        acc.failures += o.failures;
        acc.downSeconds += o.down;
        acc.outages += o.outages;
        if (lat !== undefined && o.latN > 0) lat.add(o.latSum / o.latN, o.latMin, o.latMax, o.latN);
        continue;
      }
      const i = s % this.size;
      const checks = this.checks[i]!;
      acc.checks += checks;
      acc.failures += this.failures[i]!;
      acc.downSeconds += this.down[i]! / this.downUnit;
      if (this.outages) acc.outages += this.outages[i]!;
      if (lat !== undefined && this.latAvg && this.latAvg[i]! > 0) {
        lat.add(dec16(this.latAvg[i]!), dec8(this.latMin![i]!), dec8(this.latMax![i]!), Math.max(1, checks));
      }
    }
  }

  /** Bytes held by the typed arrays. */
  bytes(): number {
    let n = this.checks.byteLength + this.failures.byteLength + this.down.byteLength;
    for (const a of [this.outages, this.latAvg, this.latMin, this.latMax]) n += a?.byteLength ?? 0;
    return n;
  }

  // --- snapshot ---
  toJSON(): RingState {
    return { ...closedState(this.width, this.size, this.arrays()), open: this.openState() };
  }

  /** The slot in progress as saved (changes with every check). */
  openState(): RingState['open'] {
    const o = this.open;
    return { ...o, latMin: Number.isFinite(o.latMin) ? o.latMin : null };
  }

  /**
   * Everything of toJSON() but the slot in progress, as the members of a JSON object without its
   * braces (`"width":60,…`; it changes only when closedRevision does), for the ring as it is now
   * but made later: the slot arrays are copied now, their text is made when the returned function
   * is called.
   */
  closedJsonLater(): () => string {
    const a = this.arrays();
    const copy: RingArrays = {
      checks: a.checks.slice(), failures: a.failures.slice(), down: a.down.slice(),
      outages: a.outages?.slice(), latAvg: a.latAvg?.slice(), latMin: a.latMin?.slice(), latMax: a.latMax?.slice(),
    };
    return () => closedJson(this.width, this.size, copy);
  }

  /**
   * The same text as closedJsonLater()'s, cut around the chunk of `chunk` slots that the open
   * slot is in, which changes every time the open slot moves. hotTexts() holds that chunk of each
   * slot array (one text per array; they change only when closedRevision does); coldTextsLater()
   * the texts before, between and after them (one more; they change only when coldRevision does).
   * Joined in turn, cold[0] hot[0] cold[1] … hot[n-1] cold[n] are closedJsonLater()'s text.
   */
  hotTexts(): string[] {
    const c = this.chunkOf(Math.max(0, this.open.slot));
    return this.named().map(([, a]) => b64(a.subarray(c * this.chunk, (c + 1) * this.chunk)));
  }

  /** See hotTexts(): the slot arrays are copied now, the texts made when the function is called. */
  coldTextsLater(): () => string[] {
    const c = this.chunkOf(Math.max(0, this.open.slot));
    const copies = this.named().map(([name, a]) => [name, a.slice()] as const);
    return () => {
      const cold: string[] = [];
      let text = `"width":${this.width},"size":${this.size}`;
      for (const [name, a] of copies) {
        cold.push(`${text},${JSON.stringify(name)}:"${b64(a.subarray(0, c * this.chunk))}`);
        text = `${b64(a.subarray((c + 1) * this.chunk))}"`;
      }
      cold.push(text);
      return cold;
    };
  }

  /** How many slot arrays the ring has (texts of hotTexts()). */
  get arrayCount(): number {
    return 3 + (this.outages ? 1 : 0) + (this.latAvg ? 3 : 0);
  }

  /** The slot arrays with their names in the snapshot, in closedState()'s order. */
  private named(): [string, Uint8Array | Uint16Array][] {
    const out: [string, Uint8Array | Uint16Array][] = [['checks', this.checks], ['failures', this.failures], ['down', this.down]];
    if (this.outages) out.push(['outages', this.outages]);
    if (this.latAvg) out.push(['latAvg', this.latAvg], ['latMin', this.latMin!], ['latMax', this.latMax!]);
    return out;
  }

  private arrays(): RingArrays {
    return { checks: this.checks, failures: this.failures, down: this.down, outages: this.outages, latAvg: this.latAvg, latMin: this.latMin, latMax: this.latMax };
  }

  /** Restores a ring saved by toJSON; throws on any mismatch (the caller sets the snapshot aside). */
  load(s: RingState): void {
    if (s.width !== this.width || s.size !== this.size) throw new Error(`ring of ${s.size}x${s.width}s where ${this.size}x${this.width}s was expected`);
    const fill = (dst: Uint8Array | Uint16Array | undefined, src: string | undefined, what: string): void => {
      if (dst === undefined) return;
      if (typeof src !== 'string') throw new Error(`ring field ${what} missing`);
      const buf = Buffer.from(src, 'base64');
      if (buf.byteLength !== dst.byteLength) throw new Error(`ring field ${what} has ${buf.byteLength} bytes, expected ${dst.byteLength}`);
      new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(buf);
    };
    fill(this.checks, s.checks, 'checks');
    fill(this.failures, s.failures, 'failures');
    fill(this.down, s.down, 'down');
    fill(this.outages, s.outages, 'outages');
    fill(this.latAvg, s.latAvg, 'latAvg');
    fill(this.latMin, s.latMin, 'latMin');
    fill(this.latMax, s.latMax, 'latMax');
    const o = s.open;
    const nums = [o.slot, o.checks, o.failures, o.down, o.outages, o.latN, o.latSum, o.latMax];
    if (!nums.every((n) => typeof n === 'number' && Number.isFinite(n))) throw new Error('ring open slot is not numeric');
    this.open = { ...o, latMin: typeof o.latMin === 'number' ? o.latMin : Infinity };
    this.closedRevision += 1;
    this.coldRevision += 1;
  }
}

interface RingArrays {
  checks: Uint8Array | Uint16Array;
  failures: Uint8Array | Uint16Array;
  down: Uint8Array | Uint16Array;
  outages: Uint8Array | undefined;
  latAvg: Uint16Array | undefined;
  latMin: Uint8Array | undefined;
  latMax: Uint8Array | undefined;
}

/** The bytes of a slot array in base64, as saved. */
const b64 = (v: ArrayBufferView): string => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');

function closedState(width: number, size: number, a: RingArrays): Omit<RingState, 'open'> {
  return {
    width, size, checks: b64(a.checks), failures: b64(a.failures), down: b64(a.down),
    ...(a.outages ? { outages: b64(a.outages) } : {}),
    ...(a.latAvg ? { latAvg: b64(a.latAvg), latMin: b64(a.latMin!), latMax: b64(a.latMax!) } : {}),
  };
}

const closedJson = (width: number, size: number, a: RingArrays): string => JSON.stringify(closedState(width, size, a)).slice(1, -1);

export interface RingState {
  width: number;
  size: number;
  open: Omit<Open, 'latMin'> & { latMin: number | null };
  checks: string;
  failures: string;
  down: string;
  outages?: string | undefined;
  latAvg?: string | undefined;
  latMin?: string | undefined;
  latMax?: string | undefined;
}

/** Combines latency aggregates; the mean is weighted by the number of observations. */
export class LatencyAcc {
  n = 0;
  sum = 0;
  min = Infinity;
  max = 0;
  add(avg: number, min: number, max: number, n: number): void {
    this.n += n;
    this.sum += avg * n;
    this.min = Math.min(this.min, min);
    this.max = Math.max(this.max, max);
  }
  result(): Aggregate['latency'] {
    return this.n === 0 ? undefined : { min: this.min, avg: this.sum / this.n, max: this.max };
  }
}

/** The length of [from, to) not covered by `gaps` (which may overlap each other). */
export function uncovered(from: number, to: number, gaps: readonly Interval[]): number {
  if (!(to > from)) return 0;
  if (gaps.length === 0) return to - from;
  let covered = 0;
  let cursor = from;
  const sorted = gaps.filter((g) => g.end > from && g.start < to).sort((a, b) => a.start - b.start);
  for (const g of sorted) {
    const a = Math.max(cursor, g.start);
    const b = Math.min(to, g.end);
    if (b > a) {
      covered += b - a;
      cursor = b;
    }
  }
  return to - from - covered;
}

/** Subtracts `gaps` from [from, to): the pieces that remain. */
export function subtract(from: number, to: number, gaps: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let cursor = from;
  const sorted = gaps.filter((g) => g.end > from && g.start < to).sort((a, b) => a.start - b.start);
  for (const g of sorted) {
    if (g.start > cursor) out.push({ start: cursor, end: Math.min(g.start, to) });
    cursor = Math.max(cursor, g.end);
    if (cursor >= to) break;
  }
  if (cursor < to) out.push({ start: cursor, end: to });
  return out;
}

export interface HistoryState {
  latency: boolean;
  knownSince?: number | undefined;
  /** Time inside maintenance windows (absent in snapshots of earlier versions). */
  maintenance?: Interval[] | undefined;
  minutes: RingState;
  hours: RingState;
  incidents: Incident[];
}

/** The history of one target. All times are unix seconds and must not go backwards. */
export class TargetHistory {
  readonly minutes: Ring;
  readonly hours: Ring;
  readonly incidents: Incident[] = [];
  /** When the target's state was first known (before it: unknown). */
  knownSince: number | undefined;
  /**
   * Grows whenever something other than the slot in progress changes (an outage starts or ends,
   * the state becomes known): figures of closed slots computed at the same revision still hold.
   */
  revision = 0;
  /**
   * Time spent inside maintenance windows, oldest first: not judged, left out of uptime figures
   * like the unknown gaps (see src/maintenance.ts). The last one may still be growing.
   */
  readonly maintenance: Interval[] = [];

  constructor(readonly latency: boolean) {
    this.minutes = new Ring(MINUTE, MINUTE_SLOTS, latency, MINUTE_CHUNK);
    this.hours = new Ring(HOUR, HOUR_SLOTS, latency);
  }

  check(t: number, ok: boolean): void {
    this.minutes.addCheck(t, ok);
    this.hours.addCheck(t, ok);
  }

  latencySample(t: number, seconds: number): void {
    this.minutes.addLatency(t, seconds);
    this.hours.addLatency(t, seconds);
  }

  known(t: number): void {
    if (this.knownSince === undefined) {
      this.knownSince = t;
      this.revision += 1;
    }
  }

  /**
   * Marks [start, end) as maintenance: extends the last interval when it began at `start`
   * (the same stay in a window), else opens a new one.
   */
  maintenanceSpan(start: number, end: number): void {
    const last = this.maintenance[this.maintenance.length - 1];
    if (last !== undefined && last.start === start) {
      last.end = Math.max(last.end, end);
      return;
    }
    this.maintenance.push({ start, end: Math.max(start, end) });
    this.revision += 1;
    const old = end - MAINTENANCE_RETENTION;
    while (this.maintenance.length > MAX_MAINTENANCE || (this.maintenance[0] !== undefined && this.maintenance[0].end < old)) this.maintenance.shift();
  }

  /** Unknown gaps and maintenance together: the time not judged. */
  private unjudged(gaps: readonly Interval[]): readonly Interval[] {
    return this.maintenance.length === 0 ? gaps : [...gaps, ...this.maintenance];
  }

  outageStarted(start: number, reason: string): void {
    this.minutes.advance(start);
    this.hours.advance(start);
    this.hours.addOutageStart(start);
    // Reasons repeat (the same refusal, the same timeout): share the string; long ones are cut.
    const prev = this.incidents[this.incidents.length - 1];
    const text = reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason;
    this.incidents.push({ start, reason: prev?.reason === text ? prev.reason : text });
    this.revision += 1;
    if (this.incidents.length > MAX_INCIDENTS) this.incidents.splice(0, this.incidents.length - MAX_INCIDENTS);
  }

  /** Closes the outage in progress; `gaps` (unknown time) are left out of its down time. */
  outageEnded(end: number, gaps: readonly Interval[]): void {
    const open = this.incidents[this.incidents.length - 1];
    if (open === undefined || open.end !== undefined) return;
    open.end = end;
    this.revision += 1;
    this.minutes.advance(end);
    this.hours.advance(end);
    for (const piece of subtract(open.start, end, this.unjudged(gaps))) {
      this.minutes.addDown(piece.start, piece.end);
      this.hours.addDown(piece.start, piece.end);
    }
  }

  /** The outage in progress, if any. */
  ongoing(): Incident | undefined {
    const last = this.incidents[this.incidents.length - 1];
    return last !== undefined && last.end === undefined ? last : undefined;
  }

  /**
   * Aggregates [from, to), `to` at most `now`. Slots are minutes when the span lies within the
   * last 48 hours and is not a whole number of hours, else hours; [from, to) should be aligned to
   * the resolution used.
   */
  aggregate(from: number, to: number, now: number, gaps: readonly Interval[], resolution: 'minute' | 'hour', latency = true): Aggregate {
    const ring = resolution === 'minute' ? this.minutes : this.hours;
    ring.advance(now);
    gaps = this.unjudged(gaps);
    const acc: Aggregate = { checks: 0, failures: 0, downSeconds: 0, knownSeconds: 0, outages: 0 };
    const lat = latency && this.latency ? new LatencyAcc() : undefined;
    ring.sum(from, to, acc, lat);
    const end = Math.min(to, now);
    const start = Math.max(from, this.knownSince ?? end);
    acc.knownSeconds = uncovered(start, end, gaps);
    const o = this.ongoing();
    if (o !== undefined) acc.downSeconds += uncovered(Math.max(start, o.start), end, gaps);
    acc.downSeconds = Math.min(acc.downSeconds, acc.knownSeconds);
    const l = lat?.result();
    if (l !== undefined) acc.latency = l;
    return acc;
  }

  bytes(): number {
    let n = this.minutes.bytes() + this.hours.bytes() + this.maintenance.length * 40;
    let prev: string | undefined;
    for (const i of this.incidents) {
      n += 48 + (i.reason === prev ? 0 : i.reason.length);
      prev = i.reason;
    }
    return n;
  }

  toJSON(): HistoryState {
    return { ...this.headState(), minutes: this.minutes.toJSON(), hours: this.hours.toJSON(), incidents: this.incidentsState() };
  }

  /** What toJSON() holds besides the rings and incidents (maintenance changes without a revision). */
  headState(): Omit<HistoryState, 'minutes' | 'hours' | 'incidents'> {
    return { latency: this.latency, knownSince: this.knownSince, maintenance: this.maintenance.map((i) => ({ ...i })) };
  }

  /** The incidents as saved; they change only with `revision`. */
  incidentsState(): Incident[] {
    return this.incidents.map((i) => ({ ...i }));
  }

  static fromJSON(s: HistoryState): TargetHistory {
    const h = new TargetHistory(s.latency === true);
    h.minutes.load(s.minutes);
    h.hours.load(s.hours);
    if (s.knownSince !== undefined && s.knownSince !== null) {
      if (typeof s.knownSince !== 'number') throw new Error('knownSince is not a number');
      h.knownSince = s.knownSince;
    }
    if (s.maintenance !== undefined && s.maintenance !== null) {
      if (!Array.isArray(s.maintenance)) throw new Error('maintenance is not a list');
      for (const i of s.maintenance.slice(-MAX_MAINTENANCE)) {
        if (typeof i?.start !== 'number' || typeof i.end !== 'number' || !(i.end >= i.start)) throw new Error('malformed maintenance interval');
        h.maintenance.push({ start: i.start, end: i.end });
      }
    }
    if (!Array.isArray(s.incidents)) throw new Error('incidents is not a list');
    for (const i of s.incidents.slice(-MAX_INCIDENTS)) {
      if (typeof i.start !== 'number' || (i.end !== undefined && i.end !== null && typeof i.end !== 'number') || typeof i.reason !== 'string') {
        throw new Error('malformed incident');
      }
      h.incidents.push(i.end === undefined || i.end === null ? { start: i.start, reason: i.reason } : { start: i.start, end: i.end, reason: i.reason });
    }
    return h;
  }
}
