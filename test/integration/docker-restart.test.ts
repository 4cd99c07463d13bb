/**
 * The Docker collector across a dockerd restart and a cut events stream, with a real dockerd.
 * The exporter reaches the daemon through a unix-socket relay (like the bundle's socket proxy),
 * so the test decides when the exporter can reconnect: containers can be created and removed
 * after the daemon came back but before the exporter sees it again.
 */
import net from 'node:net';
import { validate } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { DockerRig, containerState as stateOf } from '../harness/docker-rig';
import { closedPort } from '../harness/ports';
import { startExporter } from '../harness/exporter';
import { waitFor } from '../harness/wait';

jest.setTimeout(120_000);

let rig: DockerRig;

beforeAll(async () => {
  rig = await DockerRig.start({
    relay: true,
    // A short stop timeout: the restarted daemon stops what was left running (no live-restore) without waiting 10 s.
    before: async (d) => {
      await d.runContainer('keep', ['--restart', 'always', '--stop-timeout', '1'], ['sleep', '1000']);
      await d.runContainer('old', ['--stop-timeout', '1'], ['sleep', '1000']);
    },
  });
}, 120_000);

afterAll(() => rig?.stop(), 60_000);

test('dockerd killed and restarted: docker_up 0 then 1, state rebuilt, events flowing again', async () => {
  let m = await rig.exp.scrape();
  expect(m.get('stackwatch_docker_up')).toBe(1);
  expect(m.get('stackwatch_docker_events_stream_up')).toBe(1);
  expect(stateOf(m, 'keep')).toBe('running');
  expect(stateOf(m, 'old')).toBe('running');

  // The engine goes away for the exporter, then the daemon is killed.
  await rig.relay!.down();
  await rig.d.kill();
  m = await waitFor('docker_up 0', async () => {
    const s = await rig.exp.scrape();
    return s.get('stackwatch_docker_up') === 0 && s.get('stackwatch_docker_events_stream_up') === 0 ? s : false;
  }, 10_000, 100);
  // What was known stays visible while the engine is unreachable.
  expect(stateOf(m, 'keep')).toBe('running');

  // The daemon comes back; before the exporter can reach it, containers come and go.
  await rig.d.startDaemon();
  await rig.d.runContainer('born', [], ['sleep', '1000']);
  await rig.d.ok(['rm', '-f', 'old']);
  await rig.d.runContainer('born-exited', [], ['sh', '-c', 'exit 7']);
  await waitFor('born-exited to exit', async () => (await rig.d.inspect('born-exited')).State.Status === 'exited', 10_000, 100);
  expect((await rig.exp.scrape()).get('stackwatch_docker_up')).toBe(0);

  await rig.relay!.up();
  m = await waitFor('docker_up 1 and events stream up again', async () => {
    const s = await rig.exp.scrape();
    return s.get('stackwatch_docker_up') === 1 && s.get('stackwatch_docker_events_stream_up') === 1 ? s : false;
  }, 15_000, 100);
  // State rebuilt from list + inspect: the new ones found, the removed one gone.
  expect(stateOf(m, 'born')).toBe('running');
  expect(stateOf(m, 'born-exited')).toBe('exited');
  expect(m.get('stackwatch_container_last_exit_code', { container: 'born-exited' })).toBe(7);
  expect(m.samples.filter((s) => s.labels.container === 'old' || s.labels.target === 'old')).toEqual([]);
  const keep = await rig.d.inspect('keep');
  expect(stateOf(m, 'keep')).toBe(keep.State.Status);

  // Events flow again: a new container and a stop are seen without another list.
  await rig.d.runContainer('after', [], ['sleep', '1000']);
  await waitFor('after running', async () => stateOf(await rig.exp.scrape(), 'after') === 'running', 10_000, 100);
  await rig.d.ok(['stop', '-t', '0', 'after']);
  await waitFor('after exited', async () => stateOf(await rig.exp.scrape(), 'after') === 'exited', 10_000, 100);
  expect((await rig.exp.scrape()).get('stackwatch_container_last_exit_code', { container: 'after' })).toBe(137);
});

test('events stream cut while the daemon is up: the collector reconnects and keeps following', async () => {
  rig.relay!.cut();
  // The stream is reopened (backoff starts at 0.5 s); a container created after that is found.
  await waitFor('events stream up again', async () => (await rig.exp.scrape()).get('stackwatch_docker_events_stream_up') === 1, 10_000, 100);
  await rig.d.runContainer('after-cut', [], ['sleep', '1000']);
  await waitFor('after-cut running', async () => stateOf(await rig.exp.scrape(), 'after-cut') === 'running', 10_000, 100);
  await rig.d.ok(['rm', '-f', 'after-cut']);
  await waitFor('after-cut gone', async () => stateOf(await rig.exp.scrape(), 'after-cut') === undefined, 10_000, 100);
  expect((await rig.exp.scrape()).get('stackwatch_docker_event_errors_total')).toBe(0);
});

test('a bad, a split and an over-long line in the events stream: each bad one counted and followed by a resync; events keep flowing', async () => {
  const before = (await rig.exp.scrape()).get('stackwatch_docker_event_errors_total')!;
  const errors = async (): Promise<number> => (await rig.exp.scrape()).get('stackwatch_docker_event_errors_total')!;
  // One event line delivered in two chunks: not an error (its container is unknown: ignored).
  const split = JSON.stringify({ Type: 'container', Action: 'start', Actor: { ID: 'f'.repeat(64), Attributes: {} }, time: 1, timeNano: 1e9 }) + '\n';
  expect(rig.relay!.inject(split.slice(0, 20))).toBe(1);
  rig.relay!.inject(split.slice(20));
  // An unreadable line may have carried any change: the stream is cut and state resynced.
  rig.relay!.inject('this is not json\n');
  await waitFor('the bad line counted', async () => (await errors()) === before + 1, 5000, 100);
  // The stream is dropped, then reopened after the reconnect backoff (at least 0.5 s).
  const streamUp = async (): Promise<number | undefined> => (await rig.exp.scrape()).get('stackwatch_docker_events_stream_up');
  await waitFor('the stream dropped', async () => (await streamUp()) === 0, 5000, 50);
  await waitFor('a new events stream', async () => (await streamUp()) === 1, 10_000, 50);
  // Longer than the 1 MiB cap, in pieces: dropped, counted, and a resync again.
  const long = Buffer.alloc(600 * 1024, 0x61);
  rig.relay!.inject(long);
  rig.relay!.inject(long);
  rig.relay!.inject('\n');
  await waitFor('the over-long line counted', async () => (await errors()) === before + 2, 5000, 100);
  await waitFor('the stream dropped again', async () => (await streamUp()) === 0, 5000, 50);
  await waitFor('events stream up again', async () => (await streamUp()) === 1, 10_000, 50);
  // Real events still follow.
  await rig.d.runContainer('after-noise', [], ['sleep', '1000']);
  await waitFor('after-noise running', async () => stateOf(await rig.exp.scrape(), 'after-noise') === 'running', 10_000, 100);
  expect(await errors()).toBe(before + 2);
});

test('stop() closes the events stream quickly', async () => {
  const t0 = Date.now();
  await rig.exp.stop();
  expect(Date.now() - t0).toBeLessThan(1000);
});

test('enabled: auto without a socket is silently off; enabled: true reports docker_up 0', async () => {
  const auto = await startExporter({ docker: { enabled: 'auto', host: `unix://${rig.d.dir}/missing.sock` } });
  const on = await startExporter({ docker: { enabled: true, host: `unix://${rig.d.dir}/missing.sock`, reconnect_max_backoff: '1s' } });
  try {
    const a = await auto.scrape();
    expect(a.all('stackwatch_docker_up')).toEqual([]);
    expect(a.samples.filter((s) => s.name.startsWith('stackwatch_container_'))).toEqual([]);
    const o = await on.scrape();
    expect(o.get('stackwatch_docker_up')).toBe(0);
    expect(o.get('stackwatch_docker_events_stream_up')).toBe(0);
    expect(o.get('stackwatch_collector_success', { collector: 'docker' })).toBe(0);
  } finally {
    await auto.stop();
    await on.stop();
  }
});

test('a TCP host (socket proxy style) works; enabled: auto with an unreachable TCP host is silently off', async () => {
  // A loopback TCP relay to the daemon's unix socket.
  const conns = new Set<net.Socket>();
  const tcp = net.createServer((c) => {
    const u = net.connect(rig.d.socket);
    conns.add(c).add(u);
    const close = (): void => {
      c.destroy();
      u.destroy();
    };
    c.on('error', close).on('close', close);
    u.on('error', close).on('close', close);
    c.pipe(u);
    u.pipe(c);
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  const port = (tcp.address() as net.AddressInfo).port;
  const dead = await closedPort();
  const viaTcp = await startExporter({ docker: { enabled: 'auto', host: `tcp://127.0.0.1:${port}` } });
  const off = await startExporter({ docker: { enabled: 'auto', host: `tcp://127.0.0.1:${dead}`, api_timeout: '1s' } });
  try {
    const m = await viaTcp.scrape();
    expect(m.get('stackwatch_docker_up')).toBe(1);
    expect(stateOf(m, 'keep')).toBe((await rig.d.inspect('keep')).State.Status);
    const o = await off.scrape();
    expect(o.all('stackwatch_docker_up')).toEqual([]);
    expect(o.all('stackwatch_collector_success', { collector: 'docker' })).toEqual([]);
  } finally {
    await viaTcp.stop();
    await off.stop();
    for (const c of conns) c.destroy();
    await new Promise<void>((r) => tcp.close(() => r()));
  }
});

test('a reload that turns docker off removes every docker and container series', async () => {
  let enabled = true;
  const load = (): Config => validate({ docker: { enabled, host: rig.d.host }, server: { listen: '127.0.0.1:0' } }, '<test config>');
  const e = await startExporter({ docker: { enabled: true, host: rig.d.host } }, { loadConfig: load });
  try {
    let m = await e.scrape();
    expect(m.get('stackwatch_docker_up')).toBe(1);
    expect(stateOf(m, 'keep')).toBeDefined();
    enabled = false;
    expect(await e.app.reload()).toBeUndefined();
    m = await e.scrape();
    expect(m.samples.filter((s) => s.name.startsWith('stackwatch_docker_') || s.name.startsWith('stackwatch_container_') || s.labels.kind === 'container')).toEqual([]);
  } finally {
    await e.stop();
  }
});
