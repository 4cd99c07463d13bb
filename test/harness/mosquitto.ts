import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { onFreePort } from './ports';
import type { ProcessSet } from './processes';
import { requireBinary } from './require-binary';
import { sleep, waitFor } from './wait';

const INSTALL = 'apt-get install -y mosquitto mosquitto-clients';
/** libfaketime, which gives a broker a wall clock of its own (`MosquittoOptions.clock`). */
const LIBFAKETIME = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/faketime/libfaketime.so.1`;

export interface MosquittoOptions {
  /** Users for a broker with `allow_anonymous false` (password file made by mosquitto_passwd). */
  users?: Record<string, string>;
  /** `sys_interval` in seconds (default 1). */
  sysInterval?: number;
  /** Log only errors and warnings (no per-connection lines), e.g. for benchmarks. */
  quiet?: boolean;
  /** Serve MQTT over TLS with a fresh CA and a server certificate for 127.0.0.1 (see `caFile`). */
  tls?: boolean;
  /**
   * Run the broker with a wall clock of its own (libfaketime), moved on by `advanceClock()`.
   * Only the wall clock moves: mosquitto times its sys_interval, keepalives and uptime with the
   * monotonic clock, which stays the real one; what it dates by the wall clock (the expiry of
   * retained messages, its log's timestamps) sees the time advanced.
   */
  clock?: boolean;
}

/**
 * A real mosquitto on 127.0.0.1 with its own temp dir and config, started through a ProcessSet
 * (so the test's afterAll killAll() ends it). Restart keeps the port; freeze/thaw send
 * SIGSTOP/SIGCONT for half-open connections.
 */
export class Mosquitto {
  private proc?: ChildProcess;
  private frozen = false;
  private clockOffset = 0;
  /** Everything mosquitto wrote to stderr/stdout across restarts (its log). */
  log = '';

  private constructor(
    private readonly procs: ProcessSet,
    readonly bin: string,
    readonly dir: string,
    readonly port: number,
    readonly configFile: string,
    /** The file libfaketime reads the wall clock's offset from on every call (`clock` brokers). */
    private readonly clockFile?: string,
  ) {}

  /** Starts a broker on a free port (on another one if that port is taken before mosquitto binds it). */
  static start(procs: ProcessSet, opts: MosquittoOptions = {}): Promise<Mosquitto> {
    return onFreePort((port) => Mosquitto.startOn(procs, opts, port));
  }

  private static async startOn(procs: ProcessSet, opts: MosquittoOptions, port: number): Promise<Mosquitto> {
    const bin = requireBinary('mosquitto', INSTALL);
    requireBinary('mosquitto_sub', INSTALL);
    requireBinary('mosquitto_pub', INSTALL);
    if (opts.clock && !existsSync(LIBFAKETIME)) throw new Error(`libfaketime is not installed (${LIBFAKETIME}); this test needs it. Install it with: apt-get install -y libfaketime`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-mosquitto-'));
    const lines = [
      `listener ${port} 127.0.0.1`,
      `sys_interval ${opts.sysInterval ?? 1}`,
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      ...(opts.quiet ? ['connection_messages false'] : ['log_type notice', 'log_type information', 'connection_messages true']),
    ];
    if (opts.users !== undefined) {
      const passwd = path.join(dir, 'passwd');
      let first = true;
      for (const [user, pass] of Object.entries(opts.users)) {
        execFileSync(requireBinary('mosquitto_passwd', INSTALL), [...(first ? ['-c'] : []), '-b', passwd, user, pass]);
        first = false;
      }
      lines.push('allow_anonymous false', `password_file ${passwd}`);
      // Started as root, mosquitto drops to its own user before reading the password file.
      if (process.getuid?.() === 0) {
        const owner = systemUser('mosquitto');
        if (owner !== undefined) {
          chmodSync(dir, 0o755);
          chownSync(passwd, owner.uid, owner.gid);
          chmodSync(passwd, 0o600);
        } else {
          lines.push('user root');
        }
      }
    } else {
      lines.push('allow_anonymous true');
    }
    if (opts.tls) {
      makeCertificates(dir);
      if (process.getuid?.() === 0) chmodSync(dir, 0o755);
      for (const f of ['ca.crt', 'server.crt', 'server.key']) chmodSync(path.join(dir, f), 0o644);
      lines.push(`cafile ${path.join(dir, 'ca.crt')}`, `certfile ${path.join(dir, 'server.crt')}`, `keyfile ${path.join(dir, 'server.key')}`);
    }
    const configFile = path.join(dir, 'mosquitto.conf');
    writeFileSync(configFile, `${lines.join('\n')}\n`);
    let clockFile: string | undefined;
    if (opts.clock) {
      clockFile = path.join(dir, 'clock');
      writeFileSync(clockFile, '+0\n');
      // Started as root, mosquitto reads the file as its own user after dropping privileges.
      if (process.getuid?.() === 0) {
        chmodSync(dir, 0o755);
        chmodSync(clockFile, 0o644);
      }
    }
    const m = new Mosquitto(procs, bin, dir, port, configFile, clockFile);
    try {
      await m.run();
    } catch (err) {
      await m.stop();
      m.cleanup();
      throw err;
    }
    return m;
  }

  get url(): string {
    return `${this.tlsEnabled() ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  /** The CA that signed the server certificate (TLS brokers). */
  get caFile(): string {
    return path.join(this.dir, 'ca.crt');
  }

  private tlsEnabled(): boolean {
    return existsSync(path.join(this.dir, 'server.crt'));
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private async run(): Promise<void> {
    const clock = this.clockFile === undefined ? {} : {
      LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: this.clockFile, FAKETIME_NO_CACHE: '1', DONT_FAKE_MONOTONIC: '1',
    };
    const p = this.procs.start(this.bin, ['-c', this.configFile], { env: { ...process.env, ...clock } });
    this.proc = p;
    p.stderr?.on('data', (d: Buffer) => {
      this.log += d.toString('utf8');
      if (this.log.length > 1_000_000) this.log = this.log.slice(-500_000);
    });
    p.stdout?.on('data', (d: Buffer) => {
      this.log += d.toString('utf8');
    });
    await waitFor(`mosquitto listening on 127.0.0.1:${this.port}`, async () => {
      if (p.exitCode !== null) throw new Error(`mosquitto exited with ${p.exitCode}: ${this.log.slice(-2000)}`);
      return canConnect(this.port);
    }, 10_000, 50);
  }

  /** Stops the broker (SIGTERM, bounded wait). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (p === undefined) return;
    if (this.frozen) this.thaw();
    await this.procs.kill(p, 'SIGTERM', 3000);
    this.proc = undefined;
  }

  /** Kills the broker outright (SIGKILL): no goodbye to its clients beyond the kernel closing the sockets. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (p === undefined) return;
    if (this.frozen) this.thaw();
    await this.procs.kill(p, 'SIGKILL', 3000);
    this.proc = undefined;
  }

  /** Starts it again on the same port (after stop()). */
  async startAgain(): Promise<void> {
    if (this.proc !== undefined) throw new Error('mosquitto is still running');
    // The port may linger briefly in the kernel; mosquitto sets SO_REUSEADDR, so retry a little.
    for (let i = 0; ; i += 1) {
      try {
        await this.run();
        return;
      } catch (err) {
        this.proc = undefined;
        if (i >= 5) throw err;
        await sleep(200);
      }
    }
  }

  /**
   * Moves the broker's wall clock `seconds` further ahead (a `clock` broker; kept across
   * restarts). E.g. past the 60 s expiry mosquitto gives its retained `$SYS` values, without
   * waiting for it.
   */
  advanceClock(seconds: number): void {
    if (this.clockFile === undefined) throw new Error('advanceClock() needs a broker started with { clock: true }');
    this.clockOffset += seconds;
    // Whole or not at all: libfaketime may read the file at any moment.
    writeFileSync(`${this.clockFile}.new`, `+${this.clockOffset}\n`, { mode: 0o644 });
    renameSync(`${this.clockFile}.new`, this.clockFile);
  }

  freeze(): void {
    process.kill(this.proc!.pid!, 'SIGSTOP');
    this.frozen = true;
  }

  thaw(): void {
    process.kill(this.proc!.pid!, 'SIGCONT');
    this.frozen = false;
  }

  /**
   * The broker's retained `$SYS/broker/#` values as `mosquitto_sub -v -t '$SYS/broker/#'` reads
   * them right now. With `count` (the number of retained `$SYS/broker` topics, from an earlier
   * snapshot) it exits right after the retained burst (`-C count`); without, it stops at the
   * first live message (`--retained-only`), which takes up to one sys_interval.
   */
  sysSnapshot(count?: number, timeoutMs = 3000): Promise<Map<string, string>> {
    return new Promise((resolve, reject) => {
      const args = ['-h', '127.0.0.1', '-p', String(this.port), '-v', '-t', '$SYS/broker/#', '-W', String(Math.ceil(timeoutMs / 1000))];
      args.push(...(count !== undefined ? ['-C', String(count)] : ['--retained-only']));
      const p = spawn('mosquitto_sub', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      p.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
      const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs + 1000);
      p.on('exit', () => {
        clearTimeout(timer);
        const map = new Map<string, string>();
        for (const line of out.split('\n')) {
          // Topic names may contain spaces ("retained messages/count"): the value is the last word(s)
          // after the topic, so match the known prefix up to the first space after the last '/'.
          const m = /^(\$SYS\/broker\/(?:[^/\n]*\/)*[^ \n]*) (.*)$/.exec(line);
          if (m !== null) map.set(m[1]!, m[2]!);
        }
        if (map.size === 0) reject(new Error(`mosquitto_sub read nothing: ${err}`));
        else resolve(map);
      });
    });
  }

  /** Publishes one message with mosquitto_pub (optionally as a given client id). */
  publish(topic: string, message: string, opts: { clientId?: string; retain?: boolean } = {}): void {
    execFileSync('mosquitto_pub', [
      '-h', '127.0.0.1', '-p', String(this.port), '-t', topic, '-m', message,
      ...(opts.clientId !== undefined ? ['-i', opts.clientId] : []),
      ...(opts.retain ? ['-r'] : []),
    ], { timeout: 5000 });
  }

  /** Removes the temp dir (call after the process is gone). */
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A throw-away CA and a server certificate for 127.0.0.1 (openssl). */
function makeCertificates(dir: string): void {
  const openssl = requireBinary('openssl', 'apt-get install -y openssl');
  const run = (...args: string[]): void => {
    execFileSync(openssl, args, { cwd: dir, stdio: 'pipe', timeout: 20_000 });
  };
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=stackwatch test CA', '-keyout', 'ca.key', '-out', 'ca.crt');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt');
}

function systemUser(name: string): { uid: number; gid: number } | undefined {
  try {
    const [, , uid, gid] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
