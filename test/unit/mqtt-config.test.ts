import { parseConfig } from '../../src/config/load';
import { isTopicFilter } from '../../src/config/mqtt';

const file = '/etc/stackwatch/stackwatch.yml';

describe('mqtt config', () => {
  it('accepts the documented shape and fills defaults', () => {
    const c = parseConfig(`
mqtt:
  - name: main
    url: mqtt://127.0.0.1:1883
    username: \${MQTT_USER}
    password: \${MQTT_PASS}
    roundtrip: { topic: stackwatch/probe, interval: 10s, timeout: 5s }
    topics:
      - { topic: "chatbot/responses/#", stale_after: 5m }
`, file, { MQTT_USER: 'u', MQTT_PASS: 'p' });
    const b = c.mqtt[0]!;
    expect(b).toMatchObject({
      name: 'main', username: 'u', password: 'p', keepalive: 30, connect_timeout: 5, sys_interval: 10, sys_stale_intervals: 3,
      reconnect: { initial: 1, max: 30 }, roundtrip: { topic: 'stackwatch/probe', interval: 10, timeout: 5 },
      topics: [{ topic: 'chatbot/responses/#', stale_after: 300 }], client_id_prefix: 'stackwatch',
    });
  });

  it.each([
    ['reconnect: { initial: 10s, max: 1s }', /mqtt\[0\]\.reconnect.*reconnect\.max/s],
    ['reconnect: { initial: 0s }', /reconnect\.initial of at least 50ms/],
    ['roundtrip: { topic: p, interval: 1s, timeout: 2s }', /mqtt\[0\]\.roundtrip\.timeout.*shorter than roundtrip\.interval/s],
    ['roundtrip: { topic: "p/#" }', /without wildcards/],
    ['topics: [{ topic: "a/#/b" }]', /mqtt\[0\]\.topics\[0\]\.topic.*topic filter/s],
    ['reconnect: { initial: 1s, extra: 1 }', /mqtt\[0\]\.reconnect\.extra.*unknown key/s],
  ])('rejects %s', (line, message) => {
    expect(() => parseConfig(`mqtt:\n  - name: main\n    url: mqtt://127.0.0.1:1883\n    ${line}\n`, file, {})).toThrow(message);
  });

  it.each([
    ['a/b', true], ['a/+/c', true], ['#', true], ['a/#', true], ['+', true], ['$SYS/broker/#', true],
    ['a/#/b', false], ['a#', false], ['a/b+', false], ['', false], ['a/\u0000', false],
  ])('isTopicFilter(%j) = %s', (f, want) => {
    expect(isTopicFilter(f)).toBe(want);
  });
});
