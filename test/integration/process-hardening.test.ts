import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../harness/cli';
import { startExporter, type RunningExporter } from '../harness/exporter';
import { ProcessSet } from '../harness/processes';
import { waitFor } from '../harness/wait';
import { uniq } from './process-helpers';

/**
 * Process groups as a local user can abuse them: a wrapper whose arguments name the program
 * (`bash supervise.sh node backend.js`), and a crafted command line against a catastrophic
 * pattern. The built CLI and the exporter in-process, with real processes.
 */

jest.setTimeout(60_000);

const procs = new ProcessSet();
let dir: string;
let exporter: RunningExporter | undefined;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sw-proc-'));
});
afterAll(async () => {
  await exporter?.stop();
  await procs.killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('a pattern that also matches a wrapper', () => {
  it('stackwatch processes lists pid, comm and exe of each match and flags different executables', async () => {
    const id = uniq();
    const backend = path.join(dir, `backend-${id}.js`);
    writeFileSync(backend, 'setInterval(() => {}, 1000);\n');
    const supervise = path.join(dir, 'supervise.sh');
    // A supervisor script that runs its arguments and keeps going (so it outlives the backend).
    writeFileSync(supervise, '"$@" &\nwhile true; do sleep 1; done\n');
    const wrapper = procs.start('bash', [supervise, process.execPath, backend]);
    const cfg = path.join(dir, 'p.yml');
    writeFileSync(cfg, `processes:\n  - name: loose\n    cmdline: "backend-${id}"\n  - name: anchored\n    cmdline: "^${process.execPath.replaceAll('.', '\\\\.')} .*backend-${id}"\n`);
    const report = await waitFor('both the wrapper and the backend seen', () => {
      const r = runCli(['processes', '--config', cfg, '--json']);
      if (r.status !== 0) throw new Error(r.stderr);
      const groups = (JSON.parse(r.stdout) as { groups: { group: string; count: number; mixed: boolean; executables: string[]; processes: { pid: number; comm: string; exe?: string }[] }[] }).groups;
      return groups.find((g) => g.group === 'loose')!.count >= 2 ? groups : undefined;
    });
    const loose = report.find((g) => g.group === 'loose')!;
    expect(loose.mixed).toBe(true);
    expect(loose.processes.map((p) => p.pid)).toContain(wrapper.pid);
    expect(loose.processes.find((p) => p.pid === wrapper.pid)!.comm).toBe('bash');
    expect(loose.executables.some((e) => e.endsWith('/bash'))).toBe(true);
    const anchored = report.find((g) => g.group === 'anchored')!;
    expect(anchored.count).toBe(1);
    expect(anchored.mixed).toBe(false);
    expect(anchored.processes[0]!.pid).not.toBe(wrapper.pid);

    const text = runCli(['processes', '--config', cfg]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(`group loose (cmdline: "backend-${id}")`);
    expect(text.stdout).toContain('WARNING: matches 2 different executables');
    expect(text.stdout).toContain(`pid ${wrapper.pid}  comm bash`);

    // The running collector says the same: a metric, and the matches for the status page.
    exporter = await startExporter({
      process_settings: { interval: '200ms' },
      processes: [{ name: 'loose', cmdline: `backend-${id}` }, { name: 'anchored', cmdline: `^${process.execPath.replaceAll('.', '\\.')} .*backend-${id}` }],
    });
    const m = await waitFor('executables gauge', async () => {
      const s = await exporter!.scrape();
      return s.get('stackwatch_process_group_executables', { group: 'loose' }) !== undefined ? s : undefined;
    });
    expect(m.get('stackwatch_process_group_executables', { group: 'loose' })).toBe(2);
    expect(m.get('stackwatch_process_group_executables', { group: 'anchored' })).toBe(1);
    // The status page shows each group's matches (pid, comm, exe) and flags the loose one.
    const page = await (await fetch(`${exporter.url}/`)).text();
    const card = (group: string): string => page.slice(page.indexOf(`data-target="${group}"`)).split('</article>')[0]!;
    expect(card('loose')).toMatch(/Matches: 2 processes/);
    expect(card('loose')).toContain('different executables');
    expect(card('loose')).toContain(`<td>${wrapper.pid}</td><td>bash</td>`);
    expect(card('anchored')).toMatch(/Matches: 1 process</);
    expect(card('anchored')).not.toContain('different executables');
    const api = (await (await fetch(`${exporter.url}/api/v1/targets`)).json()) as { targets: { name: string; matches?: { count: number; mixed: boolean } }[] };
    expect(api.targets.find((t) => t.name === 'loose')!.matches).toMatchObject({ count: 2, mixed: true });
    await exporter.stop();
    exporter = undefined;
    await procs.kill(wrapper);
  });

  it('stackwatch processes: usage errors and bad configs exit 2', () => {
    expect(runCli(['processes']).status).toBe(2);
    expect(runCli(['processes', '--bogus']).status).toBe(2);
    const bad = path.join(dir, 'bad.yml');
    writeFileSync(bad, 'processes:\n  - { name: g, cmdline: "(a)\\\\1" }\n');
    const r = runCli(['processes', '--config', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('processes[0].cmdline: not a usable regular expression');
  });
});

describe('a crafted command line against a catastrophic pattern', () => {
  it('does not stall the exporter: /-/healthy answers and the group is observed every cycle', async () => {
    const id = uniq();
    // The crafted process: its command line is a run of "a" then "!" (30 chars), as in the report.
    const crafted = procs.start('bash', ['-c', `exec -a ${'a'.repeat(29)}! sleep 60 # ${id}`]);
    await waitFor('crafted process', () => crafted.pid !== undefined);
    exporter = await startExporter({
      process_settings: { interval: '200ms' },
      processes: [{ name: 'redos', cmdline: '^(a+)+$' }, { name: 'redos2', cmdline: '^(a|aa)+$' }],
    });
    const first = await waitFor('two cycles', async () => {
      const s = await exporter!.scrape();
      return (s.get('stackwatch_target_checks_total', { kind: 'process', target: 'redos' }) ?? 0) >= 2 ? s : undefined;
    });
    expect(first.get('stackwatch_target_up', { kind: 'process', target: 'redos' })).toBe(0);
    const res = await fetch(`${exporter.url}/-/healthy`, { signal: AbortSignal.timeout(2000) });
    expect(res.status).toBe(200);
    await exporter.stop();
    exporter = undefined;
    await procs.kill(crafted);
  });
});

describe('--listen', () => {
  it('an address that is not an IP or host name fails validation with exit 2, one line', () => {
    const r = runCli(['--listen', '999.1.1.1:80', '--check-config']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('server.listen: expected HOST:PORT');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
