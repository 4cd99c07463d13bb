import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeDirectory } from '../../src/make-dir';

let dir: string;
beforeEach(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-make-dir-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('makeDirectory', () => {
  it('creates missing parents with the mode, and accepts an existing directory', () => {
    const target = path.join(dir, 'a', 'b', 'c');
    makeDirectory(target, 0o700);
    for (const d of [path.join(dir, 'a'), path.join(dir, 'a', 'b'), target]) {
      expect(statSync(d).isDirectory()).toBe(true);
      expect(statSync(d).mode & 0o777).toBe(0o700 & ~process.umask());
    }
    expect(() => makeDirectory(target)).not.toThrow();
    expect(() => makeDirectory(`${target}/../c/`)).not.toThrow();
  });

  it('fails at once, naming the directory, where the kernel refuses it (under /proc) instead of looping', () => {
    const t0 = Date.now();
    expect(() => makeDirectory('/proc/stackwatch-make-dir-test/data')).toThrow(
      /^cannot create directory \/proc\/stackwatch-make-dir-test\/data: the filesystem of \/proc refuses new directories/,
    );
    expect(() => makeDirectory('/proc/self/stackwatch')).toThrow(/^cannot create directory \/proc\/self\/stackwatch: /);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('fails naming the file in the way', () => {
    writeFileSync(path.join(dir, 'file'), 'x');
    expect(() => makeDirectory(path.join(dir, 'file', 'sub'))).toThrow(`cannot create directory ${path.join(dir, 'file', 'sub')}: ${path.join(dir, 'file')} exists and is not a directory`);
    expect(() => makeDirectory(path.join(dir, 'file'))).toThrow(/exists and is not a directory/);
  });
});
