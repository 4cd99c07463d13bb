import { spawn, type ChildProcess } from 'node:child_process';

export type SwitchMode = 'healthy' | 'degraded' | 'failing';

/**
 * A loopback health endpoint whose answer a test switches: healthy, degraded or failing (503);
 * or stopped altogether (connections refused) and started again on the same port.
 *
 * It runs in a process of its own, as a real backend does: inside the test's process, a test
 * worker busy parsing a scrape or starved on a loaded machine answered the exporter's probes
 * late, and a probe's timeout then counted an outage the test had not caused. The child ends
 * with the test's process (its IPC channel closing).
 */
export interface SwitchBackend {
  /** http://127.0.0.1:PORT/health (any path answers the same). */
  url: string;
  port: number;
  /** Switches the answer; resolves once the backend answers so. */
  set(mode: SwitchMode): Promise<void>;
  /** Stops listening: connections are refused until start(). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** Stops it for good (its process ends). */
  close(): Promise<void>;
}

export interface SwitchBackendOptions {
  /** Fields added to the JSON body (`{ status, ...extra }`). */
  extra?: Record<string, unknown>;
  /** Keep connections alive, as a real backend does (default: `connection: close` on every answer). */
  keepAlive?: boolean;
}

/** The backend's process: commands by IPC, each answered with `{ id, port? , error? }`. */
const SERVER = `
const http = require('node:http');
const [mode0, extraJson, keepAlive] = process.argv.slice(1);
const extra = JSON.parse(extraJson);
let current = mode0;
let server;
const listen = (port) => new Promise((resolve, reject) => {
  const s = http.createServer((_req, res) => {
    res.writeHead(current === 'failing' ? 503 : 200, { 'content-type': 'application/json', ...(keepAlive === '1' ? {} : { connection: 'close' }) });
    res.end(JSON.stringify({ status: current === 'failing' ? 'unhealthy' : current, ...extra }));
  });
  s.once('error', reject);
  s.listen(port, '127.0.0.1', () => { server = s; resolve(s.address().port); });
});
const stop = () => new Promise((resolve) => {
  const s = server;
  server = undefined;
  if (s === undefined) return resolve();
  s.closeAllConnections();
  s.close(() => resolve());
});
process.on('disconnect', () => process.exit(0));
process.on('message', async ({ id, op, mode, port }) => {
  try {
    if (op === 'set') current = mode;
    else if (op === 'stop') await stop();
    else if (op === 'listen') { if (server === undefined) port = await listen(port); }
    process.send({ id, port });
  } catch (err) {
    process.send({ id, error: String(err && err.message || err) });
  }
});
`;

export async function startSwitchBackend(mode: SwitchMode = 'healthy', opts: SwitchBackendOptions = {}): Promise<SwitchBackend> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER, mode, JSON.stringify(opts.extra ?? {}), opts.keepAlive === true ? '1' : '0'], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let nextId = 0;
  const waiting = new Map<number, { resolve: (port: number | undefined) => void; reject: (err: Error) => void }>();
  let exited: Error | undefined;
  child.on('message', (m: { id: number; port?: number; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined) w?.reject(new Error(`switch backend: ${m.error}`));
    else w?.resolve(m.port);
  });
  child.once('exit', (code, signal) => {
    exited = new Error(`switch backend exited (${code ?? signal})`);
    for (const w of waiting.values()) w.reject(exited);
    waiting.clear();
  });
  const command = (op: string, args: { mode?: SwitchMode; port?: number } = {}): Promise<number | undefined> => {
    if (exited !== undefined) return Promise.reject(exited);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      child.send({ id, op, ...args });
    });
  };
  let port: number;
  try {
    port = (await command('listen', { port: 0 }))!;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}/health`,
    port,
    set: async (m) => {
      await command('set', { mode: m });
    },
    stop: async () => {
      await command('stop');
    },
    start: async () => {
      await command('listen', { port });
    },
    close: async () => {
      if (exited !== undefined) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await gone;
    },
  };
}
