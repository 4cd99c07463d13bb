/**
 * Removed containers against a fake engine that orders events and inspect answers adversarially:
 * a `docker rm -f` of a running container counts no outage and leaves no series, however its
 * die, its destroy and the collector's inspects and lists interleave, whether or not the
 * destroy event arrives at all, and however late it comes within the collector's grace (under
 * load, or `compose down` and `--rm`, which remove only after the exit). A plain stop, a crash
 * and a restart still count their outage, dated at the die, not at the grace's end.
 */
import { PassThrough, type Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { AvailabilityTracker } from '../../src/availability';
import { CollectorStats } from '../../src/collectors/collector-stats';
import type { CollectorContext } from '../../src/collectors/collector';
import { DockerCollector } from '../../src/collectors/docker';
import type { Engine, ListedContainer } from '../../src/collectors/docker-engine';
import type { InspectInfo } from '../../src/collectors/docker-state';
import type { StatsDoc } from '../../src/collectors/docker-resources';
import { validate } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { M } from '../../src/metrics/definitions';

jest.setTimeout(20_000);

type Status = 'created' | 'running' | 'restarting' | 'exited' | 'removing' | 'dead';

interface FakeContainer {
  id: string;
  name: string;
  status: Status;
}

/** An engine whose answers the test holds back and whose events the test writes. */
class FakeEngine implements Engine {
  readonly containers = new Map<string, FakeContainer>();
  streams: PassThrough[] = [];
  inspects = 0;
  /** Inspects of these ids wait (answering what was true when they were asked) until released. */
  private readonly held = new Map<string, Array<() => void>>();
  private readonly holding = new Set<string>();
  /** Lists wait until released while set. */
  private listGate?: { waiting: Array<() => void> };
  lists = 0;
  private holdFrom = Infinity;

  add(name: string, status: Status = 'running'): FakeContainer {
    const c = { id: `${name}-id`.padEnd(64, '0'), name, status };
    this.containers.set(c.id, c);
    return c;
  }

  private doc(c: FakeContainer): InspectInfo {
    return {
      Id: c.id, Name: `/${c.name}`, RestartCount: 0, Config: { Image: 'img', Labels: {} },
      State: {
        Status: c.status, Running: c.status === 'running' || c.status === 'restarting', Restarting: c.status === 'restarting', Dead: c.status === 'dead',
        Pid: c.status === 'running' ? 4242 : 0, ExitCode: c.status === 'running' ? 0 : 137,
        StartedAt: '2026-01-01T00:00:00Z', FinishedAt: c.status === 'running' ? '0001-01-01T00:00:00Z' : '2026-01-01T00:01:00Z',
      },
    };
  }

  hold(id: string): void {
    this.holding.add(id);
  }

  release(id: string): void {
    this.holding.delete(id);
    for (const go of this.held.get(id) ?? []) go();
    this.held.delete(id);
  }

  /** Lists from the `n`th on (counting from 1) wait until released. */
  holdListsFrom(n: number): void {
    this.holdFrom = n;
  }

  releaseLists(): void {
    const g = this.listGate;
    this.listGate = undefined;
    this.holdFrom = Infinity;
    for (const go of g?.waiting ?? []) go();
  }

  async list(): Promise<ListedContainer[]> {
    this.lists += 1;
    const answer = [...this.containers.values()].map((c) => ({ Id: c.id, Names: [`/${c.name}`], Labels: {}, State: c.status, Status: c.status === 'running' ? 'Up 1 minute' : 'Exited (137)' }));
    if (this.lists >= this.holdFrom) this.listGate ??= { waiting: [] };
    if (this.listGate !== undefined) await new Promise<void>((r) => this.listGate!.waiting.push(r));
    return answer;
  }

  async inspect(id: string): Promise<InspectInfo | undefined> {
    this.inspects += 1;
    const c = this.containers.get(id);
    const answer = c === undefined ? undefined : this.doc(c);
    if (this.holding.has(id)) await new Promise<void>((r) => this.held.set(id, [...(this.held.get(id) ?? []), r]));
    return answer;
  }

  stats(): Promise<StatsDoc> {
    return Promise.reject(new Error('no stats in the fake engine'));
  }

  openEvents(): Promise<Readable> {
    const s = new PassThrough();
    this.streams.push(s);
    return Promise.resolve(s);
  }

  get stream(): PassThrough {
    return this.streams[this.streams.length - 1]!;
  }

  /** Writes one event on the open stream (or drops it: a lost event); returns its time (unix seconds). */
  event(c: FakeContainer, action: string, opts: { lost?: boolean; exitCode?: number } = {}): number {
    const attrs: Record<string, string> = { name: c.name };
    if (opts.exitCode !== undefined) attrs.exitCode = String(opts.exitCode);
    const now = Date.now();
    const line = JSON.stringify({ Type: 'container', Action: action, Actor: { ID: c.id, Attributes: attrs }, time: Math.floor(now / 1000), timeNano: now * 1e6 });
    if (!opts.lost) this.stream.write(`${line}\n`);
    return now / 1000;
  }

  /** The container's process exits (no removal under way): its die; returns the die's time. */
  exit(c: FakeContainer, exitCode: number): number {
    c.status = 'exited';
    return this.event(c, 'die', { exitCode });
  }

  /** `docker rm -f` of a running container: die (while removal is in progress), then gone. */
  rmDie(c: FakeContainer, opts: { lost?: boolean } = {}): void {
    c.status = 'removing';
    this.event(c, 'die', { exitCode: 137, ...opts });
  }

  rmDestroy(c: FakeContainer, opts: { lost?: boolean } = {}): void {
    this.containers.delete(c.id);
    this.event(c, 'destroy', opts);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

let registry: Registry;
let engine: FakeEngine;
let collector: DockerCollector;
let tracker: AvailabilityTracker;
/** Highest outage count each container ever had, sampled every few ms while the test runs. */
let maxOutages: Map<string, number>;
let sampler: NodeJS.Timeout | undefined;

/**
 * Time scale: the collector's second look after a stream opens (SUBSCRIBE_GRACE_MS, 2 s), its
 * grace for a die that may be a removal (REMOVAL_GRACE_MS, 5 s) and its resources cycle (where
 * containers being removed are rechecked) run at a tenth, about a tenth and a fifth of their
 * usual values; the waits below follow them.
 */
const GRACE_MS = 200;
const REMOVAL_MS = 600;
const RESOURCES_MS = 200;
/** Past the second look of the current stream. */
const PAST_GRACE_MS = GRACE_MS + 200;

async function start(): Promise<void> {
  registry = new Registry();
  const clock = (): number => Date.now() / 1000;
  tracker = new AvailabilityTracker(registry, clock);
  const ctx: CollectorContext = { registry, clock, log: silentLogger(), tracker, stats: new CollectorStats(registry, clock) };
  collector = new DockerCollector(ctx, () => engine, GRACE_MS, REMOVAL_MS);
  maxOutages = new Map();
  const sample = (): void => {
    for (const v of tracker.views()) if (v.kind === 'container') maxOutages.set(v.target, Math.max(maxOutages.get(v.target) ?? 0, v.outages));
  };
  sampler = setInterval(sample, 2);
  const docker = validate({ docker: { enabled: true, host: 'tcp://127.0.0.1:9', resources_interval: `${RESOURCES_MS}ms`, reconnect_max_backoff: '1s' } }, '<test>').docker;
  await collector.apply(docker);
  sample();
}

afterEach(async () => {
  clearInterval(sampler);
  await collector?.stop();
});

/** Every series naming the container, in the registry's exposition. */
async function seriesOf(name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((l) => !l.startsWith('#') && (l.includes(`container="${name}"`) || l.includes(`target="${name}"`)));
}

async function expectForgotten(...names: string[]): Promise<void> {
  await Promise.all(names.map((name) => until(`${name} to leave the output`, async () => !tracker.has('container', name) && (await seriesOf(name)).length === 0)));
  // And none comes back (a late answer, the resources cycle's recheck): three cycles later.
  await sleep(3 * RESOURCES_MS + 100);
  for (const name of names) {
    expect([name, await seriesOf(name)]).toEqual([name, []]);
    expect([name, maxOutages.get(name) ?? 0]).toEqual([name, 0]);
  }
}

beforeEach(() => {
  engine = new FakeEngine();
});

test('rm -f: die then destroy, the die\'s inspect answered after the destroy', async () => {
  const c = engine.add('victim');
  engine.add('bystander');
  await start();
  await until('victim up', () => tracker.view('container', 'victim')?.state === 'up');
  engine.hold(c.id);
  engine.rmDie(c);
  await until('the die\'s inspect asked', () => engine.inspects >= 3);
  engine.rmDestroy(c);
  await sleep(50);
  engine.release(c.id);
  await expectForgotten('victim');
  expect(tracker.view('container', 'bystander')?.state).toBe('up');
});

test('rm -f: the destroy event is lost; the die\'s inspect (404) removes the container', async () => {
  const c = engine.add('victim');
  await start();
  await until('victim up', () => tracker.view('container', 'victim')?.state === 'up');
  // Removed before the die was handled: the die's inspect answers 404; no destroy comes.
  c.status = 'removing';
  engine.containers.delete(c.id);
  engine.event(c, 'die', { exitCode: 137 });
  await expectForgotten('victim');
});

test('rm -f: the die\'s inspect says "removing" and the destroy is lost: the recheck removes it', async () => {
  const c = engine.add('victim');
  await start();
  await until('victim up', () => tracker.view('container', 'victim')?.state === 'up');
  engine.rmDie(c);
  await sleep(100);
  engine.rmDestroy(c, { lost: true });
  await expectForgotten('victim');
});

test('a create whose inspect was answered before the destroy does not bring the container back', async () => {
  await start();
  const c = engine.add('short-lived');
  engine.hold(c.id);
  engine.event(c, 'create');
  await until('the create\'s inspect asked', () => engine.inspects >= 1);
  engine.event(c, 'start');
  engine.rmDie(c);
  engine.rmDestroy(c);
  await sleep(50);
  engine.release(c.id);
  await until('the events applied', () => engine.inspects >= 2);
  await expectForgotten('short-lived');
});

test('removed while the stream reconnects: listed and inspected before the destroy, which falls between the stream\'s headers and Docker subscribing it', async () => {
  const c = engine.add('victim');
  engine.add('bystander');
  await start();
  await until('victim up', () => tracker.view('container', 'victim')?.state === 'up');
  // (After the second look of the first stream.)
  await sleep(PAST_GRACE_MS);
  // The stream breaks; rm -f starts while the collector resyncs.
  c.status = 'removing';
  engine.hold(c.id);
  const firstStream = engine.stream;
  firstStream.destroy();
  await until('the resync inspecting the victim', () => engine.streams.length === 1 && engine.inspects >= 4);
  engine.release(c.id);
  await until('the stream open again', () => engine.streams.length === 2);
  // The destroy happens before Docker subscribed the new stream: never sent.
  engine.rmDestroy(c, { lost: true });
  await expectForgotten('victim');
  expect(tracker.view('container', 'bystander')?.state).toBe('up');
});

test('removed (die and destroy) between the new stream\'s headers and Docker subscribing it: the second look finds it gone', async () => {
  const c = engine.add('victim');
  await start();
  await until('victim up', () => tracker.view('container', 'victim')?.state === 'up');
  await sleep(PAST_GRACE_MS);
  // The stream breaks; the resync lists and opens a new one, whose gap check lists at once and
  // answers "running"; the container is removed before that answer arrives, and before Docker
  // subscribed the new stream (its die and destroy are never sent).
  const lists = engine.lists;
  engine.holdListsFrom(lists + 2);
  engine.stream.destroy();
  await until('the gap check\'s list', () => engine.streams.length === 2 && engine.lists === lists + 2);
  engine.rmDie(c, { lost: true });
  engine.rmDestroy(c, { lost: true });
  engine.releaseLists();
  await expectForgotten('victim');
});

test('every order of die, destroy and the inspects: no outage, no series left', async () => {
  // die/destroy delivered or lost, the die's inspect answered before or after the destroy.
  const cases: Array<{ dieLost: boolean; destroyLost: boolean; answerAfterDestroy: boolean }> = [];
  for (const dieLost of [false, true]) for (const destroyLost of [false, true]) for (const answerAfterDestroy of [false, true]) cases.push({ dieLost, destroyLost, answerAfterDestroy });
  const cs = cases.map((_, i) => engine.add(`c${i}`));
  await start();
  await until('all up', () => cs.every((c) => tracker.view('container', c.name)?.state === 'up'));
  cases.forEach((k, i) => {
    const c = cs[i]!;
    if (k.answerAfterDestroy) engine.hold(c.id);
    engine.rmDie(c, { lost: k.dieLost });
  });
  // (Inspects run one at a time: the first held one is asked now, answering what is true before the destroys.)
  await sleep(50);
  cases.forEach((k, i) => engine.rmDestroy(cs[i]!, { lost: k.destroyLost }));
  await sleep(30);
  for (const c of cs) engine.release(c.id);
  // A lost die and a lost destroy: nothing at all was sent; only a list finds it (the next reconnect).
  engine.stream.destroy();
  await expectForgotten(...cs.map((c) => c.name));
});

test('a plain stop is still an outage, dated at the die; the start ends it', async () => {
  const c = engine.add('stopped');
  await start();
  await until('up', () => tracker.view('container', 'stopped')?.state === 'up');
  const before = Date.now() / 1000;
  c.status = 'exited';
  engine.event(c, 'die', { exitCode: 0 });
  await until('down', () => tracker.view('container', 'stopped')?.state === 'down');
  const v = tracker.view('container', 'stopped')!;
  expect(v.outages).toBe(1);
  expect(v.downSince!).toBeGreaterThanOrEqual(Math.floor(before) - 1);
  c.status = 'running';
  engine.event(c, 'start');
  await until('up again', () => tracker.view('container', 'stopped')?.state === 'up');
  expect(tracker.view('container', 'stopped')!.outages).toBe(1);
  expect((await registry.getSingleMetric(M.containerState.name)!.get()).values.length).toBeGreaterThan(0);
});

const view = (name: string) => tracker.view('container', name);

/** The collector started with one running container, seen up. */
async function startWithOne(name: string): Promise<FakeContainer> {
  const c = engine.add(name);
  await start();
  await until(`${name} up`, () => view(name)?.state === 'up');
  return c;
}

describe('a die whose removal comes late (under load, compose down, --rm)', () => {
  test('the die\'s inspect says "exited" (the removal not visible yet); the destroy comes within the grace: no outage', async () => {
    const c = engine.add('late');
    engine.add('bystander');
    await start();
    await until('up', () => view('late')?.state === 'up');
    engine.exit(c, 137);
    // Asked and answered "exited" (and rechecked by resources cycles) while the grace runs.
    await sleep(REMOVAL_MS / 2);
    expect(view('late')?.state).toBe('up');
    engine.rmDestroy(c);
    await expectForgotten('late');
    expect(view('bystander')?.state).toBe('up');
  });

  test('a stop (exit 0) then the removal (compose down, --rm): no outage', async () => {
    const c = await startWithOne('down');
    engine.exit(c, 0);
    await sleep(REMOVAL_MS / 3);
    c.status = 'removing';
    await sleep(REMOVAL_MS / 3);
    engine.rmDestroy(c);
    await expectForgotten('down');
  });

  test('removal in progress past the grace: still no outage; a lost destroy is found by a recheck (404)', async () => {
    const c = await startWithOne('slow');
    engine.rmDie(c);
    await sleep(REMOVAL_MS * 2);
    expect(view('slow')?.outages).toBe(0);
    c.status = 'dead';
    await sleep(2 * RESOURCES_MS);
    expect(view('slow')?.outages).toBe(0);
    engine.rmDestroy(c, { lost: true });
    await expectForgotten('slow');
  });

  test('the events stream reconnects between the die and the destroy: no outage', async () => {
    const c = await startWithOne('cut');
    await sleep(PAST_GRACE_MS);
    engine.exit(c, 137);
    await until('the die\'s inspect', () => engine.inspects >= 2);
    engine.stream.destroy();
    await until('a new stream', () => engine.streams.length === 2);
    // The resync found it exited, inside the grace: still no verdict; the destroy comes on the new stream.
    c.status = 'removing';
    engine.rmDestroy(c);
    await expectForgotten('cut');
  });

  test('a resync that no longer finds the container (die seen, destroy lost): no outage', async () => {
    const c = await startWithOne('vanished');
    await sleep(PAST_GRACE_MS);
    // The die's inspect is answered only after the container is gone from the list.
    engine.hold(c.id);
    engine.exit(c, 137);
    await sleep(30);
    engine.rmDestroy(c, { lost: true });
    engine.stream.destroy();
    await sleep(30);
    // ("exited", asked before the removal): the resync queued behind it lists no container.
    engine.release(c.id);
    await until('a new stream', () => engine.streams.length === 2);
    await expectForgotten('vanished');
  });

  test('destroy without a die (created, never started; or the die lost): no outage', async () => {
    const a = engine.add('never-started', 'created');
    const b = engine.add('die-lost');
    await start();
    await until('die-lost up', () => view('die-lost')?.state === 'up');
    engine.rmDestroy(a);
    engine.rmDie(b, { lost: true });
    engine.rmDestroy(b);
    await expectForgotten('never-started', 'die-lost');
  });
  test('a container first seen by its die (its create lost), exited, then removed: no outage', async () => {
    await start();
    await sleep(PAST_GRACE_MS);
    const c = engine.add('unseen', 'running');
    engine.exit(c, 137);
    await until('adopted', () => tracker.has('container', 'unseen') || engine.inspects >= 1);
    await sleep(REMOVAL_MS / 2);
    engine.rmDestroy(c);
    await expectForgotten('unseen');
  });
});

describe('a real exit is still one outage, dated at the die', () => {
  test('a crash that stays down: one outage once the grace ends, starting at the die, not at the grace\'s end', async () => {
    const c = await startWithOne('crashed');
    const dieAt = engine.exit(c, 1);
    await until('down', () => view('crashed')?.state === 'down', REMOVAL_MS + 3000);
    const seenAt = Date.now() / 1000;
    const v = view('crashed')!;
    expect(v.outages).toBe(1);
    expect(v.downSince).toBeCloseTo(dieAt, 2);
    // Found only after the grace: dated well before it was decided.
    expect(seenAt - v.downSince!).toBeGreaterThanOrEqual(REMOVAL_MS / 1000 - 0.05);
    expect(v.lastError).toBe('container exited');
    // Later cycles do not count it again; the start ends it, the recovery lasting from the die.
    await sleep(3 * RESOURCES_MS);
    c.status = 'running';
    const startAt = engine.event(c, 'start');
    await until('up again', () => view('crashed')?.state === 'up');
    const after = view('crashed')!;
    expect(after.outages).toBe(1);
    expect(after.downtimeSeconds).toBeCloseTo(startAt - dieAt, 1);
    const restarts = (await registry.getSingleMetric(M.containerRestarts.name)!.get()).values.find((x) => x.labels.container === 'crashed');
    expect(restarts?.value).toBe(1);
  });

  test('restart policy: die then start within the grace is one outage from the die to the start, and one restart', async () => {
    const c = await startWithOne('restarted');
    // The die's inspect is answered late, after the start: it says running.
    engine.hold(c.id);
    const dieAt = engine.exit(c, 3);
    await sleep(80);
    c.status = 'running';
    const startAt = engine.event(c, 'start');
    await sleep(20);
    engine.release(c.id);
    await until('the outage counted', () => (view('restarted')?.outages ?? 0) === 1);
    await until('up again', () => view('restarted')?.state === 'up');
    const v = view('restarted')!;
    expect(v.outages).toBe(1);
    expect(v.downtimeSeconds).toBeCloseTo(startAt - dieAt, 2);
    await sleep(REMOVAL_MS + 2 * RESOURCES_MS);
    expect(view('restarted')!.outages).toBe(1);
    const restarts = (await registry.getSingleMetric(M.containerRestarts.name)!.get()).values.find((x) => x.labels.container === 'restarted');
    expect(restarts?.value).toBe(1);
  });

  test('restart policy: the die\'s inspect says "restarting": the outage is known at once, from the die', async () => {
    const c = await startWithOne('looping');
    c.status = 'restarting';
    const dieAt = engine.event(c, 'die', { exitCode: 3 });
    // Well inside the grace.
    await until('down', () => view('looping')?.state === 'down', REMOVAL_MS / 2);
    expect(view('looping')!.downSince).toBeCloseTo(dieAt, 2);
    c.status = 'running';
    engine.event(c, 'start');
    await until('up again', () => view('looping')?.state === 'up');
    expect(view('looping')!.outages).toBe(1);
  });

  test('every order of die, start and destroy over three containers at once: only the real exits count', async () => {
    const crash = engine.add('o-crash');
    const restart = engine.add('o-restart');
    const removed = engine.add('o-removed');
    await start();
    await until('all up', () => ['o-crash', 'o-restart', 'o-removed'].every((n) => view(n)?.state === 'up'));
    for (const c of [crash, restart, removed]) {
      c.status = 'exited';
      engine.event(c, 'die', { exitCode: 137 });
    }
    await sleep(REMOVAL_MS / 3);
    restart.status = 'running';
    engine.event(restart, 'start');
    engine.rmDestroy(removed);
    await until('the crash down', () => view('o-crash')?.state === 'down', REMOVAL_MS + 3000);
    await expectForgotten('o-removed');
    expect([view('o-crash')?.outages, view('o-restart')?.outages, view('o-restart')?.state]).toEqual([1, 1, 'up']);
  });
});
