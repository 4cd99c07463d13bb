import fc from 'fast-check';
import { DEFAULT_STATUS_MAP, evaluate, fieldNumber, lookup, mapStatus, parseCondition, parsePath, type Condition, type StatusMap } from '../../src/collectors/http-json';
import { parseDuration, formatDuration } from '../../src/config/duration';

const cond = (t: string): Condition => {
  const c = parseCondition(t);
  if (typeof c === 'string') throw new Error(c);
  return c;
};

describe('health body reading', () => {
  const body = { status: 'degraded', mqtt: { connected: false, pending_requests: 57, state: 'reconnecting' }, checks: [{ ok: true }] };

  it('parses paths and looks them up', () => {
    expect(parsePath('mqtt.pending_requests')).toEqual(['mqtt', 'pending_requests']);
    expect(parsePath('checks[0].ok')).toEqual(['checks', '0', 'ok']);
    expect(parsePath('')).toBeUndefined();
    expect(parsePath('a..b')).toBeUndefined();
    expect(lookup(body, ['checks', '0', 'ok'])).toBe(true);
    expect(lookup(body, ['mqtt', 'missing'])).toBeUndefined();
    expect(lookup(body, ['mqtt', 'connected', 'deeper'])).toBeUndefined();
    expect(lookup(body, ['__proto__'])).toBeUndefined();
  });

  it('maps status strings to the tri-state', () => {
    expect(mapStatus('healthy', DEFAULT_STATUS_MAP)).toBe('healthy');
    expect(mapStatus('OK', DEFAULT_STATUS_MAP)).toBe('healthy');
    expect(mapStatus('degraded', DEFAULT_STATUS_MAP)).toBe('degraded');
    expect(mapStatus('Unhealthy', DEFAULT_STATUS_MAP)).toBe('unhealthy');
    expect(mapStatus('weird', DEFAULT_STATUS_MAP)).toBe('unknown');
    expect(mapStatus(undefined, DEFAULT_STATUS_MAP)).toBe('unknown');
    expect(mapStatus('amber', { healthy: ['green'], degraded: ['amber'], unhealthy: ['red'] })).toBe('degraded');
  });

  it('maps status words as the configured lists read, whatever their case, first list first', () => {
    // The lists' words are looked up in a map made once per status map: it must answer as reading them in order does.
    const reference = (raw: unknown, map: StatusMap): string => {
      if (typeof raw === 'boolean') raw = String(raw);
      if (typeof raw !== 'string') return 'unknown';
      const s = raw.trim().toLowerCase();
      for (const status of ['healthy', 'degraded', 'unhealthy'] as const) if (map[status].some((v) => v.toLowerCase() === s)) return status;
      return 'unknown';
    };
    const word = fc.constantFrom('ok', 'OK', 'Ok', ' ok ', 'down', 'DOWN', 'amber', 'true', 'False', '', 'ß', 'İ');
    const map = fc.record({ healthy: fc.array(word, { maxLength: 4 }), degraded: fc.array(word, { maxLength: 4 }), unhealthy: fc.array(word, { maxLength: 4 }) });
    fc.assert(fc.property(map, fc.oneof(word, fc.boolean(), fc.constant(7), fc.constant(null)), (m, raw) => {
      expect(mapStatus(raw, m)).toBe(reference(raw, m));
    }), { numRuns: 2000 });
    expect(mapStatus('GREEN', { healthy: ['Green'], degraded: ['green'], unhealthy: [] })).toBe('healthy');
  });

  it('turns fields into numbers', () => {
    expect(fieldNumber(57)).toBe(57);
    expect(fieldNumber(false)).toBe(0);
    expect(fieldNumber(true)).toBe(1);
    expect(fieldNumber('12.5')).toBe(12.5);
    expect(fieldNumber('reconnecting', { connected: 1, reconnecting: 0.5 })).toBe(0.5);
    expect(fieldNumber('reconnecting')).toBeUndefined();
    expect(fieldNumber(null)).toBeUndefined();
    expect(fieldNumber({})).toBeUndefined();
  });

  it('parses and evaluates conditions', () => {
    expect(evaluate(cond('mqtt.connected == true'), body)).toBe(false);
    expect(evaluate(cond('mqtt.connected == false'), body)).toBe(true);
    expect(evaluate(cond('mqtt.pending_requests < 50'), body)).toBe(false);
    expect(evaluate(cond('mqtt.pending_requests >= 57'), body)).toBe(true);
    expect(evaluate(cond('status != "down"'), body)).toBe(true);
    expect(evaluate(cond("mqtt.state == 'reconnecting'"), body)).toBe(true);
    expect(evaluate(cond('mqtt.missing == 1'), body)).toBe(false);
    expect(evaluate(cond('mqtt.missing != 1'), body)).toBe(true);
    expect(parseCondition('mqtt.connected')).toMatch(/expected/);
    expect(parseCondition('a < "x"')).toMatch(/needs a number/);
    expect(parseCondition('a == maybe')).toMatch(/is not a value/);
  });
});

describe('durations', () => {
  it('parses Prometheus-style durations to seconds', () => {
    expect(parseDuration('500ms')).toBe(0.5);
    expect(parseDuration('5s')).toBe(5);
    expect(parseDuration('2m')).toBe(120);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('1d')).toBe(86400);
    expect(parseDuration(7)).toBe(7);
    expect(parseDuration('7')).toBe(7);
    expect(parseDuration('5 s')).toBeUndefined();
    expect(parseDuration('-1s')).toBeUndefined();
    expect(parseDuration('fast')).toBeUndefined();
  });
  it('formats durations for people', () => {
    expect(formatDuration(0.25)).toBe('250ms');
    expect(formatDuration(12)).toBe('12s');
    expect(formatDuration(200)).toBe('3m 20s');
    expect(formatDuration(7500)).toBe('2h 5m');
    expect(formatDuration(90000)).toBe('1d 1h');
  });
});
