import { validate } from '../../src/config/load';
import { Dockerd, SocketRelay } from './dockerd';
import { startExporter, type RunningExporter } from './exporter';
import type { Metrics } from './prom-text';

/**
 * What every Docker integration test starts: a private dockerd (./dockerd.ts), optionally reached
 * through a socket relay, and the exporter watching it with a docker section made for tests (a 1 s
 * resources cycle and reconnect backoff). A file starts one in beforeAll and stops it in afterAll.
 */
export interface DockerRigOptions {
  /** The exporter reaches the daemon through a SocketRelay, so the test decides when it can. */
  relay?: boolean;
  /** More keys of the exporter's docker section (they win over the defaults). */
  docker?: Record<string, unknown>;
  /** Runs once the daemon is up and before the exporter starts: containers its first sync finds. */
  before?: (d: Dockerd) => Promise<void>;
}

export class DockerRig {
  /**
   * The docker section the exporter runs with. A test may replace it and reload the exporter
   * (`exp.app.reload()`): the reload reads it from here.
   */
  docker: Record<string, unknown>;
  private exporter?: RunningExporter;

  private constructor(readonly d: Dockerd, readonly relay: SocketRelay | undefined, extra: Record<string, unknown>) {
    this.docker = { enabled: true, host: (relay ?? d).host, resources_interval: '1s', reconnect_max_backoff: '1s', ...extra };
  }

  /** Starts the daemon (and relay), runs `before`, then the exporter; on failure stops what it started. */
  static async start(opts: DockerRigOptions = {}): Promise<DockerRig> {
    const d = await Dockerd.start();
    let rig: DockerRig | undefined;
    try {
      let relay: SocketRelay | undefined;
      if (opts.relay === true) {
        relay = new SocketRelay(d.socket, d.dir);
        await relay.up();
      }
      rig = new DockerRig(d, relay, opts.docker ?? {});
      await opts.before?.(d);
      const r = rig;
      r.exporter = await startExporter({ docker: r.docker }, { loadConfig: () => validate({ docker: r.docker, server: { listen: '127.0.0.1:0' } }, '<reloaded>') });
      return r;
    } catch (err) {
      if (rig !== undefined) await rig.stop();
      else await d.stop();
      throw err;
    }
  }

  get exp(): RunningExporter {
    if (this.exporter === undefined) throw new Error('the exporter of this docker rig is not running');
    return this.exporter;
  }

  /** Stops the exporter (if a test has not already), the relay and the daemon. */
  async stop(): Promise<void> {
    try {
      await this.exporter?.stop().catch(() => undefined);
      await this.relay?.down();
    } finally {
      await this.d.stop();
    }
  }
}

/** The container's state as the exporter exports it (the state set's member at 1). */
export function containerState(m: Metrics, name: string): string | undefined {
  return m.all('stackwatch_container_state', { container: name }).find((s) => s.value === 1)?.labels.state;
}

/** The container's health as the exporter exports it. */
export function containerHealth(m: Metrics, name: string): string | undefined {
  return m.all('stackwatch_container_health_status', { container: name }).find((s) => s.value === 1)?.labels.status;
}
