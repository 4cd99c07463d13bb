#!/usr/bin/env node
// stackwatch demo backend: a stand-in for the seeds' FastAPI/Express backend that misbehaves on
// a schedule, so that every stackwatch panel and alert has something to show.
//
// Dependency-free (Node >= 20). GET /api/health answers the seeds' health JSON:
//   {"status":"healthy|degraded|unhealthy","mqtt":{"connected":true,"last_activity_seconds_ago":1.2,
//    "reconnect_attempts":0,"pending_requests":2},"memory":{...},"issues":null}
//
// Schedule (every value is a duration: 500ms, 30s, 2m, 1h, or a number of seconds; 0 disables):
//   DEMO_HEALTHY_FOR    (default 2m)   healthy phase of each cycle
//   DEMO_DEGRADED_FOR   (default 1m)   then "degraded": MQTT disconnected, pending requests climbing
//   DEMO_UNHEALTHY_FOR  (default 20s)  then "unhealthy": HTTP 503
//   DEMO_CRASH_AFTER    (default 10m)  the process exits with status 1 after this uptime (a crash;
//                                      Docker's restart policy or a supervisor brings it back)
//   DEMO_LEAK_PER_SECOND (default 64k) bytes retained per second and never freed (k/m suffixes)
//   DEMO_PENDING_PER_SECOND (default 1) pending requests added per second while degraded
// Network:
//   DEMO_HOST (default 127.0.0.1; 0.0.0.0 in a container), DEMO_PORT (default 8000)
//   DEMO_MQTT_URL (optional, mqtt://host:1883): publish to DEMO_MQTT_TOPIC (default
//   demo/responses) every DEMO_MQTT_EVERY (default 5s) while healthy; during the degraded and
//   unhealthy phases the connection is dropped, so the topic goes silent (the seeds' stale MQTT).
'use strict';

const http = require('node:http');
const net = require('node:net');

function duration(name, def) {
  const raw = process.env[name] ?? def;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(raw).trim());
  if (m === null) throw new Error(`${name}: expected a duration like 30s, 2m, 500ms or a number of seconds, got "${raw}"`);
  const mult = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'];
  return Number(m[1]) * mult * 1000;
}

function bytes(name, def) {
  const raw = process.env[name] ?? def;
  const m = /^(\d+(?:\.\d+)?)([kmKM]?)$/.exec(String(raw).trim());
  if (m === null) throw new Error(`${name}: expected a byte count like 65536, 64k or 1m, got "${raw}"`);
  return Math.round(Number(m[1]) * { '': 1, k: 1024, m: 1024 * 1024 }[m[2].toLowerCase()]);
}

function number(name, def) {
  const v = Number(process.env[name] ?? def);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name}: expected a number >= 0, got "${process.env[name]}"`);
  return v;
}

const cfg = {
  host: process.env.DEMO_HOST ?? '127.0.0.1',
  port: Number(process.env.DEMO_PORT ?? 8000),
  healthyMs: duration('DEMO_HEALTHY_FOR', '2m'),
  degradedMs: duration('DEMO_DEGRADED_FOR', '1m'),
  unhealthyMs: duration('DEMO_UNHEALTHY_FOR', '20s'),
  crashAfterMs: duration('DEMO_CRASH_AFTER', '10m'),
  leakPerSecond: bytes('DEMO_LEAK_PER_SECOND', '64k'),
  pendingPerSecond: number('DEMO_PENDING_PER_SECOND', 1),
  mqttUrl: process.env.DEMO_MQTT_URL ?? '',
  mqttTopic: process.env.DEMO_MQTT_TOPIC ?? 'demo/responses',
  mqttEveryMs: duration('DEMO_MQTT_EVERY', '5s'),
};

const started = Date.now();
const log = (msg) => process.stdout.write(`${new Date().toISOString()} demo-backend: ${msg}\n`);

/** The phase of the schedule at `now`; every (re)start begins healthy. */
function phase(now = Date.now()) {
  const cycle = cfg.healthyMs + cfg.degradedMs + cfg.unhealthyMs;
  if (cycle === 0) return 'healthy';
  const t = (now - started) % cycle;
  if (t < cfg.healthyMs) return 'healthy';
  if (t < cfg.healthyMs + cfg.degradedMs) return 'degraded';
  return 'unhealthy';
}

// --- state that the health body reports -------------------------------------------------------
let pending = 0;
let reconnectAttempts = 0;
let lastActivity = Date.now();
const leaked = [];
let leakedBytes = 0;
let lastPhase = 'healthy';

setInterval(() => {
  const p = phase();
  if (p !== lastPhase) {
    log(`${lastPhase} -> ${p}`);
    lastPhase = p;
  }
  if (p === 'healthy') {
    // Requests get answered: the backlog drains.
    pending = Math.max(0, Math.floor(pending / 2));
  } else {
    pending += cfg.pendingPerSecond;
  }
  if (cfg.leakPerSecond > 0) {
    // Filled, so the pages are really resident (a leak that shows up in RSS / working set).
    leaked.push(Buffer.alloc(cfg.leakPerSecond, 0x5a));
    leakedBytes += cfg.leakPerSecond;
  }
  mqttTick(p);
}, 1000).unref();

if (cfg.crashAfterMs > 0) {
  setTimeout(() => {
    log(`crashing after ${cfg.crashAfterMs / 1000}s of uptime (exit 1)`);
    process.exit(1);
  }, cfg.crashAfterMs).unref();
}

// --- a minimal MQTT 3.1.1 publisher (CONNECT, PUBLISH QoS 0, PINGREQ) ----------------------------
let sock;
let connected = cfg.mqttUrl === '';
let lastPublish = 0;
let nextConnect = 0;

function remainingLength(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function str(s) {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function packet(type, body) {
  return Buffer.concat([Buffer.from([type]), remainingLength(body.length), body]);
}

function mqttConnect() {
  const u = new URL(cfg.mqttUrl);
  const s = net.connect(Number(u.port || 1883), u.hostname);
  sock = s;
  const clientId = `demo-backend-${process.pid}`;
  // Protocol name, level 4, clean session, keepalive 30 s.
  const vh = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 30])]);
  s.on('connect', () => s.write(packet(0x10, Buffer.concat([vh, str(clientId)]))));
  s.on('data', (d) => {
    // CONNACK: 0x20 0x02 <flags> <return code>
    if (!connected && d[0] === 0x20 && d[3] === 0) {
      connected = true;
      reconnectAttempts = 0;
      lastActivity = Date.now();
      log(`MQTT connected to ${cfg.mqttUrl}`);
    } else if (d[0] === 0xd0) {
      lastActivity = Date.now(); // PINGRESP
    }
  });
  const gone = () => {
    if (sock === s) {
      if (connected) log('MQTT connection closed');
      connected = false;
      sock = undefined;
    }
  };
  s.on('error', gone);
  s.on('close', gone);
}

let lastAttempt = 0;

function mqttTick(p) {
  const now = Date.now();
  if (p !== 'healthy') {
    // The seeds' failure: the client drops off and its reconnects keep failing while degraded.
    if (sock !== undefined) {
      sock.destroy();
      sock = undefined;
      connected = false;
      log('MQTT connection dropped (degraded)');
    }
    if (now - lastAttempt >= cfg.mqttEveryMs) {
      reconnectAttempts += 1;
      lastAttempt = now;
    }
    return;
  }
  if (cfg.mqttUrl === '') {
    // No broker configured: simulate a client that is connected and active while healthy.
    connected = true;
    reconnectAttempts = 0;
    lastActivity = now;
    return;
  }
  if (sock === undefined) {
    if (now >= nextConnect) {
      nextConnect = now + 5000;
      mqttConnect();
    }
    return;
  }
  if (connected && now - lastPublish >= cfg.mqttEveryMs) {
    const payload = JSON.stringify({ at: new Date(now).toISOString(), pending });
    sock.write(packet(0x30, Buffer.concat([str(cfg.mqttTopic), Buffer.from(payload)])));
    sock.write(Buffer.from([0xc0, 0x00]));
    lastPublish = now;
    lastActivity = now;
  }
}

// --- HTTP ---------------------------------------------------------------------------------------
function healthBody() {
  const p = phase();
  const mqttConnected = connected && p === 'healthy';
  const issues = [];
  if (!mqttConnected) issues.push('MQTT disconnected');
  if (p === 'unhealthy') issues.push('cannot serve requests');
  const mem = process.memoryUsage();
  return {
    status: p,
    timestamp: new Date().toISOString(),
    uptime_seconds: Math.round((Date.now() - started) / 100) / 10,
    mqtt: {
      connected: mqttConnected,
      last_activity_seconds_ago: Math.round((Date.now() - lastActivity) / 100) / 10,
      reconnect_attempts: reconnectAttempts,
      pending_requests: pending,
    },
    memory: { rss_bytes: mem.rss, leaked_bytes: leakedBytes, leaked_chunks: leaked.length },
    issues: issues.length > 0 ? issues : null,
  };
}

const server = http.createServer((req, res) => {
  const url = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && (url === '/api/health' || url === '/api/health/')) {
    const body = healthBody();
    res.writeHead(body.status === 'unhealthy' ? 503 : 200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
    return;
  }
  if (req.method === 'GET' && url === '/') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('stackwatch demo backend: GET /api/health\n');
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});

server.listen(cfg.port, cfg.host, () => {
  log(`listening on http://${cfg.host}:${server.address().port}/api/health; schedule: healthy ${cfg.healthyMs / 1000}s, `
    + `degraded ${cfg.degradedMs / 1000}s, unhealthy ${cfg.unhealthyMs / 1000}s, crash after ${cfg.crashAfterMs / 1000}s, `
    + `leak ${cfg.leakPerSecond} B/s${cfg.mqttUrl ? `, MQTT ${cfg.mqttUrl} topic ${cfg.mqttTopic}` : ''}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    log(`${sig}: stopping`);
    sock?.destroy();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
