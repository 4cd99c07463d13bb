/**
 * The HTTP collector writes a gauge only when a probe finds a value different from the last
 * one's. Against a loopback backend whose answer the test changes between probes, every change
 * still reaches the exposition: the status code, the health state set, each field's value, a
 * field that disappears (its series removed) and one that comes back.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startExporter, type RunningExporter } from '../harness/exporter';
import type { Metrics } from '../harness/prom-text';
import { waitFor } from '../harness/wait';

jest.setTimeout(60_000);

let answer = { code: 200, body: {} as Record<string, unknown> };
let server: http.Server;
let exporter: RunningExporter;

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    res.writeHead(answer.code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  answer = { code: 200, body: { status: 'healthy', n: 1, m: 5 } };
  exporter = await startExporter({
    http: [{
      name: 'api', url: `http://127.0.0.1:${port}/health`, interval: '500ms', timeout: '400ms', expect_status: ['2xx', 503],
      json: { status: 'status', fields: { n: 'n', m: 'm' } },
    }],
  });
});

afterAll(async () => {
  await exporter?.stop();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const target = { kind: 'http', target: 'api' };

/** Sets the backend's answer and waits until two probes have seen it; returns a scrape after them. */
async function answerWith(code: number, body: Record<string, unknown>): Promise<Metrics> {
  answer = { code, body };
  const checks = (await exporter.scrape()).get('stackwatch_target_checks_total', target) ?? 0;
  await waitFor('two probes of the new answer', async () => ((await exporter.scrape()).get('stackwatch_target_checks_total', target) ?? 0) >= checks + 2, 10_000);
  return exporter.scrape();
}

function seen(m: Metrics): Record<string, unknown> {
  const health = m.all('stackwatch_health_status', { target: 'api' }).filter((s) => s.value === 1).map((s) => s.labels.status);
  const fields = Object.fromEntries(m.all('stackwatch_health_field', { target: 'api' }).map((s) => [s.labels.field, s.value]));
  return { code: m.get('stackwatch_http_status_code', { target: 'api' }), health, fields };
}

test('every change of status code, health state and fields reaches the exposition, and an unchanged answer keeps it', async () => {
  expect(seen(await answerWith(200, { status: 'healthy', n: 1, m: 5 }))).toEqual({ code: 200, health: ['healthy'], fields: { n: 1, m: 5 } });
  // The same answer again: nothing written, nothing lost.
  expect(seen(await answerWith(200, { status: 'healthy', n: 1, m: 5 }))).toEqual({ code: 200, health: ['healthy'], fields: { n: 1, m: 5 } });
  // m goes missing (its series removed), n and the state change.
  expect(seen(await answerWith(200, { status: 'degraded', n: 2 }))).toEqual({ code: 200, health: ['degraded'], fields: { n: 2 } });
  // The code changes; m comes back with the value it had before it went missing, then another.
  expect(seen(await answerWith(503, { status: 'degraded', n: 2, m: 5 }))).toEqual({ code: 503, health: ['degraded'], fields: { n: 2, m: 5 } });
  expect(seen(await answerWith(503, { status: 'degraded', n: 2, m: 7 }))).toEqual({ code: 503, health: ['degraded'], fields: { n: 2, m: 7 } });
  // Back to the first answer.
  expect(seen(await answerWith(200, { status: 'healthy', n: 1, m: 5 }))).toEqual({ code: 200, health: ['healthy'], fields: { n: 1, m: 5 } });
  // A status no map knows: unknown, exactly one state set.
  expect(seen(await answerWith(200, { status: 'sideways', n: 1, m: 5 }))).toEqual({ code: 200, health: ['unknown'], fields: { n: 1, m: 5 } });
});
