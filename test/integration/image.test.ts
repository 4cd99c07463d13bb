import path from 'node:path';
import { Dockerd } from '../harness/dockerd';
import { importNodeBaseImage, run } from '../harness/node-image';
import { waitFor } from '../harness/wait';

/**
 * Builds the Dockerfile for real in a private Docker engine (its base image made locally with
 * `docker import`, see node-image.ts) and runs the image as docker-compose.yml runs it: read-only
 * root, every capability dropped, no-new-privileges, uid 10001, the host's /proc mounted. The
 * image must turn healthy through its own HEALTHCHECK and serve /metrics. The private engine has
 * no bridge network, so /metrics is read from inside the container with `docker exec`.
 */
jest.setTimeout(600_000);

const REPO = path.join(__dirname, '..', '..');
const BASE = 'stackwatch-test/node24:latest';
const IMAGE = 'stackwatch-test/stackwatch:latest';

let dockerd: Dockerd;
beforeAll(async () => {
  dockerd = await Dockerd.start({ storageDriver: 'overlay2' });
  await importNodeBaseImage(dockerd, BASE);
}, 180_000);
afterAll(async () => {
  await dockerd?.stop();
}, 60_000);

it('builds, runs read-only and unprivileged as compose does, turns healthy and serves /metrics', async () => {
  // The classic builder with the host's network: npm ci inside the build reaches the registry.
  const build = await run('docker', ['-H', dockerd.host, 'build', '--network', 'host', '--build-arg', `NODE_IMAGE=${BASE}`, '-t', IMAGE, REPO], 420_000,
    { ...process.env, DOCKER_BUILDKIT: '0' });
  if (build.code !== 0) throw new Error(`docker build failed:\n${build.stdout.slice(-4000)}\n${build.stderr.slice(-4000)}`);

  // Not the default port: the HEALTHCHECK must follow the address the exporter was told to use.
  const listen = '0.0.0.0:9911';
  await dockerd.ok([
    'run', '-d', '--name', 'sw', '--network', 'none', '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true',
    '-v', '/proc:/host/proc:ro',
    // Docker's first health check comes one interval after the start; a short one keeps the test short.
    '--health-interval', '2s', '--health-start-period', '1s',
    // As compose runs it: the data directory on a volume, the only writable path.
    '-v', 'sw-data:/var/lib/stackwatch',
    IMAGE, '--listen', listen, '--storage.path', '/var/lib/stackwatch',
  ]);
  const health = await waitFor('the container to turn healthy', async () => {
    const s = await dockerd.inspect('sw');
    if (!s.State.Running) throw new Error(`container stopped: ${(await dockerd.docker(['logs', 'sw'])).stderr.slice(-2000)}`);
    return s.State.Health?.Status === 'healthy' ? s.State.Health.Status : undefined;
  }, 60_000, 500);
  expect(health).toBe('healthy');

  const uid = await dockerd.ok(['exec', 'sw', 'node', '-e', 'process.stdout.write(String(process.getuid()))']);
  expect(uid).toBe('10001');
  const metrics = await dockerd.ok(['exec', 'sw', 'node', '-e',
    "fetch('http://127.0.0.1:9911/metrics').then(r=>r.text()).then(t=>process.stdout.write(t),e=>{console.error(e);process.exit(1)})"]);
  expect(metrics).toMatch(/^stackwatch_build_info\{[^}]*nodejs="v24\./m);
  // History survives restarts: the snapshot lands in the volume, written by uid 10001.
  await waitFor('the first snapshot in the data volume', async () =>
    (await dockerd.docker(['exec', 'sw', 'ls', '/var/lib/stackwatch'])).stdout.includes('snapshot.json.gz'), 30_000, 500);
  // Production dependencies only: the runtime's, none of the build's or the tests'.
  const modules = (await dockerd.ok(['exec', 'sw', 'ls', '/app/node_modules'])).split('\n');
  expect(modules).toEqual(expect.arrayContaining(['prom-client', 'mqtt', 'express']));
  for (const dev of ['typescript', 'jest', 'eslint', 'fast-check']) expect(modules).not.toContain(dev);
  // Read-only root: nothing can be written outside what compose mounts.
  const write = await dockerd.docker(['exec', 'sw', 'node', '-e', "require('fs').writeFileSync('/app/x','x')"]);
  expect(write.code).not.toBe(0);
  expect(write.stderr).toMatch(/EROFS|read-only/);

  // A second container on the same data volume (compose's `scale`, or a copy started by hand)
  // is refused once it sees the first one's lock refreshed: one daemon per data directory.
  await dockerd.ok(['run', '-d', '--name', 'sw2', '--network', 'none', '--read-only', '--cap-drop', 'ALL',
    '-v', 'sw-data:/var/lib/stackwatch', IMAGE, '--listen', '0.0.0.0:9912', '--storage.path', '/var/lib/stackwatch']);
  const second = await waitFor('the second container on the same volume to exit', async () => {
    const s = await dockerd.inspect('sw2');
    return s.State.Running ? undefined : s.State;
  }, 30_000, 500);
  const logs = await dockerd.docker(['logs', 'sw2']);
  expect([second.ExitCode, logs.stdout + logs.stderr]).toEqual([1, expect.stringContaining('/var/lib/stackwatch: in use by another stackwatch (pid 1 in pid namespace')]);
  expect((await dockerd.inspect('sw')).State.Running).toBe(true);
});
