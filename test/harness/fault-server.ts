import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A loopback server that misbehaves on purpose, one path per fault. Used by the HTTP collector's
 * fault-injection tests; close() ends every connection, including the hanging ones.
 */
export interface FaultServer {
  url: string;
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

const MB = 1024 * 1024;

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  if (url === '/hang') return; // never answers
  if (url === '/drip') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"status":');
    const t = setInterval(() => res.write(' '), 100);
    res.on('close', () => clearInterval(t));
    return;
  }
  if (url === '/huge') {
    // 100 MB without Content-Length: the cap must stop reading, not buffer it.
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const pump = (): void => {
      while (sent < 100 * MB) {
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
    return;
  }
  if (url === '/huge-declared') {
    res.writeHead(200, { 'content-length': String(100 * MB) });
    res.write('x');
    return;
  }
  if (url === '/invalid-json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status": "healthy", oops');
    return;
  }
  const status = /^\/status\/(\d{3})$/.exec(url);
  if (status) {
    res.writeHead(Number(status[1]), { 'content-type': 'application/json' });
    res.end('{"status":"unhealthy"}');
    return;
  }
  if (url === '/loop') {
    res.writeHead(302, { location: '/loop' });
    res.end();
    return;
  }
  if (url === '/auth') {
    const ok = req.headers.authorization === 'Bearer sekrit' && req.headers['x-tenant'] === 'blue';
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(ok ? '{"status":"healthy"}' : '{"error":"unauthorized"}');
    return;
  }
  if (url === '/reset') {
    req.socket.destroy();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"status":"healthy"}');
}

async function listen(server: http.Server | https.Server): Promise<FaultServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  server.on('connection', (s: Socket) => {
    accepted += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${server instanceof https.Server ? 'https' : 'http'}://127.0.0.1:${port}`,
    connections: () => accepted,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

export function startFaultServer(): Promise<FaultServer> {
  return listen(http.createServer(handler));
}

export function startTlsServer(key: Buffer, cert: Buffer): Promise<FaultServer> {
  return listen(https.createServer({ key, cert }, handler));
}
