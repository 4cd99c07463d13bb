import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback health endpoint whose answer a test switches: healthy, degraded or failing (503). */
export interface SwitchBackend {
  url: string;
  set(mode: 'healthy' | 'degraded' | 'failing'): void;
  close(): Promise<void>;
}

export async function startSwitchBackend(mode: 'healthy' | 'degraded' | 'failing' = 'healthy'): Promise<SwitchBackend> {
  let current = mode;
  const server = http.createServer((_req, res) => {
    res.writeHead(current === 'failing' ? 503 : 200, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ status: current === 'failing' ? 'unhealthy' : current }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`,
    set: (m) => { current = m; },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
