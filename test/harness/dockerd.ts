import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { requireBinary } from './require-binary';
import { sleep, waitFor, within } from './wait';

/**
 * A private Docker engine for one test file: its own dockerd on a unix socket in a
 * temp dir, no networking (no iptables, no bridge), vfs storage, and a busybox image built with
 * `docker import` (nothing is ever pulled). stop() removes every container, stops the daemon
 * and the containerd it started, kills leftover shims of this daemon and deletes the temp dir.
 */

export const IMAGE = 'stackwatch-test/busybox:latest';
const INSTALL = 'apt-get install -y docker.io busybox-static';
const APPLETS = ['sh', 'sleep', 'echo', 'cat', 'tr', 'true', 'false', 'ls', 'ps', 'head', 'dd', 'yes', 'wc', 'kill'];

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Dockerd {
  readonly dir: string;
  readonly socket: string;
  readonly host: string;
  private proc?: ChildProcess;
  private readonly dockerBin: string;
  private readonly dockerdBin: string;
  private log = '';

  /**
   * vfs (the default) works everywhere and is fast enough for busybox containers; overlay2 is for
   * tests that build images, where vfs copies every layer in full for each build step.
   */
  private constructor(private readonly storageDriver: 'vfs' | 'overlay2') {
    this.dockerdBin = requireBinary('dockerd', INSTALL);
    this.dockerBin = requireBinary('docker', INSTALL);
    requireBinary('containerd', INSTALL);
    // Short path: unix socket paths are limited to 107 bytes.
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'swd-'));
    this.socket = path.join(this.dir, 'docker.sock');
    this.host = `unix://${this.socket}`;
  }

  /** Starts a daemon and builds the busybox image. */
  static async start(opts: { storageDriver?: 'vfs' | 'overlay2' } = {}): Promise<Dockerd> {
    const d = new Dockerd(opts.storageDriver ?? 'vfs');
    try {
      await d.startDaemon();
      await d.buildImage();
    } catch (err) {
      await d.stop();
      throw err;
    }
    return d;
  }

  /** Starts (or restarts, on the same data) the daemon and waits until it answers. */
  async startDaemon(timeoutMs = 30_000): Promise<void> {
    const d = this.dir;
    const p = spawn(this.dockerdBin, [
      '--iptables=false', '--ip6tables=false', '--bridge=none', `--storage-driver=${this.storageDriver}`,
      `--host=unix://${d}/docker.sock`, `--data-root=${d}/data`, `--exec-root=${d}/exec`, `--pidfile=${d}/dockerd.pid`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    const keep = (b: Buffer): void => {
      this.log = (this.log + b.toString()).slice(-20_000);
    };
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    const exited = new Promise<never>((_, reject) => p.once('exit', (code) => reject(new Error(`dockerd exited with ${code}:\n${this.log.slice(-3000)}`))));
    exited.catch(() => undefined);
    await Promise.race([
      waitFor('dockerd to answer', async () => (await this.docker(['version', '--format', '{{.Server.Version}}'], 5000)).code === 0, timeoutMs, 200),
      exited,
    ]);
  }

  /** SIGKILLs the daemon (its containers' shims live on) and waits for it to exit. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await within(gone, 5000, undefined);
    // Its containerd child goes with it; make sure, and remove the stale pid files, which would
    // stop the next daemon from starting.
    await this.killContainerd();
    rmSync(path.join(this.dir, 'dockerd.pid'), { force: true });
    rmSync(path.join(this.dir, 'exec', 'containerd', 'containerd.pid'), { force: true });
    this.proc = undefined;
  }

  private async buildImage(): Promise<void> {
    const root = path.join(this.dir, 'image-root');
    mkdirSync(path.join(root, 'bin'), { recursive: true });
    mkdirSync(path.join(root, 'tmp'), { recursive: true });
    const busybox = requireBinary('busybox', INSTALL);
    // The image has no libraries: a dynamically linked busybox (the `busybox` package) cannot run in it.
    if (readFileSync(busybox).subarray(0, 4096).includes('ld-linux')) {
      throw new Error(`${busybox} is dynamically linked; the test image needs the static one. Install it with: ${INSTALL}`);
    }
    copyFileSync(busybox, path.join(root, 'bin', 'busybox'));
    for (const a of APPLETS) symlinkSync('busybox', path.join(root, 'bin', a));
    const r = await run('sh', ['-c', `tar -C '${root}' -c . | '${this.dockerBin}' -H '${this.host}' import - ${IMAGE}`], 60_000);
    if (r.code !== 0) throw new Error(`docker import failed: ${r.stderr}`);
  }

  /** Runs the docker CLI against this daemon. */
  docker(args: readonly string[], timeoutMs = 30_000): Promise<ExecResult> {
    return run(this.dockerBin, ['-H', this.host, ...args], timeoutMs);
  }

  /** Like docker(), but throws unless it exits 0; returns trimmed stdout. */
  async ok(args: readonly string[], timeoutMs = 30_000): Promise<string> {
    const r = await this.docker(args, timeoutMs);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout.trim();
  }

  /** `docker run -d --network none` of the busybox image; returns the container id. */
  runContainer(name: string, opts: readonly string[], cmd: readonly string[]): Promise<string> {
    return this.ok(['run', '-d', '--network', 'none', '--name', name, ...opts, IMAGE, ...cmd]);
  }

  async inspect(name: string): Promise<DockerInspect> {
    return (JSON.parse(await this.ok(['inspect', name])) as DockerInspect[])[0]!;
  }

  async stop(): Promise<void> {
    try {
      if (this.proc !== undefined && this.proc.exitCode === null) {
        const ids = (await this.docker(['ps', '-aq'], 15_000)).stdout.split('\n').filter((s) => s !== '');
        if (ids.length > 0) await this.docker(['rm', '-f', ...ids], 30_000);
        const p = this.proc;
        const gone = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGTERM');
        await within(gone, 10_000, undefined);
        if (p.exitCode === null && p.signalCode === null) {
          p.kill('SIGKILL');
          await within(gone, 3000, undefined);
        }
      }
    } finally {
      await this.killContainerd();
      await this.killShims();
      this.unmountAll();
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
    }
  }

  /** Last lines of the daemon's log, for failure messages. */
  tail(): string {
    return this.log.slice(-3000);
  }

  private async killContainerd(): Promise<void> {
    const pidFile = path.join(this.dir, 'exec', 'containerd', 'containerd.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) return;
    if (!cmdlineOf(pid).includes(this.dir)) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    await waitFor('containerd to exit', () => !existsSync(`/proc/${pid}`) || cmdlineOf(pid) === '', 5000, 50).catch(() => undefined);
  }

  /** containerd-shim processes of this daemon (their -address names our temp dir) and their containers. */
  private async killShims(): Promise<void> {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      const cmd = cmdlineOf(pid);
      if (!cmd.includes('containerd-shim') || !cmd.includes(this.dir)) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await sleep(100);
  }

  /** dockerd leaves mounts under its data/exec roots when killed; unmount them before deleting. */
  private unmountAll(): void {
    let mounts: string[];
    try {
      mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(this.dir));
    } catch {
      return;
    }
    for (const m of mounts.sort((a, b) => b.length - a.length)) {
      try {
        execFileSyncQuiet('umount', ['-l', m.replace(/\\040/g, ' ')]);
      } catch {
        /* not mounted any more */
      }
    }
  }
}

function execFileSyncQuiet(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'ignore', timeout: 5000 });
}

/**
 * A unix-socket relay in front of the daemon, like the socket proxy of the bundle: the exporter
 * talks to it, so a test can make the engine unreachable for the exporter (down()), cut open
 * streams (cut()), and bring it back (up()) while the docker CLI keeps its own access.
 */
export class SocketRelay {
  readonly socket: string;
  readonly host: string;
  private server?: net.Server;
  private readonly conns = new Set<net.Socket>();
  private readonly eventClients = new Set<net.Socket>();

  constructor(private readonly target: string, dir: string) {
    this.socket = path.join(dir, 'relay.sock');
    this.host = `unix://${this.socket}`;
  }

  up(): Promise<void> {
    if (this.server !== undefined) return Promise.resolve();
    rmSync(this.socket, { force: true });
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      this.conns.add(client);
      this.conns.add(upstream);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        this.conns.delete(client);
        this.conns.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      // Connections are kept alive and reused: any request on it may be the events one.
      client.on('data', (chunk: Buffer) => {
        if (!this.eventClients.has(client) && /^GET [^ ]*\/events/.test(chunk.toString('latin1', 0, 200))) {
          this.eventClients.add(client);
          client.once('close', () => this.eventClients.delete(client));
        }
      });
      client.pipe(upstream);
      upstream.pipe(client);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socket, () => resolve());
    });
  }

  /**
   * Writes `data` into every open events stream as one HTTP chunk of its own, as if the daemon
   * had sent it (call while the daemon is quiet, so it lands between the daemon's chunks).
   * Returns how many streams got it.
   */
  inject(data: Buffer | string): number {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    for (const c of this.eventClients) c.write(Buffer.concat([Buffer.from(`${buf.length.toString(16)}\r\n`), buf, Buffer.from('\r\n')]));
    return this.eventClients.size;
  }

  /** Destroys the open connections (an events stream cut mid-way); new ones are accepted. */
  cut(): void {
    for (const c of this.conns) c.destroy();
    this.conns.clear();
  }

  /** Stops accepting and cuts everything: the engine looks gone. */
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    this.cut();
    if (s !== undefined) await new Promise<void>((r) => s.close(() => r()));
    rmSync(this.socket, { force: true });
  }
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function run(cmd: string, args: readonly string[], timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The parts of `docker inspect` the tests compare with. */
export interface DockerInspect {
  Id: string;
  Name: string;
  RestartCount: number;
  State: {
    Status: string;
    Running: boolean;
    OOMKilled: boolean;
    ExitCode: number;
    Pid: number;
    StartedAt: string;
    FinishedAt: string;
    Health?: { Status: string };
  };
}
