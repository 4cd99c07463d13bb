import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { Registry } from 'prom-client';
import { AvailabilityTracker, replayValues } from '../../src/availability';
import { HOUR } from '../../src/history';
import { M } from '../../src/metrics/definitions';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FILE, Storage } from '../../src/storage';
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
  it('without any target writes once a minute; with one, every turn', async () => {
    let now = 5000;
    const registry = new Registry();
    const tracker = new AvailabilityTracker(registry, () => now);
    const s = new Storage(dir, tracker, () => now, capture().log);
    s.load();
    const file = path.join(dir, SNAPSHOT_FILE);
    await expect(s.periodicSave()).resolves.toBe(true);
    now += 5;
    await expect(s.periodicSave()).resolves.toBe(false);
    now += 50;
    await expect(s.periodicSave()).resolves.toBe(false);
    expect(decodeSnapshot(readFileSync(file)).savedAt).toBe(5000);
    now += 5;
    await expect(s.periodicSave()).resolves.toBe(true);
    expect(decodeSnapshot(readFileSync(file)).savedAt).toBe(5060);
    tracker.declare('http', 'api');
    tracker.observe('http', 'api', true);
    for (let i = 0; i < 3; i++) {
      now += 5;
      await expect(s.periodicSave()).resolves.toBe(true);
      expect(decodeSnapshot(readFileSync(file)).savedAt).toBe(now);
    }
  });
});
