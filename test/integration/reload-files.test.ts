import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAIN, withStorage } from '../harness/cli';
import { boundPort } from '../harness/built-daemon';
import { ProcessSet } from '../harness/processes';
import { waitFor } from '../harness/wait';

/**
 * A reload that meets a FIFO or /dev/zero as a secret file (or as the config file's target) is
 * refused at once: the event loop never blocks, /metrics keeps answering, SIGTERM still stops the
 * daemon. The built daemon.
 */

jest.setTimeout(60_000);

const procs = new ProcessSet();
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sw-reload-'));
});
afterAll(async () => {
  await procs.killAll();
  rmSync(dir, { recursive: true, force: true });
});

test('reloads hitting a FIFO or /dev/zero fail fast; the daemon stays responsive and stops on SIGTERM', async () => {
  const cfg = path.join(dir, 'c.yml');
  const base = `server: { listen: "127.0.0.1:0" }\n`;
  writeFileSync(cfg, base);
  const daemon = procs.start(process.execPath, [MAIN, ...withStorage(['--config', cfg, '--web.enable-lifecycle'])]);
  const url = `http://127.0.0.1:${await boundPort(daemon, 15_000)}`;
  await waitFor('ready', async () => (await fetch(`${url}/-/ready`)).ok, 15_000);
  const fifo = path.join(dir, 'secret.fifo');
  execFileSync('mkfifo', [fifo]);
  for (const file of [fifo, '/dev/zero']) {
    writeFileSync(cfg, `${base}mqtt:\n  - { name: m, url: "mqtt://127.0.0.1:1", username: u, password_file: ${file} }\n`);
    const res = await fetch(`${url}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(3000) });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain(`mqtt[0].password_file: cannot read secret file ${file}: not a regular file`);
    const m = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3000) });
    expect(await m.text()).toContain('stackwatch_config_last_reload_successful 0');
  }
  const exited = new Promise<number | null>((r) => daemon.once('exit', (code) => r(code)));
  daemon.kill('SIGTERM');
  expect(await exited).toBe(0);
});
