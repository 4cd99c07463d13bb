import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  dirUnder, findCgroup, knownDirs, parseMountInfo, parseProcCgroup, readResources, statValue, resolveFromProc, workingSet,
} from '../../src/collectors/docker-cgroup';
import { resourcesFromStats } from '../../src/collectors/docker-resources';
import { SmallFileReader } from '../../src/collectors/small-file';

const ID = 'c'.repeat(64);

const MOUNTINFO_V1 = [
  '25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
  '30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate',
  '34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory',
  '35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct',
  '36 30 0:32 /docker/abc /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids',
  '40 30 0:33 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
].join('\n');

const MOUNTINFO_V2 = [
  '24 30 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw',
  '35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot',
].join('\n');

describe('parsers', () => {
  test('mountinfo: v1 controllers (also joined ones), v2 mount, named hierarchies skipped', () => {
    const m = parseMountInfo(MOUNTINFO_V1);
    expect(m.v1.get('memory')).toEqual({ mountpoint: '/sys/fs/cgroup/memory', root: '/' });
    expect(m.v1.get('cpuacct')).toEqual({ mountpoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/' });
    expect(m.v1.get('cpu')?.mountpoint).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(m.v1.get('pids')).toEqual({ mountpoint: '/sys/fs/cgroup/pids', root: '/docker/abc' });
    expect(m.v1.has('name=systemd')).toBe(false);
    expect(m.v2).toEqual({ mountpoint: '/sys/fs/cgroup/unified', root: '/' });
    expect(parseMountInfo(MOUNTINFO_V2)).toEqual({ v1: new Map(), v2: { mountpoint: '/sys/fs/cgroup', root: '/' } });
  });

  test('/proc/PID/cgroup', () => {
    const p = parseProcCgroup(`12:memory:/docker/${ID}\n4:cpu,cpuacct:/docker/${ID}\n1:name=systemd:/docker/${ID}\n0::/system.slice/docker-${ID}.scope\n`);
    expect(p.get('memory')).toBe(`/docker/${ID}`);
    expect(p.get('cpuacct')).toBe(`/docker/${ID}`);
    expect(p.get('')).toBe(`/system.slice/docker-${ID}.scope`);
  });

  test('resolve: v1 when memory is a v1 hierarchy (hybrid too), v2 otherwise; mount roots respected', () => {
    const v1 = resolveFromProc(parseProcCgroup(`5:memory:/docker/${ID}\n4:cpu,cpuacct:/docker/${ID}\n0::/docker/${ID}\n`), parseMountInfo(MOUNTINFO_V1));
    expect(v1).toEqual({ version: 1, memory: `/sys/fs/cgroup/memory/docker/${ID}`, cpu: `/sys/fs/cgroup/cpu,cpuacct/docker/${ID}` });
    const v2 = resolveFromProc(parseProcCgroup(`0::/system.slice/docker-${ID}.scope\n`), parseMountInfo(MOUNTINFO_V2));
    expect(v2).toEqual({ version: 2, dir: `/sys/fs/cgroup/system.slice/docker-${ID}.scope` });
    expect(dirUnder({ mountpoint: '/m', root: '/docker/abc' }, '/docker/abc/child')).toBe('/m/child');
    expect(dirUnder({ mountpoint: '/m', root: '/docker/abc' }, '/other')).toBeUndefined();
    expect(dirUnder({ mountpoint: '/m', root: '/docker/abc' }, '/docker/abcdef')).toBeUndefined();
  });

  test('key values and working set', () => {
    const text = 'cache 10\ninactive_file 4096\ntotal_inactive_file 8192\nbad x\n';
    expect(statValue(text, 'inactive_file')).toBe(4096);
    expect(statValue(text, 'total_inactive_file')).toBe(8192);
    expect(statValue(text, 'cache')).toBe(10);
    expect(statValue(text, 'bad')).toBeUndefined();
    expect(statValue(text, 'file')).toBeUndefined(); // a key's tail is not the key
    expect(statValue(text, 'inactive')).toBeUndefined(); // nor its head
    expect(statValue('usage_usec 2500000', 'usage_usec')).toBe(2500000); // no newline at the end
    expect(statValue('usage_usec x\nusage_usec 7\n', 'usage_usec')).toBe(7); // the first finite value
    expect(workingSet(10_000, 4000)).toBe(6000);
    expect(workingSet(1000, 4000)).toBe(1000); // never negative
  });

  test('statValue finds what reading the file line by line finds (property)', () => {
    // Lines as the kernel writes them and worse: keys that are prefixes and suffixes of each
    // other, values that are not numbers, blank lines, a missing final newline.
    const keys = ['inactive_file', 'total_inactive_file', 'inactive', 'file', 'usage_usec', 'usage', 'x'];
    const line = fc.tuple(fc.constantFrom(...keys, ''), fc.constantFrom(' ', '  ', '', '\t'), fc.oneof(fc.nat().map(String), fc.constantFrom('x', '', '1e3', '-4', ' 5', 'max')));
    fc.assert(fc.property(fc.array(line, { maxLength: 12 }), fc.boolean(), fc.constantFrom(...keys), (lines, newline, key) => {
      const text = lines.map(([k, sep, v]) => `${k}${sep}${v}`).join('\n') + (newline ? '\n' : '');
      let expected: number | undefined;
      for (const l of text.split('\n')) {
        const sp = l.indexOf(' ');
        if (sp === -1 || l.slice(0, sp) !== key) continue;
        const v = Number(l.slice(sp + 1));
        if (Number.isFinite(v)) {
          expected = v;
          break;
        }
      }
      expect(statValue(text, key)).toBe(expected);
    }), { numRuns: 2000 });
  });

  test('stats fallback document: usage minus inactive file, limit only when set', () => {
    expect(resourcesFromStats({ memory_stats: { usage: 50e6, limit: 64 * 1024 * 1024, stats: { total_inactive_file: 10e6 } }, cpu_stats: { cpu_usage: { total_usage: 2.5e9 } } }))
      .toEqual({ memoryUsage: 40e6, memoryLimit: 64 * 1024 * 1024, cpuSeconds: 2.5 });
    expect(resourcesFromStats({ memory_stats: { usage: 5e6, limit: os.totalmem(), stats: { inactive_file: 1e6 } }, cpu_stats: { cpu_usage: { total_usage: 1e9 } } }))
      .toEqual({ memoryUsage: 4e6, cpuSeconds: 1 });
    expect(resourcesFromStats({})).toBeUndefined();
  });
});

describe('reading cgroup files', () => {
  let root: string;
  const reader = new SmallFileReader();
  const write = (dir: string, files: Record<string, string>): void => {
    mkdirSync(dir, { recursive: true });
    for (const [f, v] of Object.entries(files)) writeFileSync(path.join(dir, f), v);
  };

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'sw-cg-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('v2: memory.current minus inactive_file, memory.max, cpu.stat usage_usec', () => {
    const dir = path.join(root, 'docker', ID);
    write(dir, { 'memory.current': '52428800\n', 'memory.stat': 'anon 1\ninactive_file 10485760\nactive_file 5\n', 'memory.max': '67108864\n', 'cpu.stat': 'usage_usec 2500000\nuser_usec 1\n' });
    expect(readResources({ version: 2, dir }, reader.read)).toEqual({ memoryUsage: 41943040, memoryLimit: 67108864, cpuSeconds: 2.5 });
    writeFileSync(path.join(dir, 'memory.max'), 'max\n');
    expect(readResources({ version: 2, dir }, reader.read)?.memoryLimit).toBeUndefined();
  });

  test('v1: usage_in_bytes minus total_inactive_file, huge limit means none, cpuacct.usage in ns', () => {
    const memory = path.join(root, 'memory', 'docker', ID);
    const cpu = path.join(root, 'cpuacct', 'docker', ID);
    write(memory, { 'memory.usage_in_bytes': '671744\n', 'memory.stat': 'cache 0\ninactive_file 0\ntotal_inactive_file 4096\n', 'memory.limit_in_bytes': '9223372036854771712\n' });
    write(cpu, { 'cpuacct.usage': '32627558\n' });
    expect(readResources({ version: 1, memory, cpu }, reader.read)).toEqual({ memoryUsage: 667648, cpuSeconds: 0.032627558 });
    writeFileSync(path.join(memory, 'memory.limit_in_bytes'), '16777216\n');
    expect(readResources({ version: 1, memory, cpu }, reader.read)?.memoryLimit).toBe(16777216);
  });

  test('missing files: undefined, not an exception', () => {
    expect(readResources({ version: 2, dir: path.join(root, 'nope') }, reader.read)).toBeUndefined();
    expect(reader.read(path.join(root, 'nope'))).toBeUndefined();
  });

  test('findCgroup: from /proc/PID/cgroup first, else the known Docker paths', () => {
    // A fake /proc with PID 4242 in a v2 cgroup, mounted at root/cg.
    const cg = path.join(root, 'cg');
    const proc = path.join(root, 'proc');
    write(path.join(proc, '4242'), { cgroup: `0::/system.slice/docker-${ID}.scope\n` });
    const files = { 'memory.current': '100\n', 'memory.stat': 'inactive_file 10\n', 'memory.max': 'max\n', 'cpu.stat': 'usage_usec 1000000\n' };
    write(path.join(cg, 'system.slice', `docker-${ID}.scope`), files);
    const mounts = { v1: new Map(), v2: { mountpoint: cg, root: '/' } };
    expect(findCgroup(ID, 4242, mounts, reader.read, proc, '/nonexistent')).toEqual({ version: 2, dir: path.join(cg, 'system.slice', `docker-${ID}.scope`) });
    // PID not visible (another PID namespace): the known paths under the cgroup root are tried.
    expect(findCgroup(ID, 999999, { v1: new Map() }, reader.read, proc, cg)).toEqual({ version: 2, dir: path.join(cg, 'system.slice', `docker-${ID}.scope`) });
    expect(findCgroup('d'.repeat(64), 0, mounts, reader.read, proc, cg)).toBeUndefined();
    expect(knownDirs(ID, '/sys/fs/cgroup')).toContainEqual({ version: 1, memory: `/sys/fs/cgroup/memory/docker/${ID}`, cpu: `/sys/fs/cgroup/cpuacct/docker/${ID}` });
  });
});
