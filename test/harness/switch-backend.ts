import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type SwitchMode = 'healthy' | 'degraded' | 'failing';

/**
 * A loopback health endpoint whose answer a test switches: healthy, degraded or failing (503);
 * or stopped altogether (connections refused) and started again on the same port.
 */
export interface SwitchBackend {
  /** http://127.0.0.1:PORT/health (any path answers the same). */
  url: string;
  port: number;
  set(mode: SwitchMode): void;
  /** Stops listening: connections are refused until start(). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface SwitchBackendOptions {
  /** Fields added to the JSON body (`{ status, ...extra }`). */
  extra?: Record<string, unknown>;
  /** Keep connections alive, as a real backend does (default: `connection: close` on every answer). */
  keepAlive?: boolean;
}

export async function startSwitchBackend(mode: SwitchMode = 'healthy', opts: SwitchBackendOptions = {}): Promise<SwitchBackend> {
  let current = mode;
  let server: http.Server | undefined;
  const listen = async (port: number): Promise<number> => {
    const s = http.createServer((_req, res) => {
      res.writeHead(current === 'failing' ? 503 : 200, { 'content-type': 'application/json', ...(opts.keepAlive === true ? {} : { connection: 'close' }) });
      res.end(JSON.stringify({ status: current === 'failing' ? 'unhealthy' : current, ...opts.extra }));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    server = s;
    return (s.address() as AddressInfo).port;
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  };
  const port = await listen(0);
  return {
    url: `http://127.0.0.1:${port}/health`,
    port,
    set: (m) => { current = m; },
    stop,
    start: async () => {
      if (server === undefined) await listen(port);
    },
    close: stop,
  };
}
