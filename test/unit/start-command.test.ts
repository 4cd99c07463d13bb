import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseStartScript, startCommand } from '../harness/start-command';

const ROOT = path.join(__dirname, '..', '..');
const read = (f: string): string => readFileSync(path.join(ROOT, f), 'utf8');

describe('how the daemon starts', () => {
  it('reads npm start: allocator defaults unless the environment sets them, node flags, the script', () => {
    const s = parseStartScript('A=${A:-2} B=x node --f=1 --g dist/main.js', '/app', {});
    expect(s).toEqual({ env: { A: '2', B: 'x' }, nodeArgs: ['--f=1', '--g'], script: '/app/dist/main.js' });
    expect(parseStartScript('A=${A:-2} node dist/main.js', '/app', { A: '8' }).env).toEqual({ A: '8' });
    expect(() => parseStartScript('ts-node src/main.ts', '/app')).toThrow(/does not run node/);
    expect(() => parseStartScript('A=$HOME node dist/main.js', '/app')).toThrow(/value of A/);
    expect(() => parseStartScript('node dist/main.js --x', '/app')).toThrow(/one \.js script/);
  });

  // npm start, the `stackwatch` bin (the shebang) and the image must run the daemon alike: the
  // figures in docs/benchmarks.md are measured as npm start runs it.
  const npmStart = parseStartScript(JSON.parse(read('package.json')).scripts.start as string, ROOT, {});

  it('npm start sets the allocator and a young-generation cap', () => {
    expect(npmStart.env).toEqual({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' });
    expect(npmStart.nodeArgs).toEqual(['--max-semi-space-size=1']);
    expect(startCommand().script).toBe(path.join(ROOT, 'dist', 'main.js'));
  });

  it('the bin runs as npm start does', () => {
    const shebang = read('src/main.ts').split('\n')[0]!;
    const m = /^#!\/usr\/bin\/env -S (.*)$/.exec(shebang);
    expect(m).not.toBeNull();
    const words = m![1]!.split(' ');
    const node = words.indexOf('node');
    expect(Object.fromEntries(words.slice(0, node).map((w) => w.split('=') as [string, string]))).toEqual(npmStart.env);
    expect(words.slice(node + 1)).toEqual(npmStart.nodeArgs);
  });

  it('the image runs as npm start does', () => {
    const docker = read('Dockerfile');
    const runtime = docker.slice(docker.lastIndexOf('\nFROM '));
    const env: Record<string, string> = {};
    for (const line of runtime.split('\n').filter((l) => l.startsWith('ENV '))) {
      for (const [, k, v] of line.slice(4).matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)) env[k!] = v!;
    }
    expect(env).toMatchObject(npmStart.env);
    const entry = /^ENTRYPOINT (\[.*\])$/m.exec(runtime);
    expect(JSON.parse(entry![1]!)).toEqual(['node', ...npmStart.nodeArgs, 'dist/main.js']);
  });
});
