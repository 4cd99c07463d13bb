import {
  applyEvent, applyInspect, available, createdRecord, dockerTime, exitSignal, matches, parseEventLine, recordFromInspect,
  type ContainerRecord, type DockerEvent, type InspectInfo,
} from '../../src/collectors/docker-state';

const ID = 'a'.repeat(64);

function info(over: Partial<NonNullable<InspectInfo['State']>> = {}, extra: Partial<InspectInfo> = {}): InspectInfo {
  return {
    Id: ID, Name: '/web', RestartCount: 0,
    Config: { Image: 'img:1', Labels: { 'com.docker.compose.project': 'shop' }, Healthcheck: null },
    State: {
      Status: 'running', Running: true, Pid: 42, ExitCode: 0, OOMKilled: false,
      StartedAt: '2026-01-01T00:00:00.123456789Z', FinishedAt: '0001-01-01T00:00:00Z', ...over,
    },
    ...extra,
  };
}

let t = 1000;
function ev(action: string, attributes: Record<string, string> = {}): DockerEvent {
  t += 1;
  return { id: ID, action, time: t, attributes };
}

describe('parseEventLine', () => {
  test('a container event: action, id, time from timeNano, attributes', () => {
    const line = JSON.stringify({
      status: 'die', id: ID, Type: 'container', Action: 'die',
      Actor: { ID, Attributes: { exitCode: '3', name: 'web', image: 'img:1' } }, scope: 'local', time: 1795358884, timeNano: 1795358884202314000, unknownField: { x: 1 },
    });
    const p = parseEventLine(line);
    expect(p.kind).toBe('event');
    if (p.kind !== 'event') return;
    expect(p.event.action).toBe('die');
    expect(p.event.id).toBe(ID);
    expect(p.event.time).toBeCloseTo(1795358884.2023, 3);
    expect(p.event.attributes).toEqual({ exitCode: '3', name: 'web', image: 'img:1' });
  });

  test('health_status carries the status after the colon', () => {
    const p = parseEventLine(JSON.stringify({ Type: 'container', Action: 'health_status: unhealthy', Actor: { ID, Attributes: {} }, time: 5 }));
    expect(p).toEqual({ kind: 'event', event: { id: ID, action: 'health_status', health: 'unhealthy', time: 5, attributes: {} } });
  });

  test('other types and health-check exec events are ignored, not errors', () => {
    expect(parseEventLine(JSON.stringify({ Type: 'network', Action: 'connect', Actor: { ID: 'n', Attributes: {} }, time: 1 })).kind).toBe('other');
    expect(parseEventLine(JSON.stringify({ Type: 'container', Action: 'exec_start: /bin/sh -c true', Actor: { ID, Attributes: {} }, time: 1 })).kind).toBe('other');
  });

  test('garbage is bad', () => {
    expect(parseEventLine('{"Type":"container",').kind).toBe('bad');
    expect(parseEventLine('[1,2]').kind).toBe('bad');
    expect(parseEventLine('"text"').kind).toBe('bad');
    expect(parseEventLine(JSON.stringify({ Type: 'container', Action: 'start', Actor: { ID } })).kind).toBe('bad'); // no time
    expect(parseEventLine(JSON.stringify({ Type: 'container', Action: 'health_status: weird', Actor: { ID }, time: 1 })).kind).toBe('bad');
  });
});

describe('dockerTime', () => {
  test('keeps sub-millisecond digits; zero time is undefined', () => {
    expect(dockerTime('2026-01-01T00:00:00.123456789Z')).toBeCloseTo(Date.UTC(2026, 0, 1) / 1000 + 0.123456789, 6);
    expect(dockerTime('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(dockerTime('nonsense')).toBeUndefined();
  });
});

describe('events → state', () => {
  let rec: ContainerRecord;
  beforeEach(() => {
    rec = recordFromInspect(info());
  });

  test('record from inspect: name without slash, labels, started-at, counters from Docker', () => {
    const r = recordFromInspect(info({ OOMKilled: true, Status: 'exited', Running: false, ExitCode: 137, FinishedAt: '2026-01-01T00:01:00Z' }, { RestartCount: 4 }));
    expect(r.name).toBe('web');
    expect(r.state).toBe('exited');
    expect(r.restarts).toBe(4);
    expect(r.oomKills).toBe(1);
    expect(r.exitCode).toBe(137);
    expect(r.sawDie).toBe(true);
  });

  test('crash loop: every die→start is a restart; die sets the exit code; state follows', () => {
    applyEvent(rec, ev('die', { exitCode: '3' }));
    expect(rec.state).toBe('exited');
    expect(rec.exitCode).toBe(3);
    // A die alone is no verdict (`docker rm -f` kills first, `compose down` removes after the
    // exit): an inspect saying "exited" decides only once the collector's grace is over.
    expect(available(rec)).toBeUndefined();
    expect(rec.dieAt).toBe(t);
    applyInspect(rec, info({ Status: 'exited', Running: false, ExitCode: 3, FinishedAt: '2026-01-01T00:01:00Z' }), 'refresh');
    expect(available(rec)).toBeUndefined();
    applyInspect(rec, info({ Status: 'exited', Running: false, ExitCode: 3, FinishedAt: '2026-01-01T00:01:00Z' }), 'refresh', false, true);
    expect(available(rec)).toBe(false);
    applyEvent(rec, ev('start'));
    expect(rec.restarts).toBe(1);
    expect(rec.state).toBe('running');
    expect(rec.startedAt).toBe(t);
    applyEvent(rec, ev('start')); // a start without a die before it is not a restart
    expect(rec.restarts).toBe(1);
    applyEvent(rec, ev('die', { exitCode: '1' }));
    applyEvent(rec, ev('start'));
    expect(rec.restarts).toBe(2);
    // the refresh after the start sees a running container with ExitCode 0: the last exit stays 1
    applyInspect(rec, info({ Status: 'running', Running: true, ExitCode: 0, FinishedAt: '2026-01-01T00:01:00Z' }), 'refresh');
    expect(rec.exitCode).toBe(1);
    applyInspect(rec, info({ Status: 'exited', Running: false, ExitCode: 4, FinishedAt: '2026-01-01T00:02:00Z' }), 'sync');
    expect(rec.exitCode).toBe(4);
  });

  test('health: starting after start when there is a health check, then health_status events', () => {
    rec.hasHealthcheck = true;
    applyEvent(rec, ev('start'));
    expect(rec.health).toBe('starting');
    expect(available(rec)).toBeUndefined();
    applyEvent(rec, { ...ev('health_status'), health: 'unhealthy' });
    expect(available(rec)).toBe(false);
    applyEvent(rec, { ...ev('health_status'), health: 'healthy' });
    expect(available(rec)).toBe(true);
  });

  test('rm -f: a die whose inspect says "removing" stays no verdict, even with events queued; an exit found with events queued is one', () => {
    applyEvent(rec, ev('die', { exitCode: '137' }));
    applyInspect(rec, info({ Status: 'removing', Running: false, ExitCode: 137, FinishedAt: '2026-01-01T00:01:00Z' }), 'refresh', true);
    expect(available(rec)).toBeUndefined();
    applyInspect(rec, info({ Status: 'removing', Running: false, ExitCode: 137, FinishedAt: '2026-01-01T00:01:00Z' }), 'sync');
    expect(rec.state).toBe('removing');
    expect(available(rec)).toBeUndefined();
    // Past the grace too: a removal stays no verdict.
    applyInspect(rec, info({ Status: 'removing', Running: false, ExitCode: 137, FinishedAt: '2026-01-01T00:01:00Z' }), 'refresh', false, true);
    expect(available(rec)).toBeUndefined();
    // "dead": Docker tearing the container down (or having failed to): a removal as well.
    applyInspect(rec, info({ Status: 'dead', Running: false, Dead: true, ExitCode: 137, FinishedAt: '2026-01-01T00:01:00Z' }), 'refresh', false, true);
    expect(available(rec)).toBeUndefined();
    const other = recordFromInspect(info());
    applyEvent(other, ev('die', { exitCode: '137' }));
    applyInspect(other, info({ Status: 'exited', Running: false, ExitCode: 137, FinishedAt: '2026-01-01T00:01:00Z' }), 'refresh', true);
    expect(available(other)).toBeUndefined();
    applyInspect(other, info({ Status: 'exited', Running: false, ExitCode: 137, FinishedAt: '2026-01-01T00:01:00Z' }), 'refresh', true, true);
    expect(available(other)).toBe(false);
  });

  test('a held die: restarting or running again settles it as an exit at once; a second die keeps the first one\'s time', () => {
    expect(exitSignal(info({ Status: 'restarting', Running: true, Restarting: true }))).toBe('exit');
    expect(exitSignal(info({ Status: 'running', Running: true }))).toBe('exit');
    expect(exitSignal(info({ Status: 'paused', Running: true, Paused: true }))).toBe('exit');
    expect(exitSignal(info({ Status: 'exited', Running: false }))).toBe('unsure');
    expect(exitSignal(info({ Status: 'created', Running: false }))).toBe('unsure');
    expect(exitSignal(info({ Status: 'removing', Running: false }))).toBe('removal');
    expect(exitSignal(info({ Status: 'dead', Running: false, Dead: true }))).toBe('removal');
    // Older engines without Status: the flags say the same.
    expect(exitSignal(info({ Status: undefined, Running: false, Dead: true }))).toBe('removal');
    applyEvent(rec, ev('die', { exitCode: '1' }));
    applyInspect(rec, info({ Status: 'restarting', Running: true, Restarting: true, ExitCode: 1, FinishedAt: '2026-01-01T00:01:00Z' }), 'refresh', true);
    expect(rec.exitUnconfirmed).toBe(false);
    expect(available(rec)).toBe(false);
    applyEvent(rec, ev('start'));
    const first = ev('die', { exitCode: '1' });
    applyEvent(rec, first);
    applyEvent(rec, ev('die', { exitCode: '1' }));
    expect(rec.dieAt).toBe(first.time);
    expect(t).toBeGreaterThan(first.time);
    // A start settles it (a container being removed is never started again).
    applyEvent(rec, ev('start'));
    expect(rec.exitUnconfirmed).toBe(false);
    expect(available(rec)).toBe(true);
  });

  test('pause/unpause, destroy', () => {
    applyEvent(rec, ev('pause'));
    expect(rec.state).toBe('paused');
    expect(available(rec)).toBe(false);
    applyEvent(rec, ev('unpause'));
    expect(rec.state).toBe('running');
    expect(applyEvent(rec, ev('destroy')).remove).toBe(true);
  });

  test('OOM: the event counts; State.OOMKilled of the same exit does not count again at a sync', () => {
    applyEvent(rec, ev('oom'));
    applyEvent(rec, ev('die', { exitCode: '137' }));
    expect(rec.oomKills).toBe(1);
    applyInspect(rec, info({ Status: 'exited', Running: false, OOMKilled: true, ExitCode: 137, FinishedAt: '2026-01-01T00:01:00Z' }), 'sync');
    expect(rec.oomKills).toBe(1);
    // A second sync of the same exit changes nothing either.
    applyInspect(rec, info({ Status: 'exited', Running: false, OOMKilled: true, ExitCode: 137, FinishedAt: '2026-01-01T00:01:00Z' }), 'sync');
    expect(rec.oomKills).toBe(1);
  });

  test('a burst of oom events (one per process killed, even after the die) is one OOM kill; a later one counts again', () => {
    applyEvent(rec, ev('die', { exitCode: '137' }));
    for (let i = 0; i < 10; i++) applyEvent(rec, { ...ev('oom'), time: 5000 + i * 0.01 });
    expect(rec.oomKills).toBe(1);
    // The container survived an OOM kill of a child and another comes much later in the same run.
    applyEvent(rec, { ...ev('oom'), time: 5000 + 60 });
    expect(rec.oomKills).toBe(2);
    // A new run: its first oom event counts at once.
    applyEvent(rec, { ...ev('start'), time: 5070 });
    applyEvent(rec, { ...ev('oom'), time: 5071 });
    expect(rec.oomKills).toBe(3);
  });

  test('OOM missed while disconnected is counted from State.OOMKilled at the sync, once', () => {
    const exited = info({ Status: 'exited', Running: false, OOMKilled: true, ExitCode: 137, FinishedAt: '2026-01-01T00:02:00Z' });
    applyInspect(rec, exited, 'sync');
    expect(rec.oomKills).toBe(1);
    applyInspect(rec, exited, 'sync');
    expect(rec.oomKills).toBe(1);
    // Restarted and OOM-killed again (events seen): the new exit counts once.
    applyEvent(rec, ev('start'));
    applyEvent(rec, ev('oom'));
    applyEvent(rec, ev('die', { exitCode: '137' }));
    applyInspect(rec, { ...exited, State: { ...exited.State, FinishedAt: '2026-01-01T00:03:00Z' } }, 'sync');
    expect(rec.oomKills).toBe(2);
  });

  test('refresh never touches counters (an oom event may still be queued)', () => {
    applyInspect(rec, info({ Status: 'exited', Running: false, OOMKilled: true, FinishedAt: '2026-01-01T00:01:00Z' }, { RestartCount: 9 }), 'refresh');
    expect(rec.oomKills).toBe(0);
    expect(rec.restarts).toBe(0);
    expect(rec.state).toBe('exited');
  });

  test('refresh leaves the state to queued events of the same container', () => {
    applyEvent(rec, ev('die', { exitCode: '1' }));
    applyInspect(rec, info({ Status: 'running', Pid: 77 }), 'refresh', true);
    expect(rec.state).toBe('exited');
    applyInspect(rec, info({ Status: 'restarting', Running: true, Pid: 0 }), 'refresh', false);
    expect(rec.state).toBe('restarting');
  });

  test('sync reconciles restarts with RestartCount: missed ones are added, seen ones not twice', () => {
    // Two restarts seen as events, Docker counted two: nothing to add.
    for (let i = 0; i < 2; i++) {
      applyEvent(rec, ev('die', { exitCode: '1' }));
      applyEvent(rec, ev('start'));
    }
    applyInspect(rec, info({}, { RestartCount: 2 }), 'sync');
    expect(rec.restarts).toBe(2);
    // Three more while the stream was down: all added.
    applyInspect(rec, info({}, { RestartCount: 5 }), 'sync');
    expect(rec.restarts).toBe(5);
    // A manual start reset RestartCount: the counter never goes down.
    applyInspect(rec, info({}, { RestartCount: 0 }), 'sync');
    expect(rec.restarts).toBe(5);
    applyInspect(rec, info({}, { RestartCount: 1 }), 'sync');
    expect(rec.restarts).toBe(6);
  });

  test('a restart Docker has already counted (state restarting at the sync) is not counted again at its start', () => {
    applyInspect(rec, info({ Status: 'restarting', Running: true }, { RestartCount: 1 }), 'sync');
    expect(rec.restarts).toBe(1);
    applyEvent(rec, ev('start'));
    expect(rec.restarts).toBe(1);
  });

  test('a container created while watching starts from zero, whatever inspect already shows', () => {
    const r = createdRecord(info({ Status: 'running' }, { RestartCount: 1 }));
    expect(r.restarts).toBe(0);
    expect(r.state).toBe('created');
    expect(available(r)).toBeUndefined();
    applyEvent(r, ev('start'));
    expect(r.restarts).toBe(0);
  });
});

describe('filters', () => {
  const f = (o: Partial<Parameters<typeof matches>[0]> = {}): Parameters<typeof matches>[0] => ({ include: [], exclude: [], labels: {}, ...o });
  test('include, exclude, labels, compose project', () => {
    expect(matches(f(), 'any', {})).toBe(true);
    expect(matches(f({ include: [/^back/, /^mosq/] }), 'backend', {})).toBe(true);
    expect(matches(f({ include: [/^back/] }), 'web', {})).toBe(false);
    expect(matches(f({ exclude: [/-test$/] }), 'web-test', {})).toBe(false);
    expect(matches(f({ labels: { tier: 'api' } }), 'x', { tier: 'api' })).toBe(true);
    expect(matches(f({ labels: { tier: 'api' } }), 'x', { tier: 'db' })).toBe(false);
    expect(matches(f({ labels: { monitored: '' } }), 'x', { monitored: 'whatever' })).toBe(true);
    expect(matches(f({ labels: { monitored: '' } }), 'x', {})).toBe(false);
    expect(matches(f({ composeProject: 'shop' }), 'x', { 'com.docker.compose.project': 'shop' })).toBe(true);
    expect(matches(f({ composeProject: 'shop' }), 'x', {})).toBe(false);
  });
});
