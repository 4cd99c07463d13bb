import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { ProcessSet } from './processes';
import { waitFor } from './wait';

export interface ReadyDaemon {
  child: ChildProcess;
  /** The daemon's stderr so far (bounded). */
  log: () => string;
  /** SIGTERM (SIGKILL after 5 s), then removes its temp dir. */
  stop: () => Promise<void>;
}

/**
 * Starts a Prometheus-style service (Prometheus, Alertmanager) and waits until `${url}/-/ready`
 * answers. If it exits or times out, it is stopped and the error carries the tail of its log.
 */
export async function startReadyDaemon(o: {
  name: string; procs: ProcessSet; bin: string; args: string[]; dir: string; url: string; startTimeoutMs?: number;
  /** The daemon's environment (default: the test's). */
  env?: NodeJS.ProcessEnv;
}): Promise<ReadyDaemon> {
  let stderr = '';
  const child = o.procs.start(o.bin, o.args, { cwd: o.dir, ...(o.env !== undefined ? { env: o.env } : {}) });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const stop = async (): Promise<void> => {
    await o.procs.kill(child, 'SIGTERM', 5000);
    rmSync(o.dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`${o.name} to be ready`, async () => {
      if (exited) throw new Error(`${o.name} exited during startup:\n${stderr.slice(-4000)}`);
      return (await fetch(`${o.url}/-/ready`)).ok;
    }, o.startTimeoutMs ?? 30_000, 100);
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}\n--- ${o.name} log ---\n${stderr.slice(-4000)}`, { cause: err });
  }
  return { child, log: () => stderr, stop };
}
