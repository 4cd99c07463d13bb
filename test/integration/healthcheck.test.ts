import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { issue, makeCa } from '../harness/certs';
import { decodeProcAddress, parseListeners } from '../../src/healthcheck';
import { boundPort } from '../harness/built-daemon';
import { spawnCli } from '../harness/cli';
import { waitFor } from '../harness/wait';

jest.setTimeout(60_000);

/** The image's HEALTHCHECK command, run as Docker runs it (dist/healthcheck.js), against `pid`. */
const HEALTHCHECK = path.join(__dirname, '..', '..', 'dist', 'healthcheck.js');
function healthcheck(pid: number): number | null {
  return spawnSync(process.execPath, [HEALTHCHECK], { env: { ...process.env, STACKWATCH_HEALTHCHECK_PID: String(pid) }, timeout: 20_000 }).status;
}

describe('reading listening sockets from /proc/net', () => {
  it('decodes IPv4, IPv6 and IPv4-mapped addresses', () => {
    expect(decodeProcAddress('0100007F:24E1')).toEqual({ host: '127.0.0.1', port: 9441 });
    expect(decodeProcAddress('00000000:0050')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(decodeProcAddress('00000000000000000000000001000000:1F90')).toEqual({ host: '::1', port: 8080 });
    expect(decodeProcAddress('00000000000000000000000000000000:1F90')).toEqual({ host: '::', port: 8080 });
    expect(decodeProcAddress('0000000000000000FFFF00000100007F:1F90')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(decodeProcAddress('nonsense')).toBeUndefined();
  });

  it('keeps only sockets in state LISTEN, by inode', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:24E1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0',
      '   1: 0100007F:24E1 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 20 4 30 10 -1',
    ].join('\n');
    expect([...parseListeners(table)]).toEqual([['111', { host: '127.0.0.1', port: 9441 }]]);
  });
});

describe('the image HEALTHCHECK against the built exporter', () => {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null) {
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await gone;
      }
    }
  });

  /**
   * The built exporter told to listen on `host` port 0 (the kernel's choice, read back from its
   * log: no port to lose to a parallel test); answering on `urlHost` at that port.
   */
  async function daemon(host: string, urlHost: string, extra: string[] = [], answered = (s: number) => s === 200): Promise<ChildProcess> {
    const child = spawnCli(['--listen', `${host}:0`, ...extra]);
    children.push(child);
    const url = `http://${urlHost}:${await boundPort(child, 20_000)}`;
    await waitFor('the exporter to answer', async () => {
      const status = (await fetch(`${url}/-/healthy`).catch(() => undefined))?.status;
      return status !== undefined && answered(status);
    }, 20_000, 100);
    return child;
  }

  it('finds the port the exporter was told to use, on a loopback or a wildcard address', async () => {
    const a = await daemon('127.0.0.1', '127.0.0.1');
    expect(healthcheck(a.pid!)).toBe(0);
    const b = await daemon('[::]', '[::1]');
    expect(healthcheck(b.pid!)).toBe(0);
  });

  it('speaks TLS and counts a basic-auth 401 as alive when a web config file turns them on', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sw-hc-'));
    try {
      const ca = makeCa(dir, 'ca');
      const srv = issue(dir, ca, 'server');
      const web = path.join(dir, 'web.yml');
      writeFileSync(web, `tls_server_config:\n  cert_file: ${srv.crt}\n  key_file: ${srv.key}\nbasic_auth_users:\n  alice: '${bcrypt.hashSync('pw', 4)}'\n`);
      const child = spawnCli(['--listen', '127.0.0.1:0', '--web.config.file', web]);
      children.push(child);
      const p = await boundPort(child, 20_000);
      await waitFor('the exporter to listen', () => new Promise<boolean>((resolve) => {
        const s = net.connect(p, '127.0.0.1', () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
      }), 20_000, 100);
      expect(healthcheck(child.pid!)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails when the exporter does not answer (stopped) and for a process that listens nowhere', async () => {
    const a = await daemon('127.0.0.1', '127.0.0.1');
    a.kill('SIGSTOP');
    try {
      expect(healthcheck(a.pid!)).toBe(1);
    } finally {
      a.kill('SIGCONT');
    }
    expect(healthcheck(process.pid)).toBe(1);
  });
});
