import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { onFreePort } from './ports';
import type { ProcessSet } from './processes';
import { requireBinary } from './require-binary';
import { waitFor } from './wait';

/** nginx combined plus the request and upstream times, as the README recommends. */
export const TIMED_LOG_FORMAT = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time';

export interface RunningNginx {
  /** http://127.0.0.1:PORT */
  url: string;
  /** The directory given to nginx with -p (config, pid, temp dirs, logs). */
  prefix: string;
  accessLog: string;
  child: ChildProcess;
  /** kill -USR1 the master: reopen the log files (what logrotate's postrotate does). */
  reopenLogs(): void;
  /** nginx's stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Debian's nginx (nginx-light) in front of a loopback backend, with its own -p prefix, config
 * and pid file on a free loopback port; never the system service. Its access log uses
 * TIMED_LOG_FORMAT. Fails with an install hint when nginx is missing.
 */
export function startNginx(procs: ProcessSet, o: { backendPort: number }): Promise<RunningNginx> {
  // On another port if this one is taken before nginx binds it.
  return onFreePort((port) => startNginxOn(procs, o, port));
}

async function startNginxOn(procs: ProcessSet, o: { backendPort: number }, port: number): Promise<RunningNginx> {
  const bin = requireBinary('nginx', 'sudo apt-get install -y nginx-light');
  const prefix = mkdtempSync(path.join(tmpdir(), 'sw-nginx-'));
  for (const d of ['logs', 'tmp']) mkdirSync(path.join(prefix, d));
  const accessLog = path.join(prefix, 'logs', 'access.log');
  const conf = `
worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log stderr warn;
${process.getuid?.() === 0 ? 'user root root;' : ''}
events { worker_connections 512; }
http {
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  log_format timed '${TIMED_LOG_FORMAT}';
  access_log ${accessLog} timed;
  # One backend that must never be marked unavailable: each request tries it (502 while it is down).
  upstream backend { server 127.0.0.1:${o.backendPort} max_fails=0; keepalive 8; }
  server {
    listen 127.0.0.1:${port};
    location = /__nginx_ready { access_log off; return 204; }
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 2s;
      proxy_read_timeout 10s;
      proxy_next_upstream off;
    }
  }
}
`;
  const confFile = path.join(prefix, 'nginx.conf');
  writeFileSync(confFile, conf);
  let stderr = '';
  const child = procs.start(bin, ['-p', prefix, '-c', confFile, '-e', 'stderr']);
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
  });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const stop = async (): Promise<void> => {
    await procs.kill(child, 'SIGTERM', 5000);
    rmSync(prefix, { recursive: true, force: true });
  };
  try {
    await waitFor('nginx to listen', async () => {
      if (exited) throw new Error(`nginx exited during startup:\n${stderr.slice(-4000)}`);
      return await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
      });
    }, 15_000, 50);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    prefix,
    accessLog,
    child,
    reopenLogs: () => process.kill(child.pid!, 'SIGUSR1'),
    log: () => stderr,
    stop,
  };
}
