import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PF_KTHREAD } from '../../src/collectors/proc-reader';
import { startExporter, type RunningExporter } from '../harness/exporter';
import { startFaultServer, type FaultServer } from '../harness/fault-server';
import { waitFor } from '../harness/wait';

/**
 * The golden exposition, in node_exporter's manner: a fixture /proc tree, the loopback fault
 * server and a clock that stands still produce a /metrics that must equal the committed
 * test/golden/exposition.prom byte for byte (after the normalisation below). A refactor that
 * changes a name, a label, an escape, an order or a value shows up as a diff of that file in review.
 *
 * Refresh after an intended change:  UPDATE_GOLDEN=1 npx jest test/integration/golden-exposition.test.ts
 *
 * Normalised, because they are not the exporter's to decide: the order of series within a metric
 * (the order targets answered in; Prometheus ignores it), prom-client's default process_* and
 * nodejs_* metrics (this test process), durations measured on the wall clock (the HTTP request
 * histogram's buckets and sum, the collectors' cycle durations), the Node version of
 * stackwatch_build_info and the host facts of stackwatch_host_info (read from the real host).
 */

const GOLDEN = path.join(__dirname, '..', 'golden', 'exposition.prom');
const NOW = 1_700_000_000; // the injected clock: 2023-11-14T22:13:20Z, never moves
const UPTIME = 86_400.5; // /proc/uptime of the fixture: booted a day before NOW

interface FixtureProc {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string[];
  exe?: string;
  utime: number;
  stime: number;
  threads: number;
  /** Ticks after boot. */
  start: number;
  vsize: number;
  rssPages: number;
  fds: number;
  maxFds?: number | 'unlimited';
  kthread?: boolean;
  state?: string;
}

/** /proc/PID/stat as the kernel writes it (52 fields; the ones the reader uses are set). */
function statLine(p: FixtureProc): string {
  const f: (number | string)[] = Array.from({ length: 53 }, () => 0);
  f[4] = p.ppid;
  f[9] = p.kthread ? PF_KTHREAD : 0x400000;
  f[14] = p.utime;
  f[15] = p.stime;
  f[18] = 20;
  f[19] = 0;
  f[20] = p.threads;
  f[22] = p.start;
  f[23] = p.vsize;
  f[24] = p.rssPages;
  return `${p.pid} (${p.comm}) ${p.state ?? 'S'} ${f.slice(4).join(' ')}\n`;
}

const PROCS: FixtureProc[] = [
  { pid: 1, ppid: 0, comm: 'systemd', cmdline: ['/sbin/init'], exe: '/usr/lib/systemd/systemd', utime: 1200, stime: 800, threads: 1, start: 1, vsize: 170_000_000, rssPages: 3000, fds: 60, maxFds: 524288 },
  { pid: 2, ppid: 0, comm: 'kthreadd', cmdline: [], utime: 0, stime: 3, threads: 1, start: 1, vsize: 0, rssPages: 0, fds: 0, kthread: true },
  { pid: 40, ppid: 2, comm: 'kworker/0:1', cmdline: [], utime: 0, stime: 250, threads: 1, start: 30, vsize: 0, rssPages: 0, fds: 0, kthread: true },
  // The backend: node with two forked workers (include_children), started at different times.
  { pid: 700, ppid: 1, comm: 'node', cmdline: ['node', 'backend.js', '--port', '8000'], exe: '/usr/bin/node', utime: 5000, stime: 1500, threads: 11, start: 360_000, vsize: 1_100_000_000, rssPages: 30_000, fds: 40, maxFds: 1024 },
  { pid: 701, ppid: 700, comm: 'node', cmdline: ['node', 'worker.js'], exe: '/usr/bin/node', utime: 2500, stime: 300, threads: 7, start: 360_500, vsize: 900_000_000, rssPages: 20_000, fds: 22, maxFds: 1024 },
  { pid: 702, ppid: 700, comm: 'node', cmdline: ['node', 'worker.js'], exe: '/usr/bin/node', utime: 2400, stime: 310, threads: 7, start: 360_600, vsize: 900_000_000, rssPages: 19_000, fds: 21, maxFds: 1024 },
  { pid: 800, ppid: 1, comm: 'mosquitto', cmdline: ['/usr/sbin/mosquitto', '-c', '/etc/mosquitto/mosquitto.conf'], exe: '/usr/sbin/mosquitto', utime: 900, stime: 600, threads: 1, start: 2000, vsize: 30_000_000, rssPages: 2000, fds: 150, maxFds: 'unlimited' },
  // A zombie: counted, no fds read.
  { pid: 900, ppid: 1, comm: 'defunct-job', cmdline: [], utime: 10, stime: 5, threads: 1, start: 5000, vsize: 0, rssPages: 0, fds: 0, state: 'Z' },
  // A name with the characters the exposition must escape, and one with spaces and parentheses.
  { pid: 950, ppid: 1, comm: 'we"ird\\na\nme', cmdline: ['weird'], exe: '/opt/weird', utime: 20, stime: 10, threads: 2, start: 6000, vsize: 10_000_000, rssPages: 500, fds: 4, maxFds: 256 },
  { pid: 960, ppid: 1, comm: 'a) (b', cmdline: ['paren'], exe: '/opt/paren', utime: 1, stime: 1, threads: 1, start: 6100, vsize: 5_000_000, rssPages: 100, fds: 3, maxFds: 256 },
  { pid: 970, ppid: 1, comm: 'sleep', cmdline: ['sleep', 'infinity'], exe: '/usr/bin/sleep', utime: 0, stime: 0, threads: 1, start: 7000, vsize: 8_000_000, rssPages: 150, fds: 3, maxFds: 1024 },
];

function writeProc(root: string): void {
  writeFileSync(path.join(root, 'stat'), 'cpu  1 2 3 4 5 6 7 0 0 0\nbtime 1699913600\n');
  writeFileSync(path.join(root, 'uptime'), `${UPTIME.toFixed(2)} 170000.00\n`);
  // No self/fd: the reader then counts fd entries (a directory's size here is the file system's,
  // not an fd count as on Linux 6.2+).
  for (const p of PROCS) {
    const dir = path.join(root, String(p.pid));
    mkdirSync(path.join(dir, 'fd'), { recursive: true });
    writeFileSync(path.join(dir, 'stat'), statLine(p));
    writeFileSync(path.join(dir, 'cmdline'), p.cmdline.length === 0 ? '' : `${p.cmdline.join('\0')}\0`);
    if (p.exe !== undefined) symlinkSync(p.exe, path.join(dir, 'exe'));
    for (let i = 0; i < p.fds; i++) writeFileSync(path.join(dir, 'fd', String(i)), '');
    if (p.maxFds !== undefined) {
      const v = String(p.maxFds);
      writeFileSync(path.join(dir, 'limits'), `Limit                     Soft Limit           Hard Limit           Units     \nMax open files            ${v.padEnd(21)}${v.padEnd(21)}files     \n`);
    }
  }
  writeFileSync(path.join(root, 'backend.pid'), '800\n');
}

/** Removes what the exporter does not decide (see the file comment); keeps everything else as is. */
function normalise(text: string): string {
  const blocks = text.trimEnd().split('\n\n');
  const kept = blocks.filter((b) => !/^# HELP (process|nodejs)_/.test(b));
  return `${kept.map((b) => sortSeries(b.split('\n')).map(normaliseLine).join('\n')).join('\n\n')}\n`;
}

/**
 * Series in the order of their label sets (a histogram's bucket, sum and count lines stay
 * together and in order): prom-client lists series in the order they were first set, which
 * for targets probed concurrently is the order their answers came in.
 */
function sortSeries(lines: string[]): string[] {
  const head = lines.filter((l) => l.startsWith('#'));
  const key = (l: string): string => {
    const brace = l.indexOf('{');
    const labels = brace === -1 ? '' : l.slice(brace, l.lastIndexOf('}') + 1).replace(/le="[^"]*",?/, '');
    return labels;
  };
  const series = lines.filter((l) => !l.startsWith('#')).map((l, i) => ({ l, i, k: key(l) }));
  series.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i));
  return [...head, ...series.map((s) => s.l)];
}

const WALL_TIMED = /^(stackwatch_http_request_duration_seconds_(bucket|sum)|stackwatch_collector_duration_seconds)[{ ]/;

function normaliseLine(line: string): string {
  if (line.startsWith('#')) return line;
  if (WALL_TIMED.test(line)) return `${line.slice(0, line.lastIndexOf(' '))} <wall-clock>`;
  if (line.startsWith('stackwatch_host_info{')) return 'stackwatch_host_info{<host facts>} 1';
  return line.replace(/^(stackwatch_build_info\{.*nodejs=")[^"]*(")/, '$1<node>$2');
}

describe('golden exposition', () => {
  let faults: FaultServer;
  let exporter: RunningExporter | undefined;
  let root: string;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'sw-golden-'));
    mkdirSync(path.join(root, 'proc'));
    writeProc(path.join(root, 'proc'));
    faults = await startFaultServer();
  });

  afterAll(async () => {
    await exporter?.stop();
    await faults.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('the exporter\'s /metrics equals test/golden/exposition.prom', async () => {
    const proc = path.join(root, 'proc');
    // An hour's interval: one probe each. A timeout long enough for a loaded machine, except
    // for the target that never answers.
    const once = { interval: '1h', timeout: '10s' };
    const targets = [
      { name: 'api', url: `${faults.url}/`, json: { status: 'status' }, ...once },
      { name: 'api-500', url: `${faults.url}/status/500`, json: { status: 'status' }, ...once },
      { name: 'bad-json', url: `${faults.url}/invalid-json`, json: { status: 'status' }, ...once },
      { name: 'hangs', url: `${faults.url}/hang`, ...once, timeout: '300ms' },
      { name: 'resets', url: `${faults.url}/reset`, ...once },
      { name: 'needs-token', url: `${faults.url}/auth`, ...once },
    ];
    exporter = await startExporter({
      http: targets,
      docker: { enabled: false },
      processes: [
        { name: 'backend', cmdline: '^node backend\\.js', include_children: true },
        { name: 'broker', comm: '^mosquitto$' },
        { name: 'by-pidfile', pidfile: path.join(proc, 'backend.pid') },
        { name: 'absent', exe: '^/opt/absent$' },
      ],
      process_discovery: { enabled: true, top: 3 },
      process_settings: { interval: '1h', proc_path: proc },
    }, { clock: () => NOW });
    const url = exporter.url;

    // One probe of every target and one process cycle (the intervals are an hour): wait for them.
    let text = '';
    await waitFor('one probe of every target and one process cycle', async () => {
      text = await (await fetch(`${url}/metrics`)).text();
      const probed = targets.every((t) => new RegExp(`^stackwatch_http_request_duration_seconds_count\\{target="${t.name}"\\} 1$`, 'm').test(text));
      return probed && /^stackwatch_collector_success\{collector="process"\} 1$/m.test(text) && /^stackwatch_host_info\{/m.test(text);
    }, 30_000, 50);

    const got = normalise(text);
    if (process.env.UPDATE_GOLDEN === '1') {
      mkdirSync(path.dirname(GOLDEN), { recursive: true });
      writeFileSync(GOLDEN, got);
    }
    let want: string;
    try {
      want = readFileSync(GOLDEN, 'utf8');
    } catch {
      throw new Error(`${GOLDEN} is missing: create it with UPDATE_GOLDEN=1 npx jest test/integration/golden-exposition.test.ts`);
    }
    // Line by line first, so that a failure names the lines that differ.
    expect(got.split('\n')).toEqual(want.split('\n'));
    expect(got).toBe(want);
  });
});
