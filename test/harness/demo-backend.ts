/**
 * The bundle's demo backend (examples/demo-backend/server.js) as a child process on 127.0.0.1,
 * under a small supervisor that restarts it after it crashes (as Docker's restart policy does in
 * the compose demo), so tests see real outages, recoveries and process restarts.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ProcessSet } from './processes';
import { waitFor } from './wait';

export const DEMO_BACKEND_SCRIPT = path.join(__dirname, '..', '..', 'examples', 'demo-backend', 'server.js');

export interface DemoSchedule {
  healthyFor?: string;
  degradedFor?: string;
  unhealthyFor?: string;
  /** Uptime after which the backend exits with status 1; '0' never. */
  crashAfter?: string;
  leakPerSecond?: string;
  pendingPerSecond?: number;
  mqttUrl?: string;
  mqttTopic?: string;
  mqttEvery?: string;
}

export interface DemoBackend {
  port: number;
  /** http://127.0.0.1:PORT/api/health */
  healthUrl: string;
  /** Starts so far (1 + restarts after crashes). */
  starts(): number;
  /** Everything the backend printed, across restarts. */
  log(): string;
  /** Stops the supervisor and the backend (bounded). */
  stop(): Promise<void>;
}

export async function startDemoBackend(
  procs: ProcessSet,
  port: number,
  schedule: DemoSchedule = {},
  opts: { restartDelayMs?: number } = {},
): Promise<DemoBackend> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    DEMO_HOST: '127.0.0.1',
    DEMO_PORT: String(port),
  };
  const set = (k: string, v: string | number | undefined): void => {
    if (v !== undefined) env[k] = String(v);
  };
  set('DEMO_HEALTHY_FOR', schedule.healthyFor);
  set('DEMO_DEGRADED_FOR', schedule.degradedFor);
  set('DEMO_UNHEALTHY_FOR', schedule.unhealthyFor);
  set('DEMO_CRASH_AFTER', schedule.crashAfter);
  set('DEMO_LEAK_PER_SECOND', schedule.leakPerSecond);
  set('DEMO_PENDING_PER_SECOND', schedule.pendingPerSecond);
  set('DEMO_MQTT_URL', schedule.mqttUrl);
  set('DEMO_MQTT_TOPIC', schedule.mqttTopic);
  set('DEMO_MQTT_EVERY', schedule.mqttEvery);

  let stopped = false;
  let starts = 0;
  let output = '';
  let current: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;

  const launch = (): void => {
    starts += 1;
    const p = procs.start(process.execPath, [DEMO_BACKEND_SCRIPT], { env });
    current = p;
    const keep = (d: Buffer): void => {
      output += d.toString();
      if (output.length > 100_000) output = output.slice(-50_000);
    };
    p.stdout?.on('data', keep);
    p.stderr?.on('data', keep);
    p.once('exit', () => {
      if (current === p) current = undefined;
      if (!stopped) timer = setTimeout(launch, opts.restartDelayMs ?? 2000);
    });
  };
  launch();
  const healthUrl = `http://127.0.0.1:${port}/api/health`;
  await waitFor(`demo backend on port ${port}`, async () => (await fetch(healthUrl)).status > 0, 10_000, 50);

  return {
    port,
    healthUrl,
    starts: () => starts,
    log: () => output,
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      if (current !== undefined) await procs.kill(current, 'SIGTERM', 3000);
    },
  };
}
