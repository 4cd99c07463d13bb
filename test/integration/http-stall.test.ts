/**
 * The probe timeout measures the target, not the exporter: with the exporter's event loop
 * blocked across the deadline, a target that answered in time is up; a target that never
 * answers is still down, within its bound. The target runs in its own process (a server in
 * this one would be blocked too).
 */
import type { ChildProcess } from 'node:child_process';
import { probe, ProbeAgents, type ProbeRequest } from '../../src/collectors/http-probe';
import { ProcessSet } from '../harness/processes';

jest.setTimeout(30_000);

const SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => {
  if (req.url === '/hang') return;
  setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"healthy"}'), 200);
});
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

const procs = new ProcessSet();
let base: string;
let agents: ProbeAgents;

beforeAll(async () => {
  const child: ChildProcess = procs.start(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`target server exited with ${code}`)));
  });
  base = `http://127.0.0.1:${port}`;
  agents = new ProbeAgents({ insecureSkipVerify: false });
});

afterAll(async () => {
  agents?.destroy();
  await procs.killAll();
});

const req = (path: string, timeoutSeconds: number): ProbeRequest => ({
  url: `${base}${path}`, method: 'GET', headers: {}, timeoutSeconds, maxBodyBytes: 65536, maxRedirects: 0, readBody: true,
});

/**
 * Blocks this process's event loop for `ms` after `at` ms (a GC pause, a huge scrape, a starved
 * CPU). It blocks outside the timers phase, as rendering a scrape in a request handler does: the
 * loop's next turn then runs the timers that fell due before reading the sockets.
 */
function stallAt(at: number, ms: number): void {
  setTimeout(() => setImmediate(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)), at);
}

/** One probe with a 1 s timeout, the event loop blocked for `ms` after `at` ms. */
function probeStalled(path: string, at: number, ms: number): ReturnType<typeof probe> {
  const p = probe(req(path, 1), agents);
  stallAt(at, ms);
  return p;
}

test('a target that answered within its timeout while the exporter was blocked across the deadline is up', async () => {
  for (const [blockAt, blockFor] of [[100, 1500], [50, 950], [150, 900]] as const) {
    const r = await probeStalled('/slow', blockAt, blockFor);
    expect({ blockAt, blockFor, reason: r.reason, error: r.error, status: r.status }).toEqual({ blockAt, blockFor, reason: undefined, error: undefined, status: 200 });
  }
});

test('a target that never answers is down within twice its timeout, stalls or not', async () => {
  const plain = await probe(req('/hang', 1), agents);
  expect(plain.reason).toBe('timeout');
  expect(plain.durationSeconds).toBeGreaterThanOrEqual(0.99);
  expect(plain.durationSeconds).toBeLessThan(1.5);

  const stalled = await probeStalled('/hang', 900, 700);
  expect(stalled.reason).toBe('timeout');
  expect(stalled.error).toMatch(/stalled/);
  // The 0.6 s the deadline was stalled past it are not the target's; no more than that is added.
  expect(stalled.durationSeconds).toBeGreaterThanOrEqual(1.5);
  expect(stalled.durationSeconds).toBeLessThan(2.3);

  // However long the stall, the deadline moves by at most one more timeout.
  const long = await probeStalled('/hang', 100, 3000);
  expect(long.reason).toBe('timeout');
  expect(long.durationSeconds).toBeLessThan(3.4);
});

test('a probe cancelled through its signal ends at once, as a timeout that says so, and its agents stay usable', async () => {
  const cancel = new AbortController();
  const waiting = probe(req('/hang', 10), agents, cancel.signal);
  setTimeout(() => cancel.abort(), 100);
  const cancelled = await waiting;
  expect({ reason: cancelled.reason, error: cancelled.error }).toEqual({ reason: 'timeout', error: 'probe cancelled' });
  expect(cancelled.durationSeconds).toBeLessThan(1);

  // Already cancelled: no request is sent (the target answers only after 200 ms).
  const before = new AbortController();
  before.abort();
  const early = await probe(req('/slow', 10), agents, before.signal);
  expect({ reason: early.reason, error: early.error }).toEqual({ reason: 'timeout', error: 'probe cancelled' });
  expect(early.durationSeconds).toBeLessThan(0.15);

  const after = await probe(req('/slow', 5), agents);
  expect({ reason: after.reason, status: after.status }).toEqual({ reason: undefined, status: 200 });
});
