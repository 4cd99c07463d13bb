import { backoffSeconds, newBrokerMemory, parseSysPayload, SYS_RETAINED_SECONDS, SYS_TOPICS, SysState, topicMatches, type SysEffect } from '../../src/collectors/mqtt-sys';
import { connectFailureReason } from '../../src/collectors/mqtt';
import { M } from '../../src/metrics/definitions';

const RECEIVED = '$SYS/broker/messages/received';
const SENT = '$SYS/broker/messages/sent';
const UPTIME = '$SYS/broker/uptime';

function counters(effects: SysEffect[]): Record<string, { delta: number; total: number }> {
  const out: Record<string, { delta: number; total: number }> = {};
  for (const e of effects) if (e.type === 'counter') out[e.metric] = { delta: e.delta, total: e.total };
  return out;
}

describe('parseSysPayload', () => {
  it.each([
    ['42', 42],
    ['0', 0],
    ['0.57', 0.57],
    ['12345 seconds', 12345],
    ['1 second', 1],
    [' 7 ', 7],
    ['1e3', 1000],
    ['.5', 0.5],
  ])('parses %j as %d', (payload, want) => {
    expect(parseSysPayload(payload)).toBe(want);
    expect(parseSysPayload(Buffer.from(payload))).toBe(want);
  });

  it.each(['', 'abc', 'mosquitto version 2.0.11', '12 minutes', 'NaN', 'Infinity', '-1', '1 2', '0x10', '5 seconds ago', 'x'.repeat(100), '9'.repeat(400)])(
    'rejects %j', (payload) => {
      expect(parseSysPayload(payload)).toBeUndefined();
    });

  it('rejects oversized buffers without decoding them', () => {
    expect(parseSysPayload(Buffer.alloc(1_000_000, 0x31))).toBeUndefined();
  });
});

describe('SYS_TOPICS', () => {
  it('is an allow-list of exact topics (no wildcards, never $SYS/#)', () => {
    for (const t of SYS_TOPICS.keys()) {
      expect(t.startsWith('$SYS/broker/')).toBe(true);
      expect(t).not.toMatch(/[#+]/);
    }
  });

  it('maps uptime and maxima to gauges and running totals to counters', () => {
    const kinds = new Map([...SYS_TOPICS.values()].map((v) => [v.metric, v.kind]));
    expect(kinds.get(M.mqttUptime.name)).toBe('uptime');
    expect(kinds.get(M.mqttClientsMaximum.name)).toBe('gauge');
    for (const [metric, kind] of kinds) {
      const def = Object.values(M).find((d) => d.name === metric)!;
      expect(def.type).toBe(kind === 'counter' ? 'counter' : 'gauge');
      expect(metric.endsWith('_total')).toBe(kind === 'counter');
    }
  });
});

describe('topicMatches', () => {
  it.each([
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['#', 'x/y', true],
    ['+/b', 'a/b', true],
    ['#', '$SYS/broker/uptime', false],
    ['+/broker/uptime', '$SYS/broker/uptime', false],
    ['$SYS/#', '$SYS/broker/uptime', true],
    ['chatbot/responses/#', 'chatbot/responses/42/done', true],
    ['chatbot/responses/#', 'chatbot/requests/42', false],
    ['$share/g/app/+', 'app/x', true],
    ['a/b/c', 'a/b', false],
  ])('%s vs %s → %s', (filter, topic, want) => {
    expect(topicMatches(filter, topic)).toBe(want);
  });
});

describe('backoffSeconds', () => {
  it('doubles from initial and is capped at max', () => {
    const seq = [0, 1, 2, 3, 4, 5, 6, 50].map((n) => backoffSeconds(n, 1, 30, 0));
    expect(seq).toEqual([1, 2, 4, 8, 16, 30, 30, 30]);
  });

  it('takes at most 20% off for jitter', () => {
    expect(backoffSeconds(2, 1, 30, 0.999)).toBeGreaterThan(3.2);
    expect(backoffSeconds(2, 1, 30, 0.999)).toBeLessThanOrEqual(4);
    expect(backoffSeconds(1e6, 0.2, 1, 0.5)).toBeCloseTo(0.9);
  });
});

describe('connectFailureReason', () => {
  const withCode = (message: string, code: unknown): Error => Object.assign(new Error(message), { code });
  it.each([
    [withCode('Connection refused: Not authorized', 135), 'auth'],
    [withCode('Connection refused: Bad User Name or Password', 134), 'auth'],
    [withCode('Connection refused: Not authorized', 5), 'auth'],
    [withCode('Connection refused: Server unavailable', 136), 'refused'],
    [new Error('connack timeout'), 'timeout'],
    [withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), 'network'],
    [withCode('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls'],
    [withCode('bad', 'ERR_TLS_CERT_ALTNAME_INVALID'), 'tls'],
    [new Error('something else'), 'other'],
  ])('%s → %s', (err, want) => {
    expect(connectFailureReason(err)).toBe(want);
  });
});

describe('SysState', () => {
  it('starts counters at the broker totals and adds deltas after that', () => {
    const s = new SysState(newBrokerMemory(), 1);
    s.newConnection(100);
    // Counters before the first uptime of a connection are held back.
    expect(s.onMessage(RECEIVED, '10', 100)).toEqual([]);
    const first = s.onMessage(UPTIME, '50 seconds', 100);
    expect(first).toContainEqual({ type: 'gauge', metric: M.mqttUptime.name, value: 50 });
    expect(counters(first)[M.mqttMsgsReceived.name]).toEqual({ delta: 10, total: 10 });
    expect(counters(s.onMessage(RECEIVED, '15', 101))[M.mqttMsgsReceived.name]).toEqual({ delta: 5, total: 15 });
    expect(counters(s.onMessage(RECEIVED, '15', 102))[M.mqttMsgsReceived.name]).toEqual({ delta: 0, total: 15 });
  });

  it('counts a restart when uptime goes backwards and keeps counters monotonic', () => {
    const mem = newBrokerMemory();
    const s = new SysState(mem, 1);
    s.newConnection(0);
    s.onMessage(UPTIME, '100 seconds', 0);
    s.onMessage(RECEIVED, '1000', 0);
    s.onMessage(SENT, '2000', 0);
    // Reconnected after a restart: the new broker's totals arrive before its uptime.
    s.newConnection(3);
    expect(s.onMessage(RECEIVED, '4', 3)).toEqual([]);
    const effects = s.onMessage(UPTIME, '2 seconds', 3);
    expect(effects.filter((e) => e.type === 'restart')).toEqual([{ type: 'restart', reason: 'uptime', metric: M.mqttUptime.name, previous: 100, value: 2 }]);
    expect(counters(effects)[M.mqttMsgsReceived.name]).toEqual({ delta: 4, total: 1004 });
    // The new totals are counted from zero even when they are larger than the old ones.
    expect(counters(s.onMessage(SENT, '2500', 4))[M.mqttMsgsSent.name]).toEqual({ delta: 2500, total: 4500 });
    expect(counters(s.onMessage(SENT, '2600', 5))[M.mqttMsgsSent.name]).toEqual({ delta: 100, total: 4600 });
  });

  it('does not count a frozen broker\'s lagging retained uptime as a restart', () => {
    const s = new SysState(newBrokerMemory(), 1);
    s.newConnection(0);
    s.onMessage(UPTIME, '10 seconds', 0);
    // SIGSTOP for 60 s: after SIGCONT the retained uptime is still the one from before.
    s.newConnection(60);
    expect(s.onMessage(UPTIME, '10 seconds', 60).some((e) => e.type === 'restart')).toBe(false);
    expect(s.onMessage(UPTIME, '71 seconds', 61).some((e) => e.type === 'restart')).toBe(false);
  });

  it('does not count a reconnect to the same broker as a restart', () => {
    const s = new SysState(newBrokerMemory(), 10);
    s.newConnection(0);
    s.onMessage(UPTIME, '1000 seconds', 0);
    s.onMessage(RECEIVED, '50', 0);
    // 30 s later the retained uptime may lag by up to one sys_interval.
    s.newConnection(30);
    s.onMessage(RECEIVED, '70', 30);
    const effects = s.onMessage(UPTIME, '1020 seconds', 30);
    expect(effects.some((e) => e.type === 'restart')).toBe(false);
    expect(counters(effects)[M.mqttMsgsReceived.name]).toEqual({ delta: 20, total: 70 });
  });

  it('counts a restart faster than the uptime resolution from totals going backwards, once per connection', () => {
    const s = new SysState(newBrokerMemory(), 1);
    s.newConnection(0);
    s.onMessage(UPTIME, '1 seconds', 0);
    s.onMessage(RECEIVED, '100', 0);
    s.onMessage(SENT, '50', 0);
    // Restarted within a second: the uptime does not go back, the totals do.
    s.newConnection(1);
    expect(s.onMessage(UPTIME, '1 seconds', 1).some((e) => e.type === 'restart')).toBe(false);
    const r = s.onMessage(RECEIVED, '3', 1);
    expect(r.filter((e) => e.type === 'restart')).toEqual([{ type: 'restart', reason: 'totals', metric: M.mqttMsgsReceived.name, previous: 100, value: 3 }]);
    expect(counters(r)[M.mqttMsgsReceived.name]).toEqual({ delta: 3, total: 103 });
    // Other totals of the new broker are taken whole, and the restart is not counted again.
    const r2 = s.onMessage(SENT, '60', 1);
    expect(r2.some((e) => e.type === 'restart')).toBe(false);
    expect(counters(r2)[M.mqttMsgsSent.name]).toEqual({ delta: 60, total: 110 });
    expect(s.onMessage(RECEIVED, '2', 2).some((e) => e.type === 'restart')).toBe(false);
  });

  it('reports unparseable payloads and skips them; ignores unknown topics', () => {
    const s = new SysState(newBrokerMemory(), 1);
    s.newConnection(0);
    expect(s.onMessage('$SYS/broker/clients/connected', 'lots', 0)).toEqual([{ type: 'parse_error', topic: '$SYS/broker/clients/connected' }]);
    expect(s.onMessage('$SYS/broker/version', 'mosquitto version 2.0.11', 0)).toEqual([]);
    expect(s.onMessage('$SYS/broker/clients/connected', '3', 0)).toEqual([{ type: 'gauge', metric: M.mqttClientsConnected.name, value: 3 }]);
  });

  it('stops waiting for an uptime the broker never publishes', () => {
    const s = new SysState(newBrokerMemory(), 1);
    s.newConnection(0);
    expect(s.onMessage(RECEIVED, '5', 0.5)).toEqual([]);
    expect(counters(s.onMessage(RECEIVED, '6', 2))[M.mqttMsgsReceived.name]).toEqual({ delta: 6, total: 6 });
  });

  it('continues totals across collector instances sharing the memory (config reload)', () => {
    const mem = newBrokerMemory();
    const a = new SysState(mem, 1);
    a.newConnection(0);
    a.onMessage(UPTIME, '10 seconds', 0);
    a.onMessage(RECEIVED, '40', 0);
    const b = new SysState(mem, 1);
    b.newConnection(1);
    b.onMessage(RECEIVED, '45', 1);
    const effects = b.onMessage(UPTIME, '11 seconds', 1);
    expect(effects.some((e) => e.type === 'restart')).toBe(false);
    expect(counters(effects)[M.mqttMsgsReceived.name]).toEqual({ delta: 5, total: 45 });
  });

  describe('values the broker sends only on change', () => {
    const CONNECTED = '$SYS/broker/clients/connected';
    const MAXIMUM = '$SYS/broker/clients/maximum';
    const DROPPED = '$SYS/broker/publish/messages/dropped';
    const gauges = (effects: SysEffect[]): Record<string, number> =>
      Object.fromEntries(effects.flatMap((e) => (e.type === 'gauge' && e.metric !== M.mqttUptime.name ? [[e.metric, e.value]] : [])));
    /** Connected at 0 with every value sent; disconnected at `lostAt`. */
    function connectedOnce(lostAt: number): SysState {
      const s = new SysState(newBrokerMemory(), 10);
      s.disconnected(-1);
      s.newConnection(0);
      s.onMessage(UPTIME, '500 seconds', 0);
      s.onMessage(CONNECTED, '3', 0);
      s.onMessage(MAXIMUM, '7', 0);
      s.onMessage(DROPPED, '2', 0);
      s.disconnected(lostAt);
      return s;
    }

    it('a reconnection to the same broker within the retention serves every value it did not send again, unchanged', () => {
      const s = connectedOnce(100);
      s.newConnection(100 + SYS_RETAINED_SECONDS - 1);
      // A value that changed meanwhile is still retained: it arrives, and wins.
      s.onMessage(CONNECTED, '4', 159);
      const effects = s.onMessage(UPTIME, '660 seconds', 159);
      expect(gauges(effects)).toEqual({ [M.mqttClientsMaximum.name]: 7 });
      expect(counters(effects)[M.mqttDropped.name]).toEqual({ delta: 0, total: 2 });
      // Later changes count from the broker's total as before.
      expect(counters(s.onMessage(DROPPED, '5', 170))[M.mqttDropped.name]).toEqual({ delta: 3, total: 5 });
    });

    it('after a restart, or an absence longer than the retention, only what the broker sends is served', () => {
      const restarted = connectedOnce(100);
      restarted.newConnection(110);
      const afterRestart = restarted.onMessage(UPTIME, '3 seconds', 110);
      expect(afterRestart.some((e) => e.type === 'restart')).toBe(true);
      expect(gauges(afterRestart)).toEqual({});
      expect(counters(afterRestart)).toEqual({});
      // Nor later: the old instance's values are forgotten (a reconnection to the new one restores only its own).
      restarted.onMessage(CONNECTED, '1', 112);
      restarted.disconnected(120);
      restarted.newConnection(121);
      expect(gauges(restarted.onMessage(UPTIME, '14 seconds', 121))).toEqual({ [M.mqttClientsConnected.name]: 1 });

      const away = connectedOnce(100);
      away.newConnection(100 + SYS_RETAINED_SECONDS);
      const afterAbsence = away.onMessage(UPTIME, '700 seconds', 160);
      expect(gauges(afterAbsence)).toEqual({});
      expect(counters(afterAbsence)).toEqual({});
    });
  });
});
