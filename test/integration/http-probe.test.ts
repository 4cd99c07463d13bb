/**
 * The probe's guards against servers that misbehave at the connection and protocol level, each
 * against a real loopback server: a kept-alive connection the server closed under a request
 * (retried once), the server's Keep-Alive hint (one connection for a steady target), hostile
 * responses (huge headers, invalid HTTP, a wrong Content-Length, chunked garbage), a TLS
 * handshake that never completes, a redirect from http to https, and the configured TLS server
 * name. The collector-level faults (hang, drip, body caps, redirect loop, TLS trust, DNS) are in
 * http-faults.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { probe, ProbeAgents, type ProbeRequest } from '../../src/collectors/http-probe';
import { requireBinary } from '../harness/require-binary';

jest.setTimeout(30_000);

let tmp: string;
let key: Buffer;
let cert: Buffer;
const closers: (() => Promise<void>)[] = [];
const agentsMade: ProbeAgents[] = [];

beforeAll(() => {
  requireBinary('openssl', 'apt-get install -y openssl');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sw-probe-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp, 'key.pem'),
    '-out', path.join(tmp, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  key = readFileSync(path.join(tmp, 'key.pem'));
  cert = readFileSync(path.join(tmp, 'cert.pem'));
});

afterEach(async () => {
  for (const a of agentsMade.splice(0)) a.destroy();
  await Promise.all(closers.splice(0).map((c) => c()));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A raw TCP server on loopback: `onData` sees each socket's bytes and answers as it likes. */
async function rawServer(onData: (socket: net.Socket, data: string, nth: number) => void): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let nth = 0;
    socket.on('data', (d) => onData(socket, d.toString('latin1'), ++nth));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, connections: () => connections };
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return (server.address() as net.AddressInfo).port;
}

function agents(tls: ConstructorParameters<typeof ProbeAgents>[0] = { insecureSkipVerify: false }): ProbeAgents {
  const a = new ProbeAgents(tls);
  agentsMade.push(a);
  return a;
}

const req = (url: string, more: Partial<ProbeRequest> = {}): ProbeRequest => ({
  url, method: 'GET', headers: {}, timeoutSeconds: 2, maxBodyBytes: 65536, maxRedirects: 5, readBody: true, ...more,
});

const OK = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nKeep-Alive: timeout=30\r\n\r\n{}';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('kept-alive connections', () => {
  test('a kept-alive connection the server closes as the next request arrives: retried once on a new one, the probe succeeds', async () => {
    const s = await rawServer((socket, _data, nth) => {
      // The first request is answered and the connection kept; the second meets a server that
      // closed it (its FIN crossing the request), as an idle timeout does.
      if (nth === 1 && s.connections() === 1) socket.write(OK);
      else if (s.connections() === 1) socket.destroy();
      else socket.write(OK);
    });
    const a = agents();
    expect((await probe(req(`${s.url}/`), a)).reason).toBeUndefined();
    const second = await probe(req(`${s.url}/`), a);
    expect(second).toMatchObject({ status: 200 });
    expect(second.reason).toBeUndefined();
    expect(s.connections()).toBe(2);
  });

  test('a new connection the server resets is not retried: the probe fails as connect', async () => {
    const s = await rawServer((socket) => socket.resetAndDestroy());
    const r = await probe(req(`${s.url}/`), agents());
    expect(r.reason).toBe('connect');
    expect(s.connections()).toBe(1);
  });

  test('a steady target keeps one connection when its interval equals its Keep-Alive hint (Node server)', async () => {
    // Node's server advertises `Keep-Alive: timeout=2` and closes 2 s (+ its 1 s buffer) after
    // the last response; a probe every 2 s, its timer a little late, must keep using the one
    // connection, not reconnect each time.
    const server = http.createServer((_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    server.keepAliveTimeout = 2000;
    let connections = 0;
    server.on('connection', () => (connections += 1));
    const port = await listen(server);
    const a = agents();
    for (let i = 0; i < 4; i++) {
      const started = Date.now();
      expect((await probe(req(`http://127.0.0.1:${port}/`), a)).reason).toBeUndefined();
      if (i < 3) await sleep(2050 - (Date.now() - started));
    }
    expect(connections).toBe(1);
  });

  test('a server that closes an idle connection exactly at its hint: every probe succeeds, on a new connection', async () => {
    const s = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=1\r\n\r\n{}');
      socket.setTimeout(1000, () => socket.end());
    });
    const a = agents();
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const r = await probe(req(`${s.url}/`), a);
      expect({ i, reason: r.reason, status: r.status }).toEqual({ i, reason: undefined, status: 200 });
      if (i < 2) await sleep(1050 - (Date.now() - started));
    }
    expect(s.connections()).toBe(3);
  });
});

describe('hostile responses fail the probe as connect, and the next probe works', () => {
  const cases: Record<string, (socket: net.Socket) => void> = {
    'huge headers': (s) => s.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(200_000)}\r\nContent-Length: 2\r\n\r\n{}`),
    'invalid HTTP': (s) => s.end('this is not HTTP at all\r\n\r\n'),
    'a Content-Length longer than the body': (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}'),
    'a Content-Length shorter than the body': (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}{}{}{}{}'),
    'chunked garbage': (s) => s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'),
    'two Content-Lengths that differ': (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'),
  };
  test.each(Object.entries(cases))('%s', async (_name, answer) => {
    let hostile = true;
    const s = await rawServer((socket) => (hostile ? answer(socket) : socket.write(OK)));
    const a = agents();
    const r = await probe(req(`${s.url}/`), a);
    // A Content-Length shorter than what follows is a complete response followed by garbage on the
    // connection: the response counts, the connection does not survive for the next probe.
    if (_name === 'a Content-Length shorter than the body') expect(r).toMatchObject({ status: 200, body: Buffer.from('{}') });
    else expect(r).toMatchObject({ reason: 'connect', status: 0 });
    expect(r.durationSeconds).toBeLessThan(1);
    hostile = false;
    const next = await probe(req(`${s.url}/`), a);
    expect(next.reason).toBeUndefined();
    expect(next.status).toBe(200);
  });
});

describe('credentials', () => {
  test('user info in the URL is sent as Basic authentication; a configured Authorization header wins', async () => {
    const seen: (string | undefined)[] = [];
    const server = http.createServer((q, res) => {
      seen.push(q.headers.authorization);
      res.end('{}');
    });
    const port = await listen(server);
    const a = agents();
    expect((await probe(req(`http://us%40er:p%3Ass@127.0.0.1:${port}/`), a)).reason).toBeUndefined();
    expect((await probe(req(`http://user:pass@127.0.0.1:${port}/`, { headers: { Authorization: 'Bearer t' } }), a)).reason).toBeUndefined();
    expect((await probe(req(`http://127.0.0.1:${port}/`), a)).reason).toBeUndefined();
    // A malformed escape is sent as typed, not a probe that throws.
    expect((await probe(req(`http://u%zz:p@127.0.0.1:${port}/`), a)).reason).toBeUndefined();
    expect(seen).toEqual([`Basic ${Buffer.from('us@er:p:ss').toString('base64')}`, 'Bearer t', undefined, `Basic ${Buffer.from('u%zz:p').toString('base64')}`]);
  });
});

describe('TLS', () => {
  test('a TLS handshake that never completes times out, and its connection is closed', async () => {
    let closed = 0;
    // Reads what the client sends (its ClientHello) and never answers: the close is seen once read.
    const server = net.createServer((socket) => socket.on('close', () => (closed += 1)).resume());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const port = (server.address() as net.AddressInfo).port;
    const r = await probe(req(`https://127.0.0.1:${port}/`, { timeoutSeconds: 0.5 }), agents());
    expect(r).toMatchObject({ reason: 'timeout', error: expect.stringMatching(/no complete response within 0.5s/) });
    for (let i = 0; i < 50 && closed === 0; i++) await sleep(20);
    expect(closed).toBe(1);
  });

  test('the configured server name is the one verified; without it an IP URL fails as tls', async () => {
    const server = https.createServer({ key, cert }, (_q, res) => res.end('{}'));
    const port = await listen(server);
    const url = `https://127.0.0.1:${port}/`;
    const named = await probe(req(url), agents({ insecureSkipVerify: false, caFile: path.join(tmp, 'cert.pem'), serverName: 'localhost' }));
    expect(named.reason).toBeUndefined();
    expect(named.certExpiry! - Date.now() / 1000).toBeGreaterThan(86400);
    // A configured Host header does not override the configured server name.
    const withHost = await probe(req(url, { headers: { Host: 'elsewhere.example' } }),
      agents({ insecureSkipVerify: false, caFile: path.join(tmp, 'cert.pem'), serverName: 'localhost' }));
    expect(withHost.reason).toBeUndefined();
    const unnamed = await probe(req(url), agents({ insecureSkipVerify: false, caFile: path.join(tmp, 'cert.pem') }));
    expect(unnamed.reason).toBe('tls');
  });

  test('a redirect from http to https is followed with the TLS options, and reports the certificate expiry', async () => {
    const secure = https.createServer({ key, cert }, (_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    const securePort = await listen(secure);
    const plain = http.createServer((_q, res) => res.writeHead(301, { location: `https://localhost:${securePort}/health` }).end());
    const plainPort = await listen(plain);
    const r = await probe(req(`http://127.0.0.1:${plainPort}/`), agents({ insecureSkipVerify: false, caFile: path.join(tmp, 'cert.pem') }));
    expect(r.reason).toBeUndefined();
    expect(r.status).toBe(200);
    expect(r.body?.toString()).toBe('{"ok":true}');
    expect(r.certExpiry! - Date.now() / 1000).toBeGreaterThan(86400);
  });
});
