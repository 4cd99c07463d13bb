import { Registry } from 'prom-client';
import { AvailabilityTracker } from '../../src/availability';
import { Metrics } from '../harness/prom-text';
import { renderMetrics } from '../../src/metrics/exposition';

function setup() {
  let now = 1000;
  const registry = new Registry();
  const tracker = new AvailabilityTracker(registry, () => now);
  const metrics = async () => Metrics.parse(await registry.metrics());
  return { tracker, metrics, at: (t: number) => { now = t; }, labels: { kind: 'http', target: 'api' } };
}

describe('availability tracker', () => {
  it('counts one outage, its downtime and one recovery of the real length', async () => {
    const { tracker, metrics, at, labels } = setup();
    tracker.declare('http', 'api');
    let m = await metrics();
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(0);
    expect(m.get('stackwatch_target_up', labels)).toBeUndefined(); // unknown until observed
    expect(m.get('stackwatch_target_recovery_seconds_count', labels)).toBe(0);

    at(1000); tracker.observe('http', 'api', true);
    at(1005); tracker.observe('http', 'api', false, { error: 'ECONNREFUSED' });
    at(1010); tracker.observe('http', 'api', false, { error: 'timeout' });
    at(1012);
    m = await metrics();
    expect(m.get('stackwatch_target_up', labels)).toBe(0);
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(1);
    // downtime includes the outage in progress: 1012 - 1005
    expect(m.get('stackwatch_target_downtime_seconds_total', labels)).toBe(7);
    expect(tracker.view('http', 'api')).toMatchObject({ state: 'down', downSince: 1005, lastError: 'timeout', lastErrorAt: 1010 });

    at(1015); tracker.observe('http', 'api', true);
    at(1100);
    m = await metrics();
    expect(m.get('stackwatch_target_up', labels)).toBe(1);
    expect(m.get('stackwatch_target_downtime_seconds_total', labels)).toBe(10);
    expect(m.get('stackwatch_target_recovery_seconds_count', labels)).toBe(1);
    expect(m.get('stackwatch_target_recovery_seconds_sum', labels)).toBe(10);
    expect(m.get('stackwatch_target_recovery_seconds_bucket', { ...labels, le: '10' })).toBe(1);
    expect(m.get('stackwatch_target_recovery_seconds_bucket', { ...labels, le: '5' })).toBe(0);
    expect(m.get('stackwatch_target_checks_total', labels)).toBe(4);
    expect(m.get('stackwatch_target_check_failures_total', labels)).toBe(2);
    expect(m.get('stackwatch_target_last_transition_timestamp_seconds', labels)).toBe(1015);
    expect(m.get('stackwatch_target_last_check_timestamp_seconds', labels)).toBe(1015);
  });

  it('reports the growing downtime of an outage in progress at every scrape, and only what changed', async () => {
    const labels = { kind: 'http', target: 'api' };
    const registry = new Registry();
    let now2 = 1000;
    const t2 = new AvailabilityTracker(registry, () => now2);
    const kept = async () => Metrics.parse(await renderMetrics(registry));
    const client = async () => Metrics.parse(await registry.metrics());
    const other = { kind: 'http', target: 'other' };
    t2.declare('http', 'api');
    t2.declare('http', 'other');
    t2.observe('http', 'other', true);
    now2 = 1005; t2.observe('http', 'api', false);
    for (const [t, want] of [[1006, 1], [1030, 25], [1030.5, 25.5], [1100, 95]] as const) {
      now2 = t;
      // Both renderers, scrape after scrape: each must see the outage's downtime grow.
      expect((await kept()).get('stackwatch_target_downtime_seconds_total', labels)).toBe(want);
      expect((await client()).get('stackwatch_target_downtime_seconds_total', labels)).toBe(want);
      expect((await kept()).get('stackwatch_target_downtime_seconds_total', other)).toBe(0);
    }
    now2 = 1105; t2.observe('http', 'api', true);
    now2 = 2000;
    expect((await kept()).get('stackwatch_target_downtime_seconds_total', labels)).toBe(100);
    // A second outage adds to the first, exactly.
    now2 = 2000.1; t2.observe('http', 'api', false);
    now2 = 2000.4;
    expect((await kept()).get('stackwatch_target_downtime_seconds_total', labels)).toBe(100 + (2000.4 - 2000.1));
    now2 = 2000.7; t2.observe('http', 'api', true);
    now2 = 3000;
    expect((await client()).get('stackwatch_target_downtime_seconds_total', labels)).toBe(100 + (2000.7 - 2000.1));
    // Restored in an outage: it keeps growing after the restart; a forgotten target's series is gone.
    now2 = 3010; t2.observe('http', 'api', false);
    const state = t2.exportState();
    const r3 = new Registry();
    let now3 = 3020;
    const t3 = new AvailabilityTracker(r3, () => now3);
    t3.importState(state);
    t3.declare('http', 'api');
    expect(Metrics.parse(await renderMetrics(r3)).get('stackwatch_target_downtime_seconds_total', labels)).toBe(100 + (2000.7 - 2000.1) + 10);
    now3 = 3050;
    expect(Metrics.parse(await renderMetrics(r3)).get('stackwatch_target_downtime_seconds_total', labels)).toBe(100 + (2000.7 - 2000.1) + 40);
    t3.forget('http', 'api');
    now3 = 3060;
    expect(Metrics.parse(await renderMetrics(r3)).get('stackwatch_target_downtime_seconds_total', labels)).toBeUndefined();
  });

  it('counts a target that is down at its first observation as an outage', async () => {
    const { tracker, metrics, at, labels } = setup();
    at(50); tracker.observe('http', 'api', false);
    at(60);
    const m = await metrics();
    expect(m.get('stackwatch_target_up', labels)).toBe(0);
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(1);
    expect(m.get('stackwatch_target_downtime_seconds_total', labels)).toBe(10);
  });

  it('damps flaps: down only after failure_threshold failures, dated from the first of them', async () => {
    const { tracker, metrics, at, labels } = setup();
    tracker.declare('http', 'api', { failureThreshold: 3, successThreshold: 2 });
    at(0); tracker.observe('http', 'api', true);
    at(1); tracker.observe('http', 'api', true);
    expect(tracker.view('http', 'api')?.state).toBe('up');
    // two failures, then a success: a blip, not an outage
    at(2); tracker.observe('http', 'api', false);
    at(3); tracker.observe('http', 'api', false);
    at(4); tracker.observe('http', 'api', true);
    expect(tracker.view('http', 'api')?.state).toBe('up');
    expect((await metrics()).get('stackwatch_target_outages_total', labels)).toBe(0);
    // three failures in a row: down, dated from the first
    at(5); tracker.observe('http', 'api', false);
    at(6); tracker.observe('http', 'api', false);
    expect(tracker.view('http', 'api')?.state).toBe('up');
    at(7); tracker.observe('http', 'api', false);
    expect(tracker.view('http', 'api')).toMatchObject({ state: 'down', downSince: 5 });
    // one success is not enough to come back; a failure resets the success run
    at(8); tracker.observe('http', 'api', true);
    at(9); tracker.observe('http', 'api', false);
    at(10); tracker.observe('http', 'api', true);
    expect(tracker.view('http', 'api')?.state).toBe('down');
    at(11); tracker.observe('http', 'api', true);
    expect(tracker.view('http', 'api')?.state).toBe('up');
    const m = await metrics();
    expect(m.get('stackwatch_target_outages_total', labels)).toBe(1);
    // recovery dated from the first success of the run that brought it back (10) minus 5
    expect(m.get('stackwatch_target_recovery_seconds_sum', labels)).toBe(5);
    expect(m.get('stackwatch_target_last_transition_timestamp_seconds', labels)).toBe(10);
  });

  it('stays unknown until the first run reaches a threshold', () => {
    const { tracker, at } = setup();
    tracker.declare('mqtt', 'main', { failureThreshold: 2, successThreshold: 2 });
    at(1); tracker.observe('mqtt', 'main', true);
    expect(tracker.view('mqtt', 'main')?.state).toBe('unknown');
    at(2); tracker.observe('mqtt', 'main', true);
    expect(tracker.view('mqtt', 'main')?.state).toBe('up');
  });

  it('accepts observations dated in the past (process gaps) and never goes backwards', async () => {
    const { tracker, metrics, at } = setup();
    const labels = { kind: 'process', target: 'worker' };
    at(100); tracker.observe('process', 'worker', true, { at: 100 });
    at(110);
    tracker.observe('process', 'worker', false, { at: 104 }); // last sighting of the old process
    tracker.observe('process', 'worker', true, { at: 109 }); // first sighting of the new one
    tracker.observe('process', 'worker', true, { at: 90 }); // out of order: clamped, not negative
    const m = await metrics();
    expect(m.get('stackwatch_target_recovery_seconds_sum', labels)).toBe(5);
    expect(m.get('stackwatch_target_last_check_timestamp_seconds', labels)).toBe(109);
  });

  it('forget removes every series of the target', async () => {
    const { tracker, metrics, at } = setup();
    at(1); tracker.observe('container', 'web', false);
    at(2); tracker.observe('container', 'web', true);
    tracker.observe('container', 'db', true);
    tracker.forget('container', 'web');
    const m = await metrics();
    expect(m.samples.filter((s) => s.labels.target === 'web')).toEqual([]);
    expect(m.get('stackwatch_target_up', { kind: 'container', target: 'db' })).toBe(1);
    expect(tracker.views().map((v) => v.target)).toEqual(['db']);
  });
});
