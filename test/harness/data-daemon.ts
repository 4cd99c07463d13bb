/**
 * The built daemon with a data directory (--storage.path), probing one switchable backend as the
 * http target `api`; started, stopped and started again on the same data directory.
 *
 *   const s = await startDataDaemonSetup('stackwatch-restart-', '1s', '500ms');
 *   const d = await s.start(path.join(s.dir, 'data'));
 *   await s.stop(d, 'SIGKILL');
 *   await s.cleanup();
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { boundPort } from './built-daemon';
import { MAIN } from './cli';
import { ProcessSet } from './processes';
import { startSwitchBackend, type SwitchBackend } from './switch-backend';
import { waitFor } from './wait';

export interface DataDaemon {
  p: ChildProcess;
  /** http://127.0.0.1:PORT */
  base: string;
  /** Its output (stderr and stdout) so far. */
  log: () => string;
}

export interface DataDaemonSetup {
  backend: SwitchBackend;
  /** A temporary directory for data directories; removed by cleanup(). */
  dir: string;
  /** Starts the daemon on `data` and waits until it is ready. */
  start(data: string): Promise<DataDaemon>;
  /** Sends `signal` and waits for the exit. */
  stop(d: DataDaemon, signal: NodeJS.Signals): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startDataDaemonSetup(prefix: string, interval: string, timeout: string): Promise<DataDaemonSetup> {
  const procs = new ProcessSet();
  const backend = await startSwitchBackend();
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const cfg = path.join(dir, 'stackwatch.yml');
  writeFileSync(cfg, `http:\n  - { name: api, url: "${backend.url}", interval: ${interval}, timeout: ${timeout} }\n`);
  return {
    backend, dir,
    async start(data) {
      const p = procs.start(process.execPath, [MAIN, '--config', cfg, '--listen', '127.0.0.1:0', '--storage.path', data]);
      let log = '';
      p.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
      p.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
      const base = `http://127.0.0.1:${await boundPort(p, 15_000)}`;
      await waitFor('exporter ready (run `npm run build` first)', async () => (await fetch(`${base}/-/ready`)).ok, 15_000);
      return { p, base, log: () => log };
    },
    async stop(d, signal) {
      await procs.kill(d.p, signal, 10_000);
    },
    async cleanup() {
      await procs.killAll();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
