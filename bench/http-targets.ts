/**
 * Child process of bench/http.bench.ts: the loopback HTTP targets, kept out of the exporters'
 * processes so their CPU is counted against neither. One server on 127.0.0.1 (port chosen by the
 * kernel) with 100 target paths: GET /t/<n> answers a small health JSON; GET /hang reads the
 * request and never answers (the hanging target). Prints `PORT <n>` on stdout once listening.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const BODY = JSON.stringify({ status: 'healthy', mqtt: { connected: true, pending_requests: 3 } });

const hanging = new Set<http.ServerResponse>();
let served = 0;

const server = http.createServer((req, res) => {
  if (req.url === '/hang') {
    // Never answered; the client's timeout ends it.
    hanging.add(res);
    res.on('close', () => hanging.delete(res));
    return;
  }
  if (req.url !== undefined && /^\/t\/\d+$/.test(req.url)) {
    served += 1;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) });
    res.end(BODY);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
// The probes' keep-alive connections outlive Node's 5 s default only if they are used; both
// exporters probe every target once a second, so the default is fine. No request timeout for /hang.
server.requestTimeout = 0;

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`);
});

// Ends with its parent: stdin closes when the bench process exits, however it exits.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => {
  process.stderr.write(`targets: served ${served} health requests\n`);
  process.exit(0);
});
