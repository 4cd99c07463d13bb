import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { boundPort, startedPort } from '../harness/built-daemon';
import { MAIN, runCli, spawnCli } from '../harness/cli';
import { startFaultServer, type FaultServer } from '../harness/fault-server';
import { ProcessSet, stopChild } from '../harness/processes';
import { scrape } from '../harness/prom-text';
import { requireBinary } from '../harness/require-binary';
import { waitFor } from '../harness/wait';
import { startCommand } from '../harness/start-command';

jest.setTimeout(60_000);

let dir: string;
let fault: FaultServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sw-cli-'));
  fault = await startFaultServer();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await fault.close();
});

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

const HTTP = (extra = '') => `http:\n  - name: backend\n    url: http://127.0.0.1:1/api/health\n${extra}`;

describe('stackwatch --check-config', () => {
  it('accepts a valid file and an empty one', () => {
    const ok = runCli(['--config', file('ok.yml', HTTP()), '--check-config']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/configuration is valid \(1 http/);
    expect(runCli(['--config', file('empty.yml', ''), '--check-config']).status).toBe(0);
  });

  it('counts log sources and their traffic targets, and says what else it watches', () => {
    const logs = 'logs:\n  - { name: proxy, path: /var/log/nginx/access.log, traffic: {} }\n  - { name: app, path: /var/log/app/access.log }\n';
    const r = runCli(['--config', file('logs.yml', `${HTTP()}${logs}docker: { enabled: false }\n`), '--check-config']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('configuration is valid (1 http, 0 mqtt, 0 process targets, 2 log sources (1 traffic target); no docker)');
    const none = runCli(['--config', file('nologs.yml', HTTP()), '--check-config']);
    expect(none.stdout).toContain('0 log sources; docker if its socket exists)');
    const builtin = runCli(['--check-config'], { STACKWATCH_CONFIG: '' });
    expect(builtin.stdout).toContain('<built-in default config>: configuration is valid (0 http, 0 mqtt, 0 process targets, 0 log sources; docker if its socket exists, process discovery)');
  });

  it('--help names the access logs among what it watches', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/processes, and the access logs of the reverse proxy and backend/);
    expect(r.stdout).toContain('no access logs');
  });

  it.each([
    ['unknown key', HTTP('    intervall: 5s\n'), 'http[0].intervall: unknown key'],
    ['wrong type', HTTP('    max_redirects: many\n'), 'http[0].max_redirects: expected number, got "many"'],
    ['bad duration', HTTP('    interval: 5 seconds\n'), 'http[0].interval: expected a duration like 500ms, 5s or 2m, got "5 seconds"'],
    ['missing env var', HTTP('    headers: { Authorization: "Bearer ${STACKWATCH_TEST_UNSET_TOKEN}" }\n'), 'http[0].headers.Authorization: environment variable STACKWATCH_TEST_UNSET_TOKEN is not set'],
  ])('refuses a config with a %s: names file and path, exits 2, no stack trace', (_what, text, message) => {
    const f = file('bad.yml', text);
    const r = runCli(['--config', f, '--check-config']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${f}: ${message}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a missing file with exit code 2', () => {
    const r = runCli(['--config', path.join(dir, 'nope.yml'), '--check-config']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('nope.yml: cannot read the configuration file: file not found');
  });

  it('refuses a config that fails at start the same way (no --check-config)', () => {
    const r = runCli(['--config', file('bad2.yml', 'bogus: 1\n')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('bogus: unknown key');
  });

  it('validates --listen and unknown flags', () => {
    expect(runCli(['--listen', 'nowhere', '--check-config']).status).toBe(2);
    expect(runCli(['--frobnicate']).status).toBe(2);
    expect(runCli(['--version']).stdout).toMatch(/^stackwatch \d+\.\d+\.\d+/);
    expect(runCli(['--help']).stdout).toContain('--check-config');
    expect(runCli(['--help']).stdout).toContain('--storage.path DIR');
    expect(runCli(['--storage.path', '', '--check-config']).stderr).toContain('--storage.path: expected a directory');
  });
});

describe('stackwatch as a daemon', () => {
  it('reloads on SIGHUP and POST /-/reload, keeps the old config when the new one is bad, and stops on SIGTERM within 2 s', async () => {
    const cfg = file('live.yml', `http:\n  - { name: first, url: "${fault.url}/", interval: 1s, timeout: 500ms }\n  - { name: hanging, url: "${fault.url}/hang", interval: 2s, timeout: 1500ms }\n`);
    const p = spawnCli(['--config', cfg, '--listen', '127.0.0.1:0', '--web.enable-lifecycle']);
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const port = await boundPort(p);
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitFor('first target up', async () => (await scrape(base)).get('stackwatch_target_up', { kind: 'http', target: 'first' }) === 1);
      expect((await scrape(base)).get('stackwatch_config_last_reload_successful')).toBe(1);

      // A bad config: refused, metric 0, the old targets keep being probed.
      writeFileSync(cfg, 'http: [ { name: first, url: 42 } ]\n');
      p.kill('SIGHUP');
      await waitFor('reload failure', async () => (await scrape(base)).get('stackwatch_config_last_reload_successful') === 0);
      const before = (await scrape(base)).get('stackwatch_target_checks_total', { kind: 'http', target: 'first' })!;
      await waitFor('old config still probing', async () => (await scrape(base)).get('stackwatch_target_checks_total', { kind: 'http', target: 'first' })! > before);
      expect(stderr).toContain('configuration reload failed');
      const refused = await fetch(`${base}/-/reload`, { method: 'POST' });
      expect(refused.status).toBe(500);
      expect(await refused.text()).toContain('http[0].url');

      // A good config through POST /-/reload: the new target appears, the removed ones vanish,
      // and the counters of the kept one carry on.
      writeFileSync(cfg, `http:\n  - { name: first, url: "${fault.url}/", interval: 1s, timeout: 500ms }\n  - { name: second, url: "${fault.url}/status/503", interval: 1s, timeout: 500ms }\n`);
      const checksBefore = (await scrape(base)).get('stackwatch_target_checks_total', { kind: 'http', target: 'first' })!;
      const ok = await fetch(`${base}/-/reload`, { method: 'POST' });
      expect(ok.status).toBe(200);
      const m = await waitFor('second target observed', async () => {
        const s = await scrape(base);
        return s.get('stackwatch_target_up', { kind: 'http', target: 'second' }) === 0 ? s : undefined;
      });
      expect(m.get('stackwatch_config_last_reload_successful')).toBe(1);
      expect(m.all('stackwatch_target_up', { target: 'hanging' })).toEqual([]);
      expect(m.all('stackwatch_http_failures_total', { target: 'hanging' })).toEqual([]);
      expect(m.get('stackwatch_target_checks_total', { kind: 'http', target: 'first' })).toBeGreaterThanOrEqual(checksBefore);

      // SIGTERM with a probe hanging: out in under 2 s, exit code 0.
      const t0 = Date.now();
      const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
      p.kill('SIGTERM');
      const code = await exited;
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(code).toBe(0);
    } finally {
      await stopChild(p);
    }
  });

  it('runs the built-in default config when given none, and names a process whatever its name holds', async () => {
    // Its own PID namespace with its own /proc: the default config discovers the daemon and one
    // process of ours, never the host's (whose names a test cannot know). That process's name,
    // the executable's file name, holds what the text format must escape or carry raw.
    const unshare = requireBinary('unshare', 'apt-get install -y util-linux');
    const odd = 'sw\t\r\x01"\\\n},=';
    const exe = path.join(dir, odd);
    symlinkSync(requireBinary('sleep', 'apt-get install -y coreutils'), exe);
    const procs = new ProcessSet();
    const p = procs.start(unshare, ['--pid', '--fork', '--mount-proc', 'bash', '-c', '"$1" 600 & exec "$2" "$3" --listen 127.0.0.1:0 --storage.path "$4"', '_',
      exe, process.execPath, MAIN, path.join(dir, 'default-data')], { env: { ...process.env, STACKWATCH_CONFIG: '' } });
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    try {
      const port = await waitFor('the daemon to log its port', () => {
        if (p.exitCode !== null) throw new Error(`exited ${p.exitCode}: ${stderr}`);
        return startedPort(stderr);
      }, 20_000, 50);
      const base = `http://127.0.0.1:${port}`;
      const m = await waitFor('exporter up', async () => scrape(base));
      expect(m.get('stackwatch_build_info', {})).toBe(1);
      const page = await (await fetch(`${base}/`)).text();
      expect(page).toContain('&lt;built-in default config&gt;');
      // The odd name read back exactly from /metrics: one process, with its memory.
      const groups = await waitFor('the odd process discovered', async () => {
        const g = (await scrape(base)).all('stackwatch_process_group_processes').map((s) => s.labels.group!);
        return g.includes(odd) ? g : undefined;
      });
      // (and the daemon itself; the helpers it runs now and then, such as sh and cat, may show too)
      expect(groups).toEqual(expect.arrayContaining([odd, 'node']));
      const after = await scrape(base);
      expect(after.get('stackwatch_process_group_processes', { group: odd })).toBe(1);
      expect(after.get('stackwatch_process_resident_memory_bytes', { group: odd })).toBeGreaterThan(0);
      // Not an empty page: the process groups it discovered, with their memory.
      const discovered = await waitFor('discovered process groups on the page', async () => {
        const html = await (await fetch(`${base}/`)).text();
        return html.includes('Discovered on this host') ? html : undefined;
      });
      expect(discovered).toMatch(/<td>process group<\/td><td>node<\/td><td class="state">running \(1\)<\/td><td class="mem">[\d.]+ (KiB|MiB|GiB)<\/td>/);
      expect((await fetch(`${base}/-/ready`)).status).toBe(200);
    } finally {
      await procs.killAll();
    }
  });

  it('as `npm start` runs it (default data/ in the working directory), keeps no files for collectors it does not run', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'sw-cli-cwd-'));
    // Not spawnCli: it adds a temporary --storage.path, and the default one is the point here.
    const s = startCommand();
    const p = spawn(process.execPath, [...s.nodeArgs, s.script, '--listen', '127.0.0.1:0'], { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...s.env, STACKWATCH_CONFIG: '' } });
    try {
      const port = await boundPort(p);
      await waitFor('exporter up', async () => scrape(`http://127.0.0.1:${port}`));
      // Past a save of the positions (once a second) and of the history (every 5 s).
      await new Promise((r) => setTimeout(r, 6000));
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      await exited;
      const files = readdirSync(path.join(cwd, 'data'));
      expect(files).not.toContain('log-positions.json');
      expect(files.filter((f) => !/^snapshot\.json\.gz$/.test(f))).toEqual([]);
    } finally {
      await stopChild(p);
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
