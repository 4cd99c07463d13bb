import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import pino from 'pino';
import { Registry } from 'prom-client';
import { AvailabilityTracker, replayValues } from '../../src/availability';
import { HOUR } from '../../src/history';
import { M } from '../../src/metrics/definitions';
import { crc32Combine, decodeSnapshot, encodeSnapshot, SNAPSHOT_FILE, SnapshotEncoder, Storage, type Plan } from '../../src/storage';
import { Metrics } from '../harness/prom-text';

function setup(start: number) {
  let now = start;
  const registry = new Registry();
  const tracker = new AvailabilityTracker(registry, () => now);
  const metrics = async () => Metrics.parse(await registry.metrics());
  return { tracker, registry, metrics, at: (t: number) => { now = t; } };
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });
  return { log, lines };
}

const labels = { kind: 'http', target: 'api' };
let dir: string;
beforeEach(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-storage-')); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

describe('tracker snapshot', () => {
  it('continues an outage across a restart: same start, counters go on, the stopped time is unknown', async () => {
    const a = setup(10_000);
    a.tracker.declare('http', 'api');
    a.at(10_000); a.tracker.observe('http', 'api', true);
    a.at(10_010); a.tracker.observe('http', 'api', false, { error: 'ECONNREFUSED' });
    a.at(10_015); a.tracker.observe('http', 'api', false, { error: 'timeout' });
    a.at(10_020);
    const saved = decodeSnapshot(encodeSnapshot(a.tracker.exportState()));

    const b = setup(10_030); // 10 s stopped
    b.tracker.importState(saved);
    let m = await b.metrics();
    expect(m.get('stackwatch_target_checks_total', labels)).toBeUndefined(); // nothing until a collector declares it
    b.tracker.declare('http', 'api');
    m = await b.metrics();
    expect(m.get('stackwatch_target_up', labels)).toBe(0);
    expect(m.get('stackwatch_target_checks_total', labels)).toBe(3);
    expect(m.get('stackwatch_target_check_failures_total', labels)).toBe(2);
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(1);
    expect(m.get('stackwatch_target_downtime_seconds_total', labels)).toBe(20);
    expect(b.tracker.view('http', 'api')).toMatchObject({ state: 'down', downSince: 10_010, lastError: 'timeout' });

    b.at(10_040); b.tracker.observe('http', 'api', true);
    m = await b.metrics();
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(1);
    expect(m.get('stackwatch_target_recovery_seconds_count', labels)).toBe(1);
    expect(m.get('stackwatch_target_recovery_seconds_sum', labels)).toBe(30); // the whole outage
    expect(b.tracker.gaps()).toEqual([{ start: 10_020, end: 10_030 }]);
    const h = b.tracker.history('http', 'api')!;
    expect(h.incidents).toEqual([{ start: 10_010, end: 10_040, reason: 'ECONNREFUSED' }]);
    const agg = h.aggregate(10_000 - (10_000 % HOUR), 10_040, 10_040, b.tracker.gaps(), 'minute');
    expect(agg.knownSeconds).toBe(30); // 10_000..10_040 minus the 10 s gap
    expect(agg.downSeconds).toBeCloseTo(20, 2); // down, except while nobody watched
    expect(agg.checks).toBe(4);
  });

  it('restores the recovery histogram exactly', async () => {
    const a = setup(0);
    let t = 0;
    for (const len of [0.5, 3, 3, 45, 700, 5000, 100_000]) {
      t += 10; a.at(t); a.tracker.observe('http', 'api', false);
      t += len; a.at(t); a.tracker.observe('http', 'api', true);
    }
    const before = await a.metrics();
    const b = setup(t + 5);
    b.tracker.importState(decodeSnapshot(encodeSnapshot(a.tracker.exportState())));
    b.tracker.declare('http', 'api');
    const after = await b.metrics();
    for (const le of [...M.targetRecovery.buckets!.map(String), '+Inf']) {
      expect(after.get('stackwatch_target_recovery_seconds_bucket', { ...labels, le })).toBe(before.get('stackwatch_target_recovery_seconds_bucket', { ...labels, le }));
    }
    expect(after.get('stackwatch_target_recovery_seconds_sum', labels)).toBeCloseTo(before.get('stackwatch_target_recovery_seconds_sum', labels)!, 3);
  });

  it('replays bucket counts into values inside their buckets that add up to the sum', () => {
    const bounds = [1, 10, 100];
    const vals = replayValues(bounds, [2, 0, 3, 1], 2 * 0.5 + 3 * 50 + 400);
    expect(vals.filter((v) => v <= 1)).toHaveLength(2);
    expect(vals.filter((v) => v > 10 && v <= 100)).toHaveLength(3);
    expect(vals.filter((v) => v > 100)).toHaveLength(1);
    expect(vals.reduce((a, b) => a + b, 0)).toBeCloseTo(551, 6);
    const finite = replayValues(bounds, [1, 1, 0, 0], 0.2 + 9);
    expect(finite.reduce((a, b) => a + b, 0)).toBeCloseTo(9.2, 6);
    expect(finite[0]).toBeLessThanOrEqual(1);
    expect(finite[1]).toBeGreaterThan(1);
  });

  it('refuses malformed targets without changing anything', () => {
    const a = setup(100);
    a.tracker.observe('http', 'api', false);
    const state = a.tracker.exportState();
    const b = setup(200);
    expect(() => b.tracker.importState({ ...state, targets: [{ ...state.targets[0]!, checks: -1 }] })).toThrow(/malformed/);
    expect(() => b.tracker.importState({ ...state, targets: [{ ...state.targets[0]!, history: { ...state.targets[0]!.history, minutes: { ...state.targets[0]!.history.minutes, checks: 'AAAA' } } }] })).toThrow(/bytes/);
    expect(b.tracker.gaps()).toEqual([]);
    b.tracker.declare('http', 'api');
    expect(b.tracker.view('http', 'api')!.state).toBe('unknown');
  });
});

describe('storage directory', () => {
  it('writes atomically and restores at the next start', async () => {
    const a = setup(1000);
    a.tracker.observe('http', 'api', false, { error: 'refused' });
    const { log } = capture();
    const s = new Storage(dir, a.tracker, () => 1000, log);
    s.load();
    expect(s.save()).toBe(true);
    expect(readdirSync(dir)).toEqual([SNAPSHOT_FILE]); // no temp file left behind
    a.tracker.observe('http', 'api', false, { at: 1001, error: 'refused' });
    await expect(s.saveAsync()).resolves.toBe(true); // the periodic, non-blocking way
    expect(readdirSync(dir)).toEqual([SNAPSHOT_FILE]);

    const b = setup(1010);
    const c = capture();
    new Storage(dir, b.tracker, () => 1010, c.log).load();
    b.tracker.declare('http', 'api');
    expect(b.tracker.view('http', 'api')).toMatchObject({ state: 'down', downSince: 1000 });
    expect(c.lines.map((l) => l.msg)).toContain('snapshot restored');
  });

  it.each([
    ['a damaged file', () => Buffer.from('not gzip at all')],
    ['a truncated file', () => encodeSnapshot(setup(5).tracker.exportState()).subarray(0, 20)],
    ['another format version', () => gzipSync(JSON.stringify({ format: 'stackwatch-snapshot', version: 99, tracker: { savedAt: 1, gaps: [], targets: [] } }))],
    ['a file of another program', () => gzipSync(JSON.stringify({ hello: 'world' }))],
    ['a malformed target', () => gzipSync(JSON.stringify({ format: 'stackwatch-snapshot', version: 1, tracker: { savedAt: 1, gaps: [], targets: [{ kind: 'ftp' }] } }))],
  ])('sets %s aside with a log line and starts fresh', (_what, content) => {
    writeFileSync(path.join(dir, SNAPSHOT_FILE), content());
    const b = setup(2000);
    const { log, lines } = capture();
    const s = new Storage(dir, b.tracker, () => 2000, log);
    expect(() => s.load()).not.toThrow();
    const line = lines.find((l) => l.msg === 'snapshot unreadable; set aside, starting with empty history')!;
    expect(line).toBeDefined();
    expect(line.level).toBe(40);
    const aside = String(line.setAside);
    expect(path.dirname(aside)).toBe(dir);
    expect(readFileSync(aside)).toEqual(content());
    expect(readdirSync(dir)).not.toContain(SNAPSHOT_FILE);
    b.tracker.observe('http', 'api', true);
    expect(s.save()).toBe(true); // and a good snapshot replaces it
    expect(decodeSnapshot(readFileSync(path.join(dir, SNAPSHOT_FILE))).targets).toHaveLength(1);
  });

  it('runs without persistence when the directory cannot be made', async () => {
    const file = path.join(dir, 'plain-file');
    writeFileSync(file, '');
    const { log, lines } = capture();
    const s = new Storage(path.join(file, 'sub'), setup(1).tracker, () => 1, log);
    expect(() => { s.load(); s.start(); }).not.toThrow();
    await expect(s.stop()).resolves.toBeUndefined();
    expect(lines.map((l) => l.msg)).toContain('storage directory unusable; history will not survive a restart');
  });
});

describe('periodic snapshot', () => {
  it('without any target writes only what changed (gaps, a lost file); with one, every turn', async () => {
    let now = 5000;
    const registry = new Registry();
    const tracker = new AvailabilityTracker(registry, () => now);
    const s = new Storage(dir, tracker, () => now, capture().log, undefined, registry);
    s.load();
    const file = path.join(dir, SNAPSHOT_FILE);
    await expect(s.periodicSave()).resolves.toBe(true);
    for (const step of [5, 50, 5, 3600]) {
      now += step;
      await expect(s.periodicSave()).resolves.toBe(false);
      // Not written, but current on disk: an alert on the last success's age stays quiet.
      expect(Metrics.parse(await registry.metrics()).get('stackwatch_storage_snapshot_last_success_timestamp_seconds', { operation: 'write' })).toBe(now);
    }
    expect(decodeSnapshot(readFileSync(file)).savedAt).toBe(5000);
    // The file removed behind its back: written again.
    rmSync(file);
    now += 5;
    await expect(s.periodicSave()).resolves.toBe(true);
    expect(decodeSnapshot(readFileSync(file)).savedAt).toBe(now);
    // A graceful stop writes the stop's time; a restart's gap then starts there.
    now += 100;
    await s.stop();
    expect(decodeSnapshot(readFileSync(file)).savedAt).toBe(now);
    const stoppedAt = now;
    now += 1000;
    const tracker2 = new AvailabilityTracker(new Registry(), () => now);
    const s2 = new Storage(dir, tracker2, () => now, capture().log);
    s2.load();
    expect(tracker2.gaps()).toEqual([{ start: stoppedAt, end: now }]);
    // The new gap is written once, then nothing until something changes.
    now += 5;
    await expect(s2.periodicSave()).resolves.toBe(true);
    expect(decodeSnapshot(readFileSync(file)).gaps).toEqual([{ start: stoppedAt, end: now - 5 }]);
    now += 5;
    await expect(s2.periodicSave()).resolves.toBe(false);
    tracker2.declare('http', 'api');
    tracker2.observe('http', 'api', true);
    for (let i = 0; i < 3; i++) {
      now += 5;
      await expect(s2.periodicSave()).resolves.toBe(true);
      expect(decodeSnapshot(readFileSync(file)).savedAt).toBe(now);
    }
    tracker2.forget('http', 'api');
    now += 5;
    await expect(s2.periodicSave()).resolves.toBe(true); // the target's removal is a change
    now += 5;
    await expect(s2.periodicSave()).resolves.toBe(false);
  });
});

/** The tracker's state as a reader sees it (members whose value is undefined are not written). */
const asRead = (state: unknown): unknown => JSON.parse(JSON.stringify(state));

describe('snapshot encoder', () => {
  it('writes what exportState holds, reusing unchanged pieces across minutes, hours and outages', async () => {
    const a = setup(1_790_000_000);
    const encoder = new SnapshotEncoder();
    a.tracker.declare('http', 'api');
    a.tracker.declare('container', 'db');
    let t = 1_790_000_000;
    for (let step = 0; step < 1500; step++) {
      t += 5;
      a.at(t);
      a.tracker.observe('http', 'api', step % 300 > 20, { error: `refused ${step}`, latencySeconds: 0.001 * (step % 9) });
      if (step % 2 === 0) a.tracker.observe('container', 'db', step % 700 > 40, { error: 'exited' });
      if (step % 7 !== 0) continue;
      const file = step % 14 === 0 ? encoder.encodeSync(encoder.plan(a.tracker.snapshot())) : await encoder.encode(encoder.plan(a.tracker.snapshot()));
      expect(decodeSnapshot(file)).toEqual(asRead(a.tracker.exportState()));
    }
  });

  it('writes the state as it was when the save began, though it changes while compressing', async () => {
    const a = setup(1_790_000_000);
    const encoder = new SnapshotEncoder();
    a.tracker.observe('http', 'api', true, { latencySeconds: 0.01 });
    a.at(1_790_000_030);
    a.tracker.observe('http', 'api', false, { error: 'refused', latencySeconds: 0.02 });
    const planned = asRead(a.tracker.exportState());
    const parts = encoder.plan(a.tracker.snapshot());
    const file = encoder.encode(parts);
    for (let t = 1_790_000_035; t < 1_790_004_000; t += 35) {
      a.at(t);
      a.tracker.observe('http', 'api', t % 2 === 0, { error: 'timeout', latencySeconds: 0.03 });
    }
    expect(decodeSnapshot(await file)).toEqual(planned);
  });

  it('keeps each compressed piece in memory of its own size, not in zlib\'s output chunk or a pool slab', async () => {
    const a = setup(1_790_000_000);
    for (let i = 0; i < 20; i++) a.tracker.observe('http', `t${i}`, true, { latencySeconds: 0.01 });
    const encoder = new SnapshotEncoder();
    for (const [n, encode] of [(p: Plan) => encoder.encode(p), (p: Plan) => Promise.resolve(encoder.encodeSync(p))].entries()) {
      a.at(1_790_000_000 + 3600 * (n + 1));
      for (let i = 0; i < 20; i++) a.tracker.observe('http', `t${i}`, i % 3 > 0, { error: 'refused', latencySeconds: 0.01 });
      const parts = encoder.plan(a.tracker.snapshot());
      await encode(parts);
      // Per target: its closed minutes in 7 compressed texts around the 6 stored ones of the
      // minutes' current hour, its incidents, its closed hours.
      const pieces = parts.runs.flatMap((r) => (r.items ?? []).flatMap((i) => (Array.isArray(i) ? [i[0].segments![i[1]]!.deflated] : [])));
      expect(pieces.length).toBe(20 * 15);
      // A piece is a few hundred bytes; one that still viewed zlib's output chunk, or a slab of
      // Buffer's pool (64 kB on Node 24), would keep all of it alive. The texts of a piece share
      // one allocation of their size: everything kept is held once.
      const held = [...new Set(pieces.map((d) => d.buffer))].reduce((n, b) => n + b.byteLength, 0);
      expect(held).toBe(pieces.reduce((n, d) => n + d.length, 0));
      // The runs copy nothing: their parts are the pieces' bytes and the two fixed texts between them.
      const own = new Set(pieces);
      const fixed = new Set(parts.runs.flatMap((r) => r.joined!.parts).filter((d) => !own.has(d)));
      expect(fixed.size).toBe(2);
    }
  });

  it('keeps restored targets that no collector declared, and the gaps', () => {
    const a = setup(100);
    a.tracker.observe('http', 'gone', false, { error: 'refused' });
    a.tracker.observe('mqtt', 'broker', true, { latencySeconds: 0.02 });
    const b = setup(200);
    b.tracker.importState(decodeSnapshot(encodeSnapshot(a.tracker.exportState())));
    b.tracker.declare('mqtt', 'broker');
    const encoder = new SnapshotEncoder();
    for (let i = 0; i < 2; i++) {
      const read = decodeSnapshot(encoder.encodeSync(encoder.plan(b.tracker.snapshot())));
      expect(read).toEqual(asRead(b.tracker.exportState()));
      expect(read.targets.map((x) => x.target).sort()).toEqual(['broker', 'gone']);
      expect(read.gaps).toEqual([{ start: 100, end: 200 }]);
    }
  });

  it('round-trips any sequence of observations (property)', async () => {
    const op = fc.record({
      target: fc.integer({ min: 0, max: 2 }),
      ok: fc.boolean(),
      dt: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 30, max: 7200 })),
      error: fc.string({ maxLength: 20 }),
      latency: fc.option(fc.double({ min: 0, max: 10, noNaN: true })),
      save: fc.boolean(),
    });
    const names = ['api', 'ünïcode "quoted"', 'x\\y'];
    await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
      let now = 1_790_000_000;
      const tracker = new AvailabilityTracker(new Registry(), () => now);
      const encoder = new SnapshotEncoder();
      for (const o of ops) {
        now += o.dt;
        tracker.observe(o.target === 2 ? 'process' : 'http', names[o.target]!, o.ok, { error: o.error, ...(o.latency === null ? {} : { latencySeconds: o.latency }) });
        if (!o.save) continue;
        const file = o.dt % 2 === 0 ? encoder.encodeSync(encoder.plan(tracker.snapshot())) : await encoder.encode(encoder.plan(tracker.snapshot()));
        expect(JSON.parse(gunzipSync(file).toString('utf8'))).toEqual(asRead({ format: 'stackwatch-snapshot', version: 1, tracker: tracker.exportState() }));
      }
    }), { numRuns: 60 });
  });

  it('never reuses a kept piece whose content changed, and restores what it wrote (property)', async () => {
    // One encoder for a whole history, saving often: every file must hold the state as it was,
    // though most of it comes from pieces kept since earlier saves. Steps cross minutes, hours of
    // the minute ring, hours, and days; outages end and put down time into older slots.
    const op = fc.record({
      target: fc.integer({ min: 0, max: 3 }),
      ok: fc.boolean(),
      dt: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 4 * HOUR }), fc.integer({ min: 0, max: 60 * HOUR })),
      error: fc.constantFrom('refused', 'timeout', 'exited'),
      latency: fc.option(fc.double({ min: 0, max: 3, noNaN: true })),
      save: fc.constantFrom('none', 'async', 'sync'),
    });
    const targets = [['http', 'api'], ['http', 'web'], ['container', 'db'], ['mqtt', 'broker']] as const;
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 120 }), async (ops) => {
      let now = 1_790_000_000;
      const tracker = new AvailabilityTracker(new Registry(), () => now);
      const encoder = new SnapshotEncoder();
      let last: Buffer | undefined;
      for (const o of ops) {
        now += o.dt;
        const [kind, name] = targets[o.target]!;
        tracker.observe(kind, name, o.ok, { error: o.error, ...(o.latency === null ? {} : { latencySeconds: o.latency }) });
        if (o.save === 'none') continue;
        last = o.save === 'sync' ? encoder.encodeSync(encoder.plan(tracker.snapshot())) : await encoder.encode(encoder.plan(tracker.snapshot()));
        expect(decodeSnapshot(last)).toEqual(asRead(tracker.exportState()));
      }
      if (last === undefined) return;
      // A restart from the last file continues with the same state and history.
      const saved = decodeSnapshot(last);
      const b = new AvailabilityTracker(new Registry(), () => saved.savedAt); // restarted at once
      b.importState(saved);
      for (const t of saved.targets) b.declare(t.kind, t.target);
      expect(asRead({ ...b.exportState(), gaps: [] })).toEqual(asRead({ ...saved, gaps: [] }));
    }), { numRuns: 80 });
  });

  it('combines CRC-32s as zlib does', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 70_000 }), (x, y) => {
      expect(crc32Combine(crc32(x), crc32(y), y.length)).toBe(crc32(Buffer.concat([x, y])));
    }), { numRuns: 100 });
  });

  it('reads a snapshot written by the previous version (one gzip member, the old member order)', async () => {
    writeFileSync(path.join(dir, SNAPSHOT_FILE), Buffer.from(OLD_SNAPSHOT.join(''), 'base64'));
    const b = setup(1_790_001_260);
    const { log, lines } = capture();
    new Storage(dir, b.tracker, () => 1_790_001_260, log).load();
    expect(lines.map((l) => l.msg)).toContain('snapshot restored');
    b.tracker.declare('http', 'api');
    b.tracker.declare('process', 'worker');
    expect(b.tracker.view('http', 'api')).toMatchObject({ state: 'up', checks: 40, failures: 4, outages: 1, downtimeSeconds: 120, lastTransition: 1_790_000_450 });
    expect(b.tracker.view('process', 'worker')).toMatchObject({ state: 'down', checks: 40, failures: 5, downSince: 1_790_001_080, lastError: 'no process matches' });
    const h = b.tracker.history('http', 'api')!;
    expect(h.incidents).toEqual([{ start: 1_790_000_330, end: 1_790_000_450, reason: 'connect ECONNREFUSED 127.0.0.1:8080' }]);
    expect(h.aggregate(1_790_000_000 - (1_790_000_000 % HOUR), 1_790_001_200, 1_790_001_200, [], 'minute')).toMatchObject({ checks: 40, failures: 4, downSeconds: 120 });
    expect((await b.metrics()).get('stackwatch_target_recovery_seconds_sum', labels)).toBe(120);
  });
});

/**
 * A snapshot written by stackwatch before the snapshot encoder (commit 38e8463): http/api with a
 * 120 s outage, process/worker down since 1790001080, 40 checks each at 30 s.
 */
const OLD_SNAPSHOT = [
  'H4sIAAAAAAAEA+3d70/bRhjA8X8FPa89dHYCBL9LQzqhqbRbWk1TxYuTc02sOOfsfCGlUf736exAko1tQkUUki8oIv51vufznBAmZz9L+VK6qf',
  'aSSuV1Nllon41/qqyeVePSSyQ3xlV5aSWNI/FOZxPjJF1KpW/MsOsljc/OlVJxolQkIz2rJP18HYnXbmR8WFjKJLdDSWXs/UzutkgqepZLFE7q',
  'jaQyD9uysckmlaRtFckXnRdzZ8JSJOXc61F4H0dSTgbeGT2RNDndLA28dve9Ue2TdQt3u+4s7u7bau1s7DtXOkklK601mT/q995fXf3Wf/tp0L',
  '84ipOzY3WsjuO0ozpKIil05Xuh17sQYfVHp22V+8auRmq6FbY9/iT1ERtv1U5UJFlRVmZ4US6sz6dG0jisdCYrb4y77ZVzW2dARZvveOv9eu31',
  '5pDBfLpuZJxXvnS3IdOF9sZmt5J6NzeRTGy5sIPcZuF8TVgqCE51br2xut4QhsA0t3MfcraURT70Y0lPVSRV/s1ImnQ6KpJyZmw9lorSS5qcd1',
  'qt1klrMwzi7VGgIhmWCytpOPBuOKiQAX9Vj4tC+7r/6ljF9ep3edj7fkl/bZZWmxNIly8EEEAAAQQQQAABBBDYY4F+rzu6fPi1x1ETGgIPCcj2',
  'FTZXww8RsQ4BBBBAAAEEEEAAgX0T+PXyzb6FRDwIPFZA7j5i5kr4sXTsjwACCCCAAAIIIIDAKxT45cPF5SvsNl1G4EkF6pntvnszkpRr4SeVpT',
  'EEEEAAAQQQQAABBBBAAAEEEEAAAQQQQAABBJ5L4M0HPTn/82Mye9TP5+od50EAAQQQ+DECzWfB9cO0+Cz4x6SAsyKAAAIIIIAAAggg8DwCP78d',
  '//H7w6/n6QBnQeDlCKyvhcOjpLkWfjlpoScIIIAAAggggAACCDy9ANfCT29Ki69WQFaRjMu5267w1DoNZcDWNZ7iUO9pt8ZT+/wsSZJNAaZ/FP',
  'pqSjzVdazuizw11ZyumrJgmypPbbXzlVDz6dUOJTqOAAIIIIAAAggggAACCCCAAAIIIIAAAgjshQA1F/cijQSBAAIIIIAAAggggAACCCCAAAII',
  'IIAAAgi8cAFqHr/wBNE9BBBAAAEEEEAAAQQQQAABBBBAAAEEEEDg1QtIJPeP/ODhmq8+nQSAAAIIIIAAAggg8JwCzYPquzcjHlT/nOycCwEEEE',
  'AAAQQQQAABBBBAAAEEEEAAAQQQOCiBddHU3PK/6IPKO8EigAACCCCAAAIIfL/A+m9p/ZW/pb8fkxYQQAABBBBAAAEEDkogFDDPbZYPjfWVpJ+X',
  'UnntvKTx2XkoLd5qqUic0VUZ/nOdldaazB/1e++vrn7rv/006F8cxcnZsTpWx3HaUR0lkRg7vD++faJW16tIZoW21gwl/aKLyqyipUzysJvMXJ',
  'mZqpJIvHYj4yWVRekmxkkUuuKNpFIXRP+3guknW7dMxpGUk4F3Rk8kDYXX1wuDnZhUiOmLzou7PU+2F3f2jVVnZ9++c6WTVGx5tO740VT7bGxC',
  'AIWufG9sssld9HESKsGH1R+dtlXu86DYyDYth23/22a9Q/c+J02rwWSQ28zsNpgVZWWGF+XC+nxqagRnsvLGuNteOW9yrKL//L4OCW8OGcyndR',
  'PjvPKlu5V0KYX2xma360RGMrF/74iqfac6t95YXffw83Uk09zOvalCG4t86MeSnqpIqvybkTTpBOZyZmzYXBWllzQ577RarZPWJu9xk6a5C63E',
  'UTMs6jTPvR6FlbW2v7p7c9f9Qvt34ZMXOy+KkA//Llw7qtWmae61PajfegSLAAIIIIAAAgggcHgC/V53dPnw6/AwiPjABSjIe+ADgPARQAABBB',
  'BAAAEEEOh2u5c9GBA4NAEKAh5axokXAQQQQAABBBBAAAEEEDh0gXB/wLicu+15263TMK19PXM7DrO4d2dut8/PkiTZTK5ur6fQNxO3Tx6auB3X',
  '07KZuH3ow434EUAAAQQQQAABBBBAAAEEEEAAAQQQQACBlyPAjVMvJxf0BAEEEEAAAQQQQAABBBBAAAEEEEAAAQQQ2F8Bblze39wSGQIIIIAAAg',
  'gggAACCCCAAAIIIIAAAggg8DIEZKssJ9UVX0ZO6AUCCCCAAAIIIIDAKxEIT+HLbZYPTVPBfSnVdkX7ppa8M7oK9eUfKk6/ul5FMiu0tWa4Lt2+',
  'ul6t/gLsJEDz+WgBAA==',
];
