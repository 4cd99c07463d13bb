import fc from 'fast-check';
import { Registry } from 'prom-client';
import { AvailabilityTracker } from '../../src/availability';
import {
  dec16, dec8, DAY, enc16, enc8, HOUR, MAX_INCIDENTS, MINUTE, Ring, TargetHistory, subtract, uncovered, type HistoryState,
} from '../../src/history';

const T0 = 1_700_000_000 - (1_700_000_000 % DAY); // a midnight, so slots line up with the arithmetic below

describe('latency codes', () => {
  it('round-trip within their precision and keep order', () => {
    for (const s of [0.0001, 0.0012, 0.05, 0.3, 1.5, 9.99, 120]) {
      expect(Math.abs(dec16(enc16(s)) - s) / s).toBeLessThan(0.0005);
      expect(Math.abs(dec8(enc8(s)) - s) / s).toBeLessThan(0.04);
    }
    expect(enc16(0.01)).toBeLessThan(enc16(0.011));
    expect(enc8(0.01)).toBeLessThan(enc8(0.02));
    expect(enc16(0)).toBe(1); // 0 stays "no value"
  });
});

describe('intervals', () => {
  it('subtracts and measures unknown gaps', () => {
    const gaps = [{ start: 10, end: 20 }, { start: 15, end: 25 }, { start: 40, end: 50 }];
    expect(uncovered(0, 60, gaps)).toBe(35);
    expect(subtract(0, 60, gaps)).toEqual([{ start: 0, end: 10 }, { start: 25, end: 40 }, { start: 50, end: 60 }]);
    expect(uncovered(12, 14, gaps)).toBe(0);
  });
});

describe('target history', () => {
  it('aggregates checks, failures and latency per minute and rolls them up per hour', () => {
    const h = new TargetHistory(true);
    h.known(T0);
    for (let i = 0; i < 120; i++) { // 2 hours, one check per minute; every 10th fails
      const t = T0 + i * MINUTE + 5;
      h.check(t, i % 10 !== 0);
      h.latencySample(t, 0.01 + (i % 3) * 0.01);
    }
    const now = T0 + 2 * HOUR;
    const minute = h.aggregate(T0 + 10 * MINUTE, T0 + 11 * MINUTE, now, [], 'minute');
    expect(minute).toMatchObject({ checks: 1, failures: 1 });
    const first = h.aggregate(T0, T0 + HOUR, now, [], 'hour');
    expect(first).toMatchObject({ checks: 60, failures: 6, downSeconds: 0, knownSeconds: HOUR });
    expect(first.latency!.min).toBeCloseTo(0.01, 3);
    expect(first.latency!.max).toBeCloseTo(0.03, 2);
    expect(first.latency!.avg).toBeCloseTo(0.02, 4);
    // the minute ring over the same hour says the same
    const viaMinutes = h.aggregate(T0, T0 + HOUR, now, [], 'minute');
    expect(viaMinutes).toMatchObject({ checks: 60, failures: 6 });
    expect(viaMinutes.latency!.avg).toBeCloseTo(0.02, 3);
  });

  it('forgets minutes after 48 hours and hours after 90 days', () => {
    const h = new TargetHistory(false);
    h.known(T0);
    h.check(T0 + 30, true);
    h.check(T0 + 49 * HOUR, true); // minute slots of T0 are overwritten by now
    const now = T0 + 49 * HOUR + 60;
    expect(h.aggregate(T0, T0 + MINUTE, now, [], 'minute').checks).toBe(0);
    expect(h.aggregate(T0, T0 + HOUR, now, [], 'hour').checks).toBe(1);
    h.check(T0 + 89 * DAY, true);
    expect(h.aggregate(T0, T0 + HOUR, T0 + 89 * DAY + 1, [], 'hour').checks).toBe(1);
    h.check(T0 + 90 * DAY + 10, true);
    expect(h.aggregate(T0, T0 + HOUR, T0 + 90 * DAY + 20, [], 'hour').checks).toBe(0);
    expect(h.aggregate(T0 + 89 * DAY, T0 + 89 * DAY + HOUR, T0 + 90 * DAY + 20, [], 'hour').checks).toBe(1);
  });

  it('counts closed outages into the slots they cover, the one in progress up to now, and gaps as unknown', () => {
    const h = new TargetHistory(false);
    h.known(T0);
    h.check(T0, true);
    h.outageStarted(T0 + 30 * MINUTE, 'ECONNREFUSED');
    // the exporter was stopped between +40 and +50 min
    const gaps = [{ start: T0 + 40 * MINUTE, end: T0 + 50 * MINUTE }];
    h.outageEnded(T0 + 90 * MINUTE, gaps);
    const now = T0 + 3 * HOUR;
    const first = h.aggregate(T0, T0 + HOUR, now, gaps, 'hour');
    expect(first.downSeconds).toBeCloseTo(20 * MINUTE, 0);
    expect(first.knownSeconds).toBe(50 * MINUTE);
    expect(first.outages).toBe(1);
    expect(h.aggregate(T0 + HOUR, T0 + 2 * HOUR, now, gaps, 'hour').downSeconds).toBeCloseTo(30 * MINUTE, 0);
    expect(h.aggregate(T0 + 45 * MINUTE, T0 + 46 * MINUTE, now, gaps, 'minute').downSeconds).toBe(0);
    expect(h.aggregate(T0 + 35 * MINUTE, T0 + 36 * MINUTE, now, gaps, 'minute').downSeconds).toBeCloseTo(60, 1);

    h.outageStarted(T0 + 170 * MINUTE, 'timeout');
    const ongoing = h.aggregate(T0 + 2 * HOUR, T0 + 3 * HOUR, now, gaps, 'hour');
    expect(ongoing.downSeconds).toBeCloseTo(10 * MINUTE, 0);
    expect(h.ongoing()).toEqual({ start: T0 + 170 * MINUTE, reason: 'timeout' });
    expect(h.incidents[0]).toEqual({ start: T0 + 30 * MINUTE, end: T0 + 90 * MINUTE, reason: 'ECONNREFUSED' });
  });

  it('time before the state was first known is unknown', () => {
    const h = new TargetHistory(false);
    h.check(T0 + 10 * MINUTE, true);
    h.known(T0 + 10 * MINUTE);
    expect(h.aggregate(T0, T0 + HOUR, T0 + HOUR, [], 'hour').knownSeconds).toBe(50 * MINUTE);
  });

  it('keeps the last 100 incidents', () => {
    const h = new TargetHistory(false);
    for (let i = 0; i < 150; i++) {
      h.outageStarted(T0 + i * 100, `reason ${i}`);
      h.outageEnded(T0 + i * 100 + 10, []);
    }
    expect(h.incidents).toHaveLength(MAX_INCIDENTS);
    expect(h.incidents[0]!.reason).toBe('reason 50');
    expect(h.incidents[99]).toEqual({ start: T0 + 149 * 100, end: T0 + 149 * 100 + 10, reason: 'reason 149' });
    // the hour ring still counts every outage that started
    expect(h.aggregate(T0, T0 + 5 * HOUR, T0 + 5 * HOUR, [], 'hour').outages).toBe(150);
  });

  it('survives a snapshot round trip unchanged', () => {
    const h = new TargetHistory(true);
    h.known(T0);
    for (let i = 0; i < 500; i++) {
      h.check(T0 + i * 37, i % 7 !== 0);
      h.latencySample(T0 + i * 37, 0.005 * (1 + (i % 5)));
    }
    h.outageStarted(T0 + 1000, 'boom');
    h.outageEnded(T0 + 2000, []);
    const copy = TargetHistory.fromJSON(JSON.parse(JSON.stringify(h.toJSON())) as HistoryState);
    const now = T0 + 500 * 37;
    for (const res of ['minute', 'hour'] as const) {
      expect(copy.aggregate(T0, now, now, [], res)).toEqual(h.aggregate(T0, now, now, [], res));
    }
    expect(copy.incidents).toEqual(h.incidents);
  });
});

describe('saved text of a ring', () => {
  // What the snapshot keeps between saves rests on these: a text made at a revision holds for as
  // long as that revision does. Each step's texts are compared with those first made at the same
  // revisions, so a change that did not move its revision fails here.
  it('hot and cold texts join into the closed text, and hold while their revisions do (property)', () => {
    const step = fc.record({
      dt: fc.oneof(fc.integer({ min: 0, max: 90 }), fc.integer({ min: 0, max: 5 * HOUR }), fc.integer({ min: 0, max: 3 * DAY })),
      what: fc.constantFrom('check', 'latency', 'outage', 'down', 'down-old'),
      ok: fc.boolean(),
      back: fc.integer({ min: 0, max: 2 * DAY }),
      length: fc.integer({ min: 1, max: 3 * HOUR }),
      seconds: fc.double({ min: 0, max: 5, noNaN: true }),
    });
    fc.assert(fc.property(fc.boolean(), fc.array(step, { minLength: 1, maxLength: 80 }), (latency, steps) => {
      const ring = new Ring(MINUTE, 48 * 60, latency, 60);
      const cold = new Map<number, string[]>();
      const hot = new Map<number, string[]>();
      let t = T0 + 7 * MINUTE;
      for (const s of steps) {
        t += s.dt;
        if (s.what === 'check') ring.addCheck(t, s.ok);
        else if (s.what === 'latency') ring.addLatency(t, s.seconds);
        else if (s.what === 'outage') ring.addOutageStart(t - s.back);
        else if (s.what === 'down') ring.addDown(t - s.length, t);
        else ring.addDown(t - s.back - s.length, t - s.back);
        const h = ring.hotTexts();
        const c = ring.coldTextsLater()();
        expect(h.length).toBe(ring.arrayCount);
        expect(c.length).toBe(ring.arrayCount + 1);
        expect(c.map((x, i) => x + (h[i] ?? '')).join('')).toBe(ring.closedJsonLater()());
        if (!cold.has(ring.coldRevision)) cold.set(ring.coldRevision, c);
        if (!hot.has(ring.closedRevision)) hot.set(ring.closedRevision, h);
        expect(c).toEqual(cold.get(ring.coldRevision));
        expect(h).toEqual(hot.get(ring.closedRevision));
      }
    }), { numRuns: 300 });
  });

  it('cold texts change only when the open minute moves to another hour of the ring, or an older slot changes', () => {
    const ring = new Ring(MINUTE, 48 * 60, true, 60);
    let t = T0 + 5;
    ring.addCheck(t, true);
    const at = (): number => ring.coldRevision;
    let rev = at();
    for (let m = 1; m < 55; m++) {
      t += MINUTE;
      ring.addCheck(t, m % 7 > 0);
      ring.addLatency(t, 0.01 * m);
    }
    expect(at()).toBe(rev); // 54 minutes into the same hour
    ring.addDown(t - 10 * MINUTE, t - 9 * MINUTE); // inside the open minute's hour
    expect(at()).toBe(rev);
    ring.addDown(T0 - 2 * HOUR, T0 - 2 * HOUR + 30); // an hour before it
    expect(at()).toBe((rev += 1));
    t += 6 * MINUTE; // into the next hour
    ring.addCheck(t, true);
    expect(at()).toBe((rev += 1));
    t += 48 * HOUR; // round the ring to the same hour
    ring.addCheck(t, true);
    expect(at()).toBe(rev + 1);
  });
});

describe('memory', () => {
  it('100 targets with 90 days of history take under 5 MB', () => {
    const tracker = new AvailabilityTracker(new Registry(), () => T0);
    const kinds = ['http', 'mqtt', 'process', 'container'] as const;
    let bytes = 0;
    for (let i = 0; i < 100; i++) {
      const kind = kinds[i % 2 === 0 ? 0 : 1 + (i % 3)]!;
      tracker.declare(kind, `t${i}`);
      const h = tracker.history(kind, `t${i}`)!;
      for (let d = 0; d < 90 * 24; d += 7) {
        h.check(T0 + d * HOUR, true);
        h.latencySample(T0 + d * HOUR, 0.02);
      }
      for (let n = 0; n < MAX_INCIDENTS + 5; n++) {
        h.outageStarted(T0 + 90 * DAY + n * 60, 'connect ECONNREFUSED 127.0.0.1:8080');
        h.outageEnded(T0 + 90 * DAY + n * 60 + 30, []);
      }
      bytes += h.bytes();
    }
    // Typed arrays are the whole of it; they do not grow with time or checks.
    expect(bytes).toBeLessThan(5 * 1024 * 1024);
    const http = tracker.history('http', 't0')!.bytes();
    const process = tracker.history('process', 't1')!.bytes();
    expect(http).toBeLessThan(50 * 1024);
    expect(process).toBeLessThan(30 * 1024);
    // A 100-incident list of long, all different reasons stays bounded too.
    const h = new TargetHistory(true);
    for (let n = 0; n < 300; n++) h.outageStarted(T0 + n, `${n} ${'x'.repeat(1000)}`);
    expect(h.incidents.every((i) => i.reason.length <= 256)).toBe(true);
    expect(h.bytes()).toBeLessThan(48 * 1024 + 100 * 310);
  });
});
