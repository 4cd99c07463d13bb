import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { requireDockerode } from './docker-require';
import { LineSplitter } from './docker-lines';
import type { InspectInfo } from './docker-state';
import type { StatsDoc } from './docker-resources';

/**
 * The connection to a Docker engine: the client, the requests the Docker collector makes (list,
 * inspect, one-shot stats, each bounded by `api_timeout` and the collector's stop signal) and
 * the events stream read line by line.
 */

/** Longest events stream line kept; container events carry all labels, so allow plenty. */
export const MAX_EVENT_LINE_BYTES = 1024 * 1024;

const EVENT_FILTERS: Docker.GetEventsOptions['filters'] = {
  type: ['container'],
  event: ['create', 'start', 'die', 'oom', 'pause', 'unpause', 'destroy', 'rename', 'update', 'health_status'],
};

/**
 * A Docker client for `host`. dockerode is loaded only when a Docker engine is actually watched,
 * and without its ssh2 and gRPC parts (./docker-require.ts).
 */
function dockerClient(host: string): Docker {
  const Dockerode = requireDockerode();
  return new Dockerode(dockerOptions(host));
}

/** Options for the Docker client from `host`, ignoring DOCKER_* variables of the environment. */
export function dockerOptions(host: string): Docker.DockerOptions {
  const none = { host: undefined, port: undefined, socketPath: undefined, ca: undefined, cert: undefined, key: undefined, timeout: undefined };
  if (host.startsWith('unix://')) return { ...none, socketPath: host.slice('unix://'.length), protocol: 'http' };
  const u = new URL(host.replace(/^tcp:/, 'http:'));
  return { ...none, host: u.hostname, port: u.port || (u.protocol === 'https:' ? 2376 : 2375), protocol: u.protocol === 'https:' ? 'https' : 'http' };
}

/**
 * A programming error of ours (as opposed to the engine failing, timing out or answering
 * nonsense, after which nothing is known about the containers and none is observed).
 */
export function isOurBug(err: unknown): boolean {
  return err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError;
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** For `enabled: auto` with a TCP host: one bounded request decides whether to watch it. */
export async function engineReachable(host: string, apiTimeout: number): Promise<boolean> {
  try {
    await dockerClient(host).listContainers({ limit: 1, abortSignal: AbortSignal.timeout(apiTimeout * 1000) });
    return true;
  } catch {
    return false;
  }
}

/** The fields of a `GET /containers/json` entry the collector uses. */
export type ListedContainer = Pick<Docker.ContainerInfo, 'Id' | 'Names' | 'Labels' | 'State' | 'Status'>;

/** What the Docker collector asks of an engine (a fake one in the unit tests orders the answers). */
export interface Engine {
  list(): Promise<ListedContainer[]>;
  /** The container's inspect document; undefined when it no longer exists. */
  inspect(id: string): Promise<InspectInfo | undefined>;
  stats(id: string): Promise<StatsDoc>;
  /** Opens the container events stream, newline-delimited JSON. */
  openEvents(): Promise<Readable>;
}

export type EngineFactory = (host: string, apiTimeout: number, stop: AbortSignal) => Engine;

export const connectEngine: EngineFactory = (host, apiTimeout, stop) => new DockerEngine(host, apiTimeout, stop);

export class DockerEngine implements Engine {
  private client?: Docker;

  /** `stop` aborts every request in flight and the events stream. */
  constructor(readonly host: string, private readonly apiTimeout: number, private readonly stop: AbortSignal) {}

  private get docker(): Docker {
    return (this.client ??= dockerClient(this.host));
  }

  private signal(): AbortSignal {
    return AbortSignal.any([this.stop, AbortSignal.timeout(this.apiTimeout * 1000)]);
  }

  list(): Promise<Docker.ContainerInfo[]> {
    return this.docker.listContainers({ all: true, abortSignal: this.signal() });
  }

  /** The container's inspect document; undefined when it no longer exists. */
  async inspect(id: string): Promise<InspectInfo | undefined> {
    try {
      return (await this.docker.getContainer(id).inspect({ abortSignal: this.signal() }));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  stats(id: string): Promise<StatsDoc> {
    const opts = { stream: false as const, 'one-shot': true, abortSignal: this.signal() };
    return this.docker.getContainer(id).stats(opts);
  }

  /** Opens the container events stream; only the opening is bounded by `api_timeout`. */
  async openEvents(): Promise<Readable> {
    const opening = new AbortController();
    const timer = setTimeout(() => opening.abort(new Error('timed out opening the events stream')), this.apiTimeout * 1000);
    let stream: Readable;
    try {
      const opts = { filters: EVENT_FILTERS, abortSignal: AbortSignal.any([this.stop, opening.signal]) };
      stream = (await this.docker.getEvents(opts)) as unknown as Readable;
    } finally {
      clearTimeout(timer);
    }
    if (this.stop.aborted) {
      stream.destroy();
      throw new Error('stopped');
    }
    return stream;
  }
}

export interface EventLines {
  /** One complete line; `cut` ends the stream (the caller then resyncs). */
  line(text: string, cut: () => void): void;
  /** Lines longer than MAX_EVENT_LINE_BYTES were dropped: their events are lost. */
  overlong(count: number): void;
  error(err: unknown): void;
}

/** Reads the events stream line by line; resolves when it ends, fails or is cut. */
export function readEventLines(stream: Readable, sink: EventLines): Promise<void> {
  const splitter = new LineSplitter(MAX_EVENT_LINE_BYTES);
  return new Promise((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      stream.destroy();
      resolve();
    };
    stream.on('data', (chunk: Buffer | string) => {
      const before = splitter.overlong;
      const lines = splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      if (splitter.overlong > before) {
        sink.overlong(splitter.overlong - before);
        finish();
        return;
      }
      for (const line of lines) {
        if (done) return;
        sink.line(line, finish);
      }
    });
    stream.once('end', finish);
    stream.once('close', finish);
    stream.once('error', (err) => {
      sink.error(err);
      finish();
    });
  });
}
