#!/usr/bin/env node
// Prints the notifications Alertmanager posts to it, one line per alert, so the compose demo
// shows alerts firing and resolving without any external service: `docker-compose logs -f alert-webhook`.
// Dependency-free (Node >= 20). WEBHOOK_HOST (default 127.0.0.1), WEBHOOK_PORT (default 5001).
'use strict';

const http = require('node:http');

const host = process.env.WEBHOOK_HOST ?? '127.0.0.1';
const port = Number(process.env.WEBHOOK_PORT ?? 5001);
const MAX_BODY = 1024 * 1024;

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' });
    res.end();
    return;
  }
  let body = '';
  let tooBig = false;
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    if (body.length + chunk.length > MAX_BODY) tooBig = true;
    else body += chunk;
  });
  req.on('end', () => {
    if (tooBig) {
      res.writeHead(413);
      res.end();
      return;
    }
    try {
      const msg = JSON.parse(body);
      for (const a of msg.alerts ?? []) {
        const labels = Object.entries(a.labels ?? {}).filter(([k]) => k !== 'alertname').map(([k, v]) => `${k}=${v}`).join(' ');
        process.stdout.write(`${new Date().toISOString()} ${req.url} ${a.status} ${a.labels?.alertname ?? '?'} {${labels}} ${a.annotations?.summary ?? ''}\n`);
      }
      res.writeHead(200);
    } catch {
      res.writeHead(400);
    }
    res.end();
  });
});

server.listen(port, host, () => process.stdout.write(`alert-webhook listening on http://${host}:${port}/\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
