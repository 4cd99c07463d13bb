import { Registry } from 'prom-client';
import { AvailabilityTracker } from '../../src/availability';
import { HOUR } from '../../src/history';
import { tapLatency } from '../../src/latency-tap';
import { M } from '../../src/metrics/definitions';
import { histogram } from '../../src/metrics/instruments';
import { Metrics } from '../harness/prom-text';

describe('latency tap', () => {
  it('passes the HTTP request time and MQTT round trip collectors publish on to the history, unchanged in /metrics', async () => {
    const now = 1_800_000_000;
    const registry = new Registry();
    const tracker = new AvailabilityTracker(registry, () => now);
    tracker.declare('http', 'api');
    tracker.declare('mqtt', 'broker');
    const http = histogram(registry, M.httpDuration);
    const mqtt = histogram(registry, M.mqttRoundtrip);
    tapLatency(registry, tracker);
    tapLatency(registry, tracker); // a reload taps again: still once
    http.observe({ target: 'api' }, 0.25);
    http.observe({ target: 'api' }, 0.75);
    mqtt.observe({ broker: 'broker' }, 0.004);
    http.observe({ target: 'undeclared' }, 1); // ignored
    const h = tracker.history('http', 'api')!.aggregate(now - HOUR, now + 1, now + 1, [], 'minute');
    expect(h.latency!.avg).toBeCloseTo(0.5, 3);
    expect(h.latency!.min).toBeCloseTo(0.25, 1);
    expect(h.latency!.max).toBeCloseTo(0.75, 1);
    expect(tracker.history('mqtt', 'broker')!.aggregate(now - HOUR, now + 1, now + 1, [], 'minute').latency!.avg).toBeCloseTo(0.004, 5);
    const m = Metrics.parse(await registry.metrics());
    expect(m.get('stackwatch_http_request_duration_seconds_count', { target: 'api' })).toBe(2);
    expect(m.get('stackwatch_http_request_duration_seconds_sum', { target: 'api' })).toBe(1);
    expect(m.get('stackwatch_mqtt_roundtrip_seconds_count', { broker: 'broker' })).toBe(1);
  });
});
