/**
 * The per-container state machine of the Docker collector: Docker events and inspect results
 * in, container records out. Pure (no I/O, no metrics) so every transition is unit-tested;
 * ./docker.ts turns records into series and availability observations.
 */

import { CONTAINER_HEALTH_STATES, CONTAINER_STATES as STATES } from '../metrics/definitions';

export const CONTAINER_STATES = STATES.values;
export type ContainerState = (typeof CONTAINER_STATES)[number];
export const HEALTH_STATES = CONTAINER_HEALTH_STATES.values;
export type HealthState = (typeof HEALTH_STATES)[number];

export const COMPOSE_PROJECT = 'com.docker.compose.project';
/** oom events of one container closer together than this are one OOM kill. */
export const OOM_BURST_SECONDS = 10;
export const COMPOSE_SERVICE = 'com.docker.compose.service';

/** A container event from the events stream, reduced to what the collector uses. */
export interface DockerEvent {
  id: string;
  /** create, start, die, oom, pause, unpause, destroy, rename, health_status, ... */
  action: string;
  /** For health_status events: the new status. */
  health?: HealthState;
  /** Unix seconds (from timeNano when present). */
  time: number;
  attributes: Record<string, string>;
}

export type ParsedLine = { kind: 'event'; event: DockerEvent } | { kind: 'other' } | { kind: 'bad'; reason: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses one line of the events stream. Events of other types (network, image, ...) and exec
 * events of health checks are `other`; anything that is not a JSON event object is `bad`.
 * Unknown fields are ignored.
 */
export function parseEventLine(line: string): ParsedLine {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return { kind: 'bad', reason: 'invalid json' };
  }
  if (!isRecord(doc)) return { kind: 'bad', reason: 'not an object' };
  const type = doc.Type ?? doc.type;
  const actor = isRecord(doc.Actor) ? doc.Actor : undefined;
  const id = typeof actor?.ID === 'string' ? actor.ID : typeof doc.id === 'string' ? doc.id : undefined;
  const rawAction = typeof doc.Action === 'string' ? doc.Action : typeof doc.status === 'string' ? doc.status : undefined;
  if (rawAction === undefined || id === undefined) return { kind: 'bad', reason: 'missing action or id' };
  if (type !== undefined && type !== 'container') return { kind: 'other' };
  let time: number | undefined;
  if (typeof doc.timeNano === 'number' && Number.isFinite(doc.timeNano)) time = doc.timeNano / 1e9;
  else if (typeof doc.time === 'number' && Number.isFinite(doc.time)) time = doc.time;
  if (time === undefined) return { kind: 'bad', reason: 'missing time' };
  const attributes: Record<string, string> = {};
  if (isRecord(actor?.Attributes)) {
    for (const [k, v] of Object.entries(actor.Attributes)) if (typeof v === 'string') attributes[k] = v;
  }
  const colon = rawAction.indexOf(':');
  const action = (colon === -1 ? rawAction : rawAction.slice(0, colon)).trim();
  if (action.startsWith('exec_')) return { kind: 'other' };
  const event: DockerEvent = { id, action, time, attributes };
  if (action === 'health_status') {
    const h = colon === -1 ? attributes.health_status : rawAction.slice(colon + 1).trim();
    if (h === undefined || !(HEALTH_STATES as readonly string[]).includes(h)) return { kind: 'bad', reason: 'unknown health status' };
    event.health = h as HealthState;
  }
  return { kind: 'event', event };
}

/** The fields of `GET /containers/{id}/json` the collector uses; everything else is ignored. */
export interface InspectInfo {
  Id: string;
  Name?: string;
  RestartCount?: number;
  Config?: { Image?: string; Labels?: Record<string, string> | null; Healthcheck?: { Test?: string[] | null } | null } | null;
  State?: {
    Status?: string;
    Running?: boolean;
    Paused?: boolean;
    Restarting?: boolean;
    OOMKilled?: boolean;
    Dead?: boolean;
    Pid?: number;
    ExitCode?: number;
    StartedAt?: string;
    FinishedAt?: string;
    Health?: { Status?: string } | null;
  } | null;
}

export interface ContainerRecord {
  id: string;
  /** Without the leading slash. */
  name: string;
  image: string;
  labels: Record<string, string>;
  state: ContainerState;
  health: HealthState;
  hasHealthcheck: boolean;
  exitCode?: number;
  startedAt?: number;
  pid: number;
  restarts: number;
  oomKills: number;
  /** A die was seen since the last start (the next start is a restart). */
  sawDie: boolean;
  /**
   * A die was seen and it is not known yet whether the container is being removed (`docker rm
   * -f` kills it first, `compose down` stops then removes it, `--rm` removes it once it exited):
   * until a start, an inspect (see exitSignal) or the end of the collector's grace settles it,
   * the exit is no verdict.
   */
  exitUnconfirmed: boolean;
  /** Time of that die (unix seconds): a confirmed exit's outage starts there. */
  dieAt?: number;
  /** An oom event was counted since the last start (State.OOMKilled must not count it again). */
  oomSinceStart: boolean;
  /** Time of the last oom event (a burst of them counts once). */
  lastOomAt?: number;
  /** FinishedAt of the exit whose OOM kill was counted. */
  oomFinishedAt?: string;
  /** RestartCount at the last full sync, and die→start pairs counted from events since then. */
  syncedRestartCount: number;
  eventRestartsSinceSync: number;
}

export function nameOf(raw: string | undefined, id: string): string {
  const n = (raw ?? '').replace(/^\//, '');
  return n === '' ? id.slice(0, 12) : n;
}

/** Docker's zero time (0001-01-01...) and unparseable times are undefined. */
export function dockerTime(s: string | undefined): number | undefined {
  if (s === undefined || s.startsWith('0001-')) return undefined;
  const ms = Date.parse(s);
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  // Date.parse keeps milliseconds; recover the sub-millisecond digits Docker sends.
  const frac = /\.(\d+)Z$/.exec(s)?.[1];
  if (frac === undefined || frac.length <= 3) return ms / 1000;
  return Math.floor(ms / 1000) + Number(`0.${frac}`);
}

function stateOf(info: InspectInfo): ContainerState {
  const s = info.State?.Status;
  if (s !== undefined && (CONTAINER_STATES as readonly string[]).includes(s)) return s as ContainerState;
  const st = info.State;
  if (st?.Dead) return 'dead';
  if (st?.Restarting) return 'restarting';
  if (st?.Paused) return 'paused';
  if (st?.Running) return 'running';
  return 'exited';
}

function healthOf(info: InspectInfo): HealthState {
  const h = info.State?.Health?.Status;
  return h !== undefined && (HEALTH_STATES as readonly string[]).includes(h) ? (h as HealthState) : 'none';
}

function hasHealthcheck(info: InspectInfo): boolean {
  const test = info.Config?.Healthcheck?.Test;
  if (test === undefined || test === null || test.length === 0) return info.State?.Health != null;
  return test[0] !== 'NONE';
}

/**
 * A record for a container seen for the first time (at start-up, after a reconnect, or when
 * it was created). Counters start from what Docker already knows: RestartCount, and one OOM
 * kill when its last exit was one.
 */
export function recordFromInspect(info: InspectInfo): ContainerRecord {
  const oom = info.State?.OOMKilled === true;
  const rec: ContainerRecord = {
    id: info.Id,
    name: nameOf(info.Name, info.Id),
    image: info.Config?.Image ?? '',
    labels: { ...(info.Config?.Labels ?? {}) },
    state: stateOf(info),
    health: healthOf(info),
    hasHealthcheck: hasHealthcheck(info),
    pid: info.State?.Pid ?? 0,
    restarts: info.RestartCount ?? 0,
    oomKills: oom ? 1 : 0,
    sawDie: stateOf(info) === 'exited',
    exitUnconfirmed: false,
    oomSinceStart: oom,
    syncedRestartCount: info.RestartCount ?? 0,
    eventRestartsSinceSync: 0,
  };
  if (oom && info.State?.FinishedAt !== undefined) rec.oomFinishedAt = info.State.FinishedAt;
  fillTimes(rec, info);
  return rec;
}

/**
 * A record for a container created while the events stream is open: its counters start at
 * zero and its events (perhaps already queued behind the create) bring it up to date.
 */
export function createdRecord(info: InspectInfo): ContainerRecord {
  const rec = recordFromInspect(info);
  rec.restarts = 0;
  rec.oomKills = 0;
  rec.syncedRestartCount = 0;
  rec.eventRestartsSinceSync = 0;
  rec.sawDie = false;
  rec.oomSinceStart = false;
  delete rec.oomFinishedAt;
  rec.state = 'created';
  rec.health = 'none';
  rec.pid = 0;
  delete rec.exitCode;
  delete rec.startedAt;
  return rec;
}

function fillTimes(rec: ContainerRecord, info: InspectInfo): void {
  const started = dockerTime(info.State?.StartedAt);
  if (started !== undefined) rec.startedAt = started;
  const finished = dockerTime(info.State?.FinishedAt);
  // A running (or restarting) container reports ExitCode 0 although its last run ended otherwise:
  // only an exited container's code is its last exit code; otherwise keep the one from the die event.
  const stopped = info.State?.Running !== true && info.State?.Restarting !== true;
  if (finished !== undefined && stopped && info.State?.ExitCode !== undefined) rec.exitCode = info.State.ExitCode;
}

export interface EventEffect {
  /** The container is gone: drop its series. */
  remove: boolean;
  /** Re-read the container (pid, health, restarting vs exited, name). */
  refresh: boolean;
}

/** Applies one event to a known container's record. */
export function applyEvent(rec: ContainerRecord, ev: DockerEvent): EventEffect {
  switch (ev.action) {
    case 'create':
      rec.state = 'created';
      return { remove: false, refresh: true };
    case 'start':
      if (rec.sawDie) {
        rec.restarts += 1;
        rec.eventRestartsSinceSync += 1;
      }
      rec.sawDie = false;
      // Started again: it is not being removed (a removal cannot be undone).
      rec.exitUnconfirmed = false;
      rec.oomSinceStart = false;
      rec.state = 'running';
      rec.health = rec.hasHealthcheck ? 'starting' : 'none';
      rec.startedAt = ev.time;
      return { remove: false, refresh: true };
    case 'die': {
      rec.sawDie = true;
      // (A second die before any start: the outage still starts at the first.)
      if (!rec.exitUnconfirmed) rec.dieAt = ev.time;
      rec.exitUnconfirmed = true;
      rec.state = 'exited';
      rec.pid = 0;
      const code = Number(ev.attributes.exitCode);
      if (ev.attributes.exitCode !== undefined && Number.isInteger(code)) rec.exitCode = code;
      return { remove: false, refresh: true };
    }
    case 'oom':
      // The kernel's OOM notifications for a cgroup can come in bursts (one per process killed,
      // several per memory exhaustion, sometimes after the die): a burst counts once.
      if (!rec.oomSinceStart || rec.lastOomAt === undefined || ev.time - rec.lastOomAt >= OOM_BURST_SECONDS) rec.oomKills += 1;
      rec.lastOomAt = ev.time;
      rec.oomSinceStart = true;
      return { remove: false, refresh: false };
    case 'pause':
      rec.state = 'paused';
      return { remove: false, refresh: false };
    case 'unpause':
      rec.state = 'running';
      return { remove: false, refresh: false };
    case 'health_status':
      if (ev.health !== undefined) rec.health = ev.health;
      return { remove: false, refresh: false };
    case 'destroy':
      rec.state = 'removing';
      return { remove: true, refresh: false };
    case 'rename':
    case 'update':
      return { remove: false, refresh: true };
    default:
      return { remove: false, refresh: false };
  }
}

/**
 * What an inspect says about a die whose verdict is held:
 * - `removal`: the container is being removed (Docker says "removing" while the removal is in
 *   progress and "dead" while it tears the container down, or when tearing down failed);
 * - `exit`: it runs again, or Docker is restarting it: the die was an exit;
 * - `unsure`: exited (or created) — a removal may still follow (`compose down` and `--rm` remove
 *   only after the exit, and under load a `docker rm -f` can be answered so too).
 * (An inspect that finds no container at all is a removal too; the collector sees that itself.)
 */
export function exitSignal(info: InspectInfo): 'removal' | 'exit' | 'unsure' {
  const s = stateOf(info);
  if (s === 'removing' || s === 'dead') return 'removal';
  if (s === 'exited' || s === 'created') return 'unsure';
  return 'exit';
}

/**
 * Applies an inspect result to a known container.
 * - `refresh` (after an event): takes state, health, pid and times; when more events of this
 *   container are already queued (`eventsPending`), the state is left to them. Counters are
 *   never changed here: an oom or die event may still be on its way.
 * - `sync` (at start-up and after every reconnect, with no events in flight): also reconciles
 *   the counters with what happened while the events stream was down: restarts Docker counted
 *   in RestartCount beyond those seen as events, and an OOM kill not seen as an event.
 * A held die (exitUnconfirmed) is confirmed by an inspect saying `exit`, or `unsure` once the
 * collector's grace for it is over (`graceOver`); a `removal` keeps it held.
 */
export function applyInspect(rec: ContainerRecord, info: InspectInfo, mode: 'refresh' | 'sync', eventsPending = false, graceOver = false): void {
  rec.name = nameOf(info.Name, info.Id);
  rec.image = info.Config?.Image ?? rec.image;
  rec.labels = { ...(info.Config?.Labels ?? {}) };
  rec.hasHealthcheck = hasHealthcheck(info);
  // Whether the container is being removed is known now, whatever events are still queued.
  const signal = exitSignal(info);
  if (signal === 'exit' || (signal === 'unsure' && graceOver)) rec.exitUnconfirmed = false;
  if (!(mode === 'refresh' && eventsPending)) {
    rec.state = stateOf(info);
    rec.health = healthOf(info);
    rec.pid = info.State?.Pid ?? 0;
    fillTimes(rec, info);
  }
  if (mode !== 'sync') return;
  const rc = info.RestartCount ?? 0;
  if (rc >= rec.syncedRestartCount) {
    const missed = rc - rec.syncedRestartCount - rec.eventRestartsSinceSync;
    if (missed > 0) rec.restarts += missed;
  }
  // RestartCount went down: someone started the container by hand, which resets it.
  rec.syncedRestartCount = rc;
  rec.eventRestartsSinceSync = 0;
  const finished = info.State?.FinishedAt;
  if (info.State?.OOMKilled === true && finished !== undefined && finished !== rec.oomFinishedAt) {
    if (!rec.oomSinceStart) rec.oomKills += 1;
    rec.oomFinishedAt = finished;
  }
  if (info.State?.OOMKilled === true) rec.oomSinceStart = true;
  // A start after an exit counts as a restart; after `restarting` Docker has already counted it.
  rec.sawDie = rec.state === 'exited';
}

/**
 * Whether a container counts as up: running and not unhealthy. A health check still
 * `starting`, or a container created but not started yet, gives no verdict (an outage in
 * progress continues until it is healthy). Neither does a container being removed, nor one
 * whose die may be the first step of a `docker rm -f` (it leaves; it did not fail).
 */
export function available(rec: Pick<ContainerRecord, 'state' | 'health' | 'exitUnconfirmed'>): boolean | undefined {
  // Created but never started: nothing has failed yet.
  if (rec.state === 'created' || rec.state === 'removing' || rec.exitUnconfirmed) return undefined;
  if (rec.state !== 'running') return false;
  if (rec.health === 'unhealthy') return false;
  if (rec.health === 'starting') return undefined;
  return true;
}

/** A compiled name pattern (matched in linear time in the collector, see src/user-regex.ts). */
export interface NamePattern {
  test(name: string): boolean;
}

export interface Filters {
  include: NamePattern[];
  exclude: NamePattern[];
  labels: Record<string, string>;
  composeProject?: string;
}

/**
 * Whether a container is watched: its name matches an include pattern (all when none),
 * no exclude pattern, every configured label (an empty value only requires the label to
 * exist) and the compose project when one is configured.
 */
export function matches(f: Filters, name: string, labels: Record<string, string>): boolean {
  if (f.include.length > 0 && !f.include.some((r) => r.test(name))) return false;
  if (f.exclude.some((r) => r.test(name))) return false;
  for (const [k, v] of Object.entries(f.labels)) {
    const got = labels[k];
    if (got === undefined || (v !== '' && got !== v)) return false;
  }
  if (f.composeProject !== undefined && labels[COMPOSE_PROJECT] !== f.composeProject) return false;
  return true;
}
