/**
 * The built daemon (`node dist/main.js`, as `npm start` runs it) with a config file, listening on
 * 127.0.0.1:0. The port the kernel gave it is read from its own "stackwatch started" log line, so
 * no port is chosen in advance and later taken by a parallel test worker.
 *
 *   const d = await startBuiltDaemon(procs, { http: [...] });
 *   const m = await d.scrape();
 *   await d.stop();
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { scrape, type Metrics } from './prom-text';
import type { ProcessSet } from './processes';
import { startCommand } from './start-command';
import { waitFor } from './wait';

export interface BuiltDaemon {
  child: ChildProcess;
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT, as Prometheus' `instance` label shows it. */
  hostPort: string;
  /** The config file (rewrite it and POST /-/reload to reload). */
  configFile: string;
  dir: string;
  /** Its stderr (pino JSON lines) so far, bounded. */
  log(): string;
  scrape(): Promise<Metrics>;
  stop(): Promise<void>;
}

export interface BuiltDaemonOptions {
  /** More command-line flags (e.g. --web.enable-lifecycle). */
  args?: string[];
  /** node flags before the script; default the `npm start` ones. */
  nodeArgs?: string[];
  /** More environment, over `npm start`'s (its allocator settings). */
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

/** The `listen` field of the daemon's "stackwatch started" line in `log`, if it has been written. */
export function startedPort(log: string): number | undefined {
  for (const line of log.split('\n')) {
    if (!line.includes('"stackwatch started"')) continue;
    try {
      const rec = JSON.parse(line) as { listen?: string };
      const m = /:(\d+)$/.exec(rec.listen ?? '');
      if (m) return Number(m[1]);
    } catch {
      /* a partial line: wait for the rest */
    }
  }
  return undefined;
}

export async function startBuiltDaemon(procs: ProcessSet, config: Record<string, unknown>, opts: BuiltDaemonOptions = {}): Promise<BuiltDaemon> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-daemon-'));
  const configFile = path.join(dir, 'stackwatch.yml');
  writeFileSync(configFile, stringify(config));
  const start = startCommand();
  const child = procs.start(process.execPath, [
    ...(opts.nodeArgs ?? start.nodeArgs), start.script,
    '--config', configFile, '--listen', '127.0.0.1:0', '--storage.path', path.join(dir, 'data'), ...(opts.args ?? []),
  ], { env: { ...process.env, ...start.env, ...opts.env } });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 400_000) stderr = stderr.slice(-200_000);
  });
  const stop = async (): Promise<void> => {
    await procs.kill(child, 'SIGTERM', 5000);
    rmSync(dir, { recursive: true, force: true });
  };
  const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) =>
    reject(new Error(`the built daemon exited (${code ?? signal}) before it started:\n${stderr.slice(-3000)}`))));
  exited.catch(() => undefined);
  let port: number;
  try {
    port = await Promise.race([
      waitFor('the built daemon to log "stackwatch started" (run `npm run build` first)', () => startedPort(stderr), opts.startTimeoutMs ?? 30_000, 50),
      exited,
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    child, url, hostPort: `127.0.0.1:${port}`, configFile, dir,
    log: () => stderr,
    scrape: () => scrape(url),
    stop,
  };
}

/**
 * The port a daemon started with `--listen 127.0.0.1:0` bound, from its "stackwatch started" log
 * line; fails with its log if it exits first or does not start within `timeoutMs`.
 */
export async function boundPort(child: ChildProcess, timeoutMs = 30_000): Promise<number> {
  let stderr = '';
  const onData = (d: Buffer): void => { stderr += d.toString(); };
  child.stderr!.on('data', onData);
  try {
    return await waitFor('the daemon to log "stackwatch started" (run `npm run build` first)', () => {
      const port = startedPort(stderr);
      if (port !== undefined) return port;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`it exited (${child.exitCode ?? child.signalCode}):\n${stderr.slice(-3000)}`);
      return undefined;
    }, timeoutMs, 50);
  } finally {
    child.stderr!.off('data', onData);
  }
}
