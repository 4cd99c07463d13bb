/**
 * A process that exited but whose parent never collects its status (a hung or careless
 * supervisor) stays in the process table as a zombie with its name and start time. It runs
 * nothing: its group must go down at its exit, with one outage, and the group's count must drop.
 * The built daemon (as `npm start` runs it) against a real zombie, on /proc.
 */
import { readFileSync } from 'node:fs';
import { startBuiltDaemon, type BuiltDaemon } from '../harness/built-daemon';
import { ProcessSet } from '../harness/processes';
import { requireBinary } from '../harness/require-binary';
import { waitFor } from '../harness/wait';
import { uniq } from './process-helpers';

jest.setTimeout(60_000);

const procs = new ProcessSet();
let daemon: BuiltDaemon | undefined;

afterAll(async () => {
  await daemon?.stop();
  await procs.killAll();
});

test('a zombie is not a running process: the group goes down when its process exits, though never reaped', async () => {
  const python = requireBinary('python3', 'install it: sudo apt-get install -y python3');
  const marker = `sw-zombie-${uniq()}`;
  // The parent forks a child that runs (with the marker in its command line) until its stdin closes,
  // then never waits for it: the child stays a zombie while the parent lives.
  // The marker is put together at run time, so that only the child's command line holds it.
  const [head, tail] = [marker.slice(0, 4), marker.slice(4)];
  const script = [
    'import os, sys, time',
    'r, w = os.pipe()',
    'pid = os.fork()',
    'if pid == 0:',
    '    os.dup2(r, 0)',
    `    os.execvp(sys.executable, [sys.executable, "-c", "import sys; sys.stdin.read(1)", "${head}" + "${tail}"])`,
    'os.close(r)',
    'print(pid, flush=True)',
    'sys.stdin.read(1)',
    'os.close(w)',
    'time.sleep(600)',
  ].join('\n');
  const parent = procs.start(python, ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const childPid = await new Promise<number>((resolve, reject) => {
    parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    parent.once('exit', () => reject(new Error('the python parent exited early')));
  });
  daemon = await startBuiltDaemon(procs, {
    processes: [{ name: 'zombie', cmdline: marker }],
    process_settings: { interval: '500ms' },
    docker: { enabled: false },
  });
  const G = { group: 'zombie' };
  const T = { kind: 'process', target: 'zombie' };
  await waitFor('the child seen running', async () => {
    const m = await daemon!.scrape();
    return m.get('stackwatch_process_group_processes', G) === 1 && m.get('stackwatch_target_up', T) === 1 ? true : undefined;
  }, 20_000, 100);
  // Older than the collector's re-match age of a young process: its match is cached.
  await new Promise((r) => setTimeout(r, 6000));

  parent.stdin!.write('x\n');
  await waitFor('the child a zombie', () => {
    const stat = readFileSync(`/proc/${childPid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') ? true : undefined;
  }, 10_000, 50);
  const m = await waitFor('the group down', async () => {
    const s = await daemon!.scrape();
    return s.get('stackwatch_target_up', T) === 0 ? s : undefined;
  }, 10_000, 100);
  expect(m.get('stackwatch_process_group_processes', G)).toBe(0);
  expect(m.get('stackwatch_target_outages_total', T)).toBe(1);
});
