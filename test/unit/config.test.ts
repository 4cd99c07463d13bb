import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { builtinConfig } from '../../src/config/defaults';
import { ConfigErrors } from '../../src/config/errors';
import fc from 'fast-check';
import YAML from 'yaml';
import { loadConfigFile, loadConfigFileAsync, parseConfig, parseYaml, yamlSteps } from '../../src/config/load';
import { turnsDuring } from '../harness/loop-turns';

function errorsOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(text, 'stackwatch.yml', env);
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => e.message);
    throw err;
  }
  throw new Error('expected the config to be refused');
}

const target = (extra: string) => `http:\n  - name: backend\n    url: http://127.0.0.1:8000/api/health\n${extra}`;

describe('config', () => {
  it('accepts an empty file and fills in defaults', () => {
    const c = parseConfig('', 'empty.yml', {});
    expect(c.server.listen).toBe('127.0.0.1:9967');
    expect(c.http).toEqual([]);
    expect(c.docker.enabled).toBe('auto');
  });

  it('accepts the README example shape', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sw-cfg-'));
    writeFileSync(path.join(dir, 'mqtt-secret'), 's3cret\n');
    const c = parseConfig(`
server:
  listen: 127.0.0.1:9967
http:
  - name: backend
    url: http://127.0.0.1:8000/api/health
    interval: 5s
    timeout: 3s
    method: GET
    expect_status: [200]
    json:
      status: status
      fields:
        mqtt_connected: mqtt.connected
        pending_requests: mqtt.pending_requests
mqtt:
  - name: main
    url: mqtt://127.0.0.1:1883
    username: \${MQTT_USER}
    password_file: ${path.join(dir, 'mqtt-secret')}
    roundtrip: { topic: stackwatch/probe, interval: 10s, timeout: 5s }
    topics:
      - { topic: "chatbot/responses/#", stale_after: 5m }
docker:
  enabled: auto
  host: unix:///var/run/docker.sock
  include_names: ["^backend", "^mosquitto"]
processes:
  - name: backend
    cmdline: "uvicorn app.main:app"
`, path.join(dir, 'stackwatch.yml'), { MQTT_USER: 'watcher' });
    expect(c.http[0]).toMatchObject({ name: 'backend', interval: 5, timeout: 3, expect_status: [200] });
    expect(c.http[0]!.json!.fields.pending_requests!.path.segs).toEqual(['mqtt', 'pending_requests']);
    expect(c.mqtt[0]).toMatchObject({ username: 'watcher', password: 's3cret' });
    expect(c.mqtt[0]!.topics[0]).toEqual({ topic: 'chatbot/responses/#', stale_after: 300 });
    expect(c.processes[0]!.cmdline).toBe('uvicorn app.main:app');
  });

  it('rejects unknown keys, naming the path', () => {
    expect(errorsOf(target('    timeuot: 3s\n'))).toEqual(['stackwatch.yml: http[0].timeuot: unknown key']);
    expect(errorsOf('sever:\n  listen: 1.2.3.4:1\n')).toEqual(['stackwatch.yml: sever: unknown key']);
  });

  it('rejects wrong types and bad values with what was expected', () => {
    expect(errorsOf(target('    interval: 5\n    timeout: fast\n'))).toEqual([
      'stackwatch.yml: http[0].timeout: expected a duration like 500ms, 5s or 2m, got "fast"',
    ]);
    expect(errorsOf(target('    expect_status: 200\n'))[0]).toMatch(/^stackwatch.yml: http\[0\]\.expect_status: expected array, got number 200$/);
    expect(errorsOf('http:\n  - url: http://x/\n')).toEqual(['stackwatch.yml: http[0].name: required: expected a name (text)']);
    expect(errorsOf(target('    timeout: 10s\n'))).toEqual(['stackwatch.yml: http[0].timeout: must be shorter than interval (5s), got 10s']);
    expect(errorsOf(target('    conditions: ["mqtt.connected ~ true"]\n'))[0]).toMatch(/http\[0\]\.conditions\[0\]: condition "mqtt.connected ~ true": expected/);
    expect(errorsOf('server: { listen: "nowhere" }\n')).toEqual(['stackwatch.yml: server.listen: expected HOST:PORT like 127.0.0.1:9967 or [::1]:9967, got "nowhere"']);
    expect(errorsOf('http:\n  - name: a\n    url: ftp://x/\n')[0]).toMatch(/http\[0\]\.url: expected an http/);
  });

  it('reserves the process group name "other" while discovery sums processes under it', () => {
    const text = 'processes:\n  - { name: other, comm: x }\n';
    expect(parseConfig(text, 'f.yml', {}).processes[0]!.name).toBe('other');
    expect(errorsOf(`${text}process_discovery: { enabled: true }\n`)[0]).toMatch(/^stackwatch.yml: processes\[0\]\.name: "other" is the group/);
  });

  it('reports duplicate names', () => {
    const text = 'http:\n  - { name: a, url: "http://127.0.0.1:1/" }\n  - { name: a, url: "http://127.0.0.1:2/" }\n';
    expect(errorsOf(text)).toEqual(['stackwatch.yml: http[1].name: duplicate name "a" (also at index 0)']);
  });

  it('interpolates ${ENV} and ${ENV:-default}, and reports a missing variable', () => {
    const c = parseConfig(target('    headers: { Authorization: "Bearer ${TOKEN}", X-Env: "${ENVNAME:-prod}", X-Lit: "$${NOT}" }\n'), 'f.yml', { TOKEN: 'abc' });
    expect(c.http[0]!.headers).toEqual({ Authorization: 'Bearer abc', 'X-Env': 'prod', 'X-Lit': '${NOT}' });
    expect(errorsOf(target('    headers: { Authorization: "Bearer ${TOKEN}" }\n'))).toEqual([
      'stackwatch.yml: http[0].headers.Authorization: environment variable TOKEN is not set (use ${TOKEN:-default} for a default)',
    ]);
  });

  it('reads *_file secrets and reports unreadable ones', () => {
    expect(errorsOf('mqtt:\n  - { name: m, url: "mqtt://127.0.0.1:1883", password_file: /nonexistent/secret }\n')).toEqual([
      'stackwatch.yml: mqtt[0].password_file: cannot read secret file /nonexistent/secret: file not found',
    ]);
    expect(errorsOf('mqtt:\n  - { name: m, url: "mqtt://127.0.0.1:1883", password: x, password_file: /y }\n')).toEqual([
      'stackwatch.yml: mqtt[0].password_file: set either password or password_file, not both',
    ]);
  });

  it('reads bearer_token_file relative to the config file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sw-cfg-'));
    writeFileSync(path.join(dir, 'token'), 'abc123\n');
    const c = parseConfig(target('    bearer_token_file: token\n'), path.join(dir, 'stackwatch.yml'), {});
    expect(c.http[0]!.bearer_token).toBe('abc123');
  });

  it('reports invalid YAML with its line', () => {
    expect(errorsOf('http:\n  - name: [\n')[0]).toMatch(/^stackwatch.yml: line \d+, column \d+: not valid YAML/);
  });

  it('reports a missing file', () => {
    expect(() => loadConfigFile('/nonexistent/stackwatch.yml')).toThrow('/nonexistent/stackwatch.yml: cannot read the configuration file: file not found');
  });

  it('has a built-in default that observes processes and Docker but no declared targets', () => {
    const c = builtinConfig();
    expect(c.process_discovery.enabled).toBe(true);
    expect(c.docker.enabled).toBe('auto');
    expect(c.http).toEqual([]);
    expect(c.mqtt).toEqual([]);
  });
});

describe('loading a config for a reload', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stackwatch-config-async-'));
  const file = (name: string, text: string): string => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const targets = Array.from({ length: 50 }, (_, i) => `  - name: t${i}\n    url: http://127.0.0.1:9/${i}\n`).join('');

  it('gives what the one-go load gives, letting the event loop through between its steps', async () => {
    const p = file('good.yml', `http:\n${targets}`);
    // Slices of 0 ms: a turn after every step, however fast the machine (the default slice is time).
    const { result: loaded, turns } = await turnsDuring(() => loadConfigFileAsync(p, {}, 0));
    expect(loaded).toEqual(loadConfigFile(p, {}));
    expect(loaded.http).toHaveLength(50);
    expect(turns).toBeGreaterThanOrEqual(2);
  });

  it('rejects with the same errors as the one-go load', async () => {
    const bad: [string, string][] = [['syntax.yml', 'http: [\n'], ['schema.yml', 'http:\n  - nam: a\n'], ['env.yml', 'http:\n  - name: a\n    url: ${NOPE\n']];
    for (const [name, text] of bad) {
      const p = file(name, text);
      let sync: unknown;
      try {
        loadConfigFile(p, {});
      } catch (err) {
        sync = err;
      }
      expect(sync).toBeInstanceOf(ConfigErrors);
      await expect(loadConfigFileAsync(p, {})).rejects.toThrow((sync as Error).message);
    }
    await expect(loadConfigFileAsync(path.join(dir, 'missing.yml'), {})).rejects.toThrow(/cannot read the configuration file/);
  });
});

describe('reading the YAML in steps', () => {
  /** What the yaml library's one-go parseDocument makes of a text, as the loader reports it. */
  function oneGo(text: string): { data?: unknown; errors?: string[] } {
    const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      return {
        errors: doc.errors.map((e) => {
          const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
          const msg = e.code === 'MULTIPLE_DOCS' ? 'MULTIPLE_DOCS' : e.message.split('\n')[0]!.replace(/:? "[^"\n]*"/g, '').replace(/ at line \d+, column \d+:?$/, '');
          return `${where}: ${msg}`;
        }),
      };
    }
    try {
      return { data: (doc.toJS() as unknown) ?? {} };
    } catch {
      return { errors: ['toJS'] };
    }
  }
  function stepped(text: string): { data?: unknown; errors?: string[] } {
    try {
      return { data: parseYaml(text, 'c.yml') };
    } catch (err) {
      if (!(err instanceof ConfigErrors)) throw err;
      return {
        errors: err.errors.map((e) => (/more than one YAML document/.test(e.problem) ? `${e.path}: MULTIPLE_DOCS`
          : /alias|cannot be converted/.test(e.problem) && e.path === '' ? 'toJS' : `${e.path}: ${e.problem.replace(/^not valid YAML: /, '')}`)),
      };
    }
  }
  // Texts made of YAML's own tokens, so that most parse and many fail in every way the grammar allows.
  const piece = fc.constantFrom('a', 'b: 1', 'c:', '- x', '  ', '    ', '\n', ': ', '- ', '"q"', "'s", '[', ']', '{', '}', ',', '#c', '&x ', '*x', '!!str ', '? ', '---\n', '...', '|\n', '>-\n', '\t', 'k: "v', 'url: http://u:p@h/', '%YAML 1.2\n');
  const yamlish = fc.array(piece, { maxLength: 40 }).map((xs) => xs.join(''));

  it('gives what the one-go parse gives, data or errors, for any text (property)', () => {
    fc.assert(fc.property(fc.oneof(yamlish, fc.string({ maxLength: 80 })), (text) => {
      expect(stepped(text)).toEqual(oneGo(text));
    }), { numRuns: 3000 });
  });

  it('says so when a file holds two documents', () => {
    expect(() => parseYaml('a: 1\n---\nb: 2\n', 'c.yml')).toThrow('c.yml: line 2, column 1: not valid YAML: the file holds more than one YAML document (a second --- line)');
  });

  it('reads a large config in many small steps', () => {
    const text = `http:\n${Array.from({ length: 300 }, (_, i) => `  - name: t${i}\n    url: http://127.0.0.1:9/${i}\n    interval: 5s\n`).join('')}`;
    let steps = 0;
    const it = yamlSteps(text, 'c.yml');
    let r = it.next();
    for (; r.done !== true; r = it.next()) steps += 1;
    expect((r.value as { http: unknown[] }).http).toHaveLength(300);
    // ~4,800 lexemes, 64 per step: the parse is not one long piece of work.
    expect(steps).toBeGreaterThan(50);
  });
});
