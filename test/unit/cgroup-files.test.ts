/**
 * The Docker collector's cgroup files kept open between cycles (CgroupFiles.readKept), on a real
 * cgroup of this host made for the test: a kept file shows the kernel's current value on every
 * read, a cgroup removed and made again under the same path is read anew, and files no container
 * read in a cycle are closed.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CgroupFiles } from '../../src/collectors/docker-resources';

/**
 * A cgroup hierarchy we may make cgroups in, and a writable file every cgroup made there has:
 * v1's memory controller (its limit), else v2's root (`cgroup.max.descendants`, a core file that
 * needs no controller enabled; every cgroup file is rendered by the kernel alike).
 */
function hierarchy(): { root: string; file: string; values: [string, string, string] } {
  if (existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes')) {
    return { root: '/sys/fs/cgroup/memory', file: 'memory.limit_in_bytes', values: ['104857600', '209715200', '314572800'] };
  }
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return { root: '/sys/fs/cgroup', file: 'cgroup.max.descendants', values: ['100', '200', '300'] };
  throw new Error('no cgroup hierarchy under /sys/fs/cgroup: run the tests on Linux as root (as CI does)');
}

const openFds = (): number => readdirSync('/proc/self/fd').length;

test('kept cgroup files read the current value, survive their cgroup being made again, and close when no longer read', () => {
  const { root, file: name, values: [a, b, c] } = hierarchy();
  const dir = path.join(root, `stackwatch-test-${process.pid}`);
  const file = path.join(dir, name);
  const make = (): void => {
    try {
      mkdirSync(dir);
    } catch (err) {
      throw new Error(`cannot make a cgroup in ${root} (${(err as Error).message}): run the tests as root, as CI does`, { cause: err });
    }
  };
  const fds = openFds();
  const files = new CgroupFiles();
  make();
  try {
    writeFileSync(file, a);
    expect(files.readKept(file)?.trim()).toBe(a);
    expect(files.keptFiles).toBe(1);
    expect(openFds()).toBe(fds + 1);
    files.sweep();
    writeFileSync(file, b);
    expect(files.readKept(file)?.trim()).toBe(b);
    expect(openFds()).toBe(fds + 1); // the same file, read again from offset 0

    // The container's cgroup removed and made again under the same path (a restart of the same id).
    rmdirSync(dir);
    make();
    writeFileSync(file, c);
    files.sweep();
    expect(files.readKept(file)?.trim()).toBe(c);
    expect(files.keptFiles).toBe(1);
    expect(openFds()).toBe(fds + 1);

    // Removed for good: the read fails, nothing stays open.
    rmdirSync(dir);
    expect(files.readKept(file)).toBeUndefined();
    expect(files.keptFiles).toBe(0);
    expect(openFds()).toBe(fds);

    // A cycle that does not read a kept file closes it at its end.
    make();
    expect(files.readKept(file)).toBeDefined();
    files.sweep(); // the cycle that read it
    expect(files.keptFiles).toBe(1);
    files.sweep(); // a cycle that did not
    expect(files.keptFiles).toBe(0);
    expect(openFds()).toBe(fds);

    expect(files.readKept(file)).toBeDefined();
    files.close();
    expect(openFds()).toBe(fds);
  } finally {
    files.close();
    if (existsSync(dir)) rmdirSync(dir);
  }
});
