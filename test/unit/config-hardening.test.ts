import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigErrors } from '../../src/config/errors';
import { FileProblem, MAX_SECRET_BYTES, readBoundedFile } from '../../src/config/files';
import { loadConfigFile, parseConfig, type Env } from '../../src/config/load';
import { compileUserRegex } from '../../src/user-regex';

/** Hostile configuration input: files, secrets in errors, YAML tricks, addresses, env expansion. */

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sw-cfg-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorsOf(yaml: string, env: Env = {}): string[] {
  try {
    parseConfig(yaml, 'f.yml', env);
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => e.message);
    throw err;
  }
  return [];
}

const SECRET = '84736251';

describe('no error message shows the value of a secret-bearing key', () => {
  it.each([
    ['unquoted numeric mqtt password', `mqtt:\n  - { name: m, url: "mqtt://127.0.0.1:1883", password: ${SECRET} }\n`, 'mqtt[0].password'],
    ['numeric mqtt username', `mqtt:\n  - { name: m, url: "mqtt://127.0.0.1:1883", username: ${SECRET} }\n`, 'mqtt[0].username'],
    ['numeric bearer token', `http:\n  - { name: a, url: "http://127.0.0.1/", bearer_token: ${SECRET} }\n`, 'http[0].bearer_token'],
    ['numeric header value', `http:\n  - { name: a, url: "http://127.0.0.1/", headers: { X-Api-Key: ${SECRET} } }\n`, 'http[0].headers.X-Api-Key'],
    ['header as a list', `http:\n  - { name: a, url: "http://127.0.0.1/", headers: { X-Api-Key: [${SECRET}] } }\n`, 'http[0].headers.X-Api-Key'],
    ['boolean password', 'mqtt:\n  - { name: m, url: "mqtt://127.0.0.1:1883", password: true }\n', 'mqtt[0].password'],
    ['URL with credentials, wrong scheme', `http:\n  - { name: a, url: "ftp://u:${SECRET}@127.0.0.1/" }\n`, 'http[0].url'],
    ['mqtt URL with credentials, wrong scheme', `mqtt:\n  - { name: m, url: "foo://u:${SECRET}@127.0.0.1" }\n`, 'mqtt[0].url'],
    ['numeric URL', `http:\n  - { name: a, url: ${SECRET} }\n`, 'http[0].url'],
  ])('%s', (_what, yaml, at) => {
    const errors = errorsOf(yaml);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toContain(at);
    expect(errors.join('\n')).not.toContain(SECRET);
  });
});

describe('YAML tricks', () => {
  it('an alias bomb is one configuration error, not a crash', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'f: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]',
    ].join('\n');
    expect(errorsOf(bomb)).toEqual(['f.yml: not valid YAML: too many alias expansions (a YAML alias bomb?)']);
  });

  it.each([
    ['a stray scalar after a mapping', 'password: x\n- s3cretToken\nk: s3cretToken\n'],
    ['an unterminated quote', 'mqtt:\n  - password: "s3cretToken\n'],
    ['an alias without anchor', 'password: *s3cretToken\n'],
    ['a flow map gone wrong', 'headers: { a: b, s3cretToken }x\n'],
  ])('YAML syntax errors do not quote the source (%s)', (_w, yaml) => {
    const errors = errorsOf(yaml);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toContain('not valid YAML');
    expect(errors.join('\n')).not.toContain('s3cretToken');
  });

  it.each([
    ['top level', '__proto__:\n  server: { listen: "0.0.0.0:1" }\n', '__proto__'],
    ['in a section', 'server:\n  __proto__: { listen: "0.0.0.0:1" }\n', 'server.__proto__'],
    ['in a list item', 'http:\n  - { name: a, url: "http://127.0.0.1/", __proto__: { interval: 1 } }\n', 'http[0].__proto__'],
    ['in headers', 'http:\n  - { name: a, url: "http://127.0.0.1/", headers: { __proto__: { x: y } } }\n', 'http[0].headers.__proto__'],
  ])('a __proto__ key (%s) is an unknown key and changes nothing', (_w, yaml, at) => {
    expect(errorsOf(yaml)).toContain(`f.yml: ${at}: unknown key`);
    expect(({} as Record<string, unknown>).listen).toBeUndefined();
  });
});

describe('server.listen and --listen', () => {
  it.each(['999.1.1.1:80', '1.2.3:80', '256.0.0.1:9464', '[::g]:80', 'bad_host!:80', '-lead:80'])('refuses %s', (v) => {
    expect(errorsOf(`server:\n  listen: "${v}"\n`).join('\n')).toContain('server.listen: expected HOST:PORT');
  });
  it.each(['127.0.0.1:9464', '0.0.0.0:0', '[::1]:9464', 'localhost:9464', 'exporter.internal:80'])('accepts %s', (v) => {
    expect(errorsOf(`server:\n  listen: "${v}"\n`)).toEqual([]);
  });
});

describe('${VAR} expansion', () => {
  const listenOf = (v: string, env: Env): string => parseConfig(`server:\n  listen: "${v}"\n`, 'f.yml', env).server.listen;
  it('expands a nested default', () => {
    expect(listenOf('${A:-${B}}', { B: '127.0.0.1:1' })).toBe('127.0.0.1:1');
    expect(listenOf('${A:-${B:-127.0.0.1:2}}', {})).toBe('127.0.0.1:2');
    expect(listenOf('${A:-${B}}', { A: '127.0.0.1:3' })).toBe('127.0.0.1:3');
    expect(listenOf('${H:-127.0.0.1}:${P:-${Q:-4}}', {})).toBe('127.0.0.1:4');
  });
  it('a default\'s unset variable is an error only when the default is used', () => {
    expect(errorsOf('server:\n  listen: "${A:-${NOPE}}"\n', {})).toEqual([
      'f.yml: server.listen: environment variable NOPE is not set (use ${NOPE:-default} for a default)',
    ]);
    expect(errorsOf('server:\n  listen: "${A:-${NOPE}}"\n', { A: '127.0.0.1:1' })).toEqual([]);
  });
  it('keeps $${ literal and text that is not a reference', () => {
    expect(parseConfig('http:\n  - { name: a, url: "http://127.0.0.1/", headers: { X: "$${A} ${ x } ${A:-b" } }\n', 'f.yml', {}).http[0]!.headers.X).toBe('${A} ${ x } ${A:-b');
  });
});

describe('files named by the configuration', () => {
  it('refuses a FIFO without blocking, /dev/zero, a directory, and files over the cap', () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const big = path.join(dir, 'big');
    writeFileSync(big, Buffer.alloc(MAX_SECRET_BYTES + 1, 'a'));
    const cases: [string, RegExp][] = [[fifo, /not a regular file/], ['/dev/zero', /not a regular file/], [dir, /is a directory/], [big, /larger than 65536 bytes/], [path.join(dir, 'none'), /file not found/]];
    for (const [p, why] of cases) {
      expect(() => readBoundedFile(p, MAX_SECRET_BYTES)).toThrow(FileProblem);
      expect(() => readBoundedFile(p, MAX_SECRET_BYTES)).toThrow(why);
    }
    const ok = path.join(dir, 'ok');
    writeFileSync(ok, 'secret\n');
    expect(readBoundedFile(ok, MAX_SECRET_BYTES).toString()).toBe('secret\n');
  });

  it('secret files: a FIFO or /dev/zero is a one-line error naming the key', () => {
    const fifo = path.join(dir, 'secret-fifo');
    execFileSync('mkfifo', [fifo]);
    expect(errorsOf(`mqtt:\n  - { name: m, url: "mqtt://127.0.0.1:1883", password_file: ${fifo} }\n`)).toEqual([
      `f.yml: mqtt[0].password_file: cannot read secret file ${fifo}: not a regular file (a device, FIFO or socket)`,
    ]);
    expect(errorsOf('http:\n  - { name: a, url: "http://127.0.0.1/", bearer_token_file: /dev/zero }\n')).toEqual([
      'f.yml: http[0].bearer_token_file: cannot read secret file /dev/zero: not a regular file (a device, FIFO or socket)',
    ]);
  });

  it('the configuration file itself: a FIFO or device is refused', () => {
    const fifo = path.join(dir, 'config-fifo');
    execFileSync('mkfifo', [fifo]);
    for (const f of [fifo, '/dev/zero']) {
      expect(() => loadConfigFile(f)).toThrow(`${f}: cannot read the configuration file: not a regular file`);
    }
  });
});

describe('user regexes run in linear time', () => {
  it('a catastrophic pattern against a crafted input returns (a backtracking engine would not, in any useful time)', () => {
    const re = compileUserRegex('^(a+)+$');
    expect(re.test(`${'a'.repeat(50_000)}!`)).toBe(false);
    expect(re.test('a'.repeat(100))).toBe(true);
    expect(compileUserRegex('^(x+x+)+y$').test('x'.repeat(10_000))).toBe(false);
  });

  it.each(['(a)\\1', '(?=a)b', '(?<!a)b', '['])('refuses %s at load with the field path', (p) => {
    expect(errorsOf(`processes:\n  - { name: g, cmdline: ${JSON.stringify(p)} }\n`).join('\n')).toContain('processes[0].cmdline: not a usable regular expression');
  });
});
