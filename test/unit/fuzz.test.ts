import fc from 'fast-check';
import YAML from 'yaml';
import { LineSplitter } from '../../src/collectors/docker-lines';
import { parseEventLine } from '../../src/collectors/docker-state';
import { judge } from '../../src/collectors/http';
import { evaluate, fieldNumber, lookup, mapStatus, parseCondition, parsePath, DEFAULT_STATUS_MAP } from '../../src/collectors/http-json';
import { newBrokerMemory, parseSysPayload, SYS_TOPICS, SysState, topicMatches } from '../../src/collectors/mqtt-sys';
import { parseCmdline, parseMaxOpenFiles, parseStat } from '../../src/collectors/proc-reader';
import { ConfigErrors } from '../../src/config/errors';
import { interpolate, parseConfig, validate } from '../../src/config/load';
import { MAX_ERROR_CHARS } from '../../src/error-text';

/**
 * Property-based fuzzing of every parser fed untrusted input: the config loader, the JSON path
 * and condition evaluator, the $SYS parser, the Docker event line parser and splitter, and the
 * /proc parsers. Properties: no uncaught exception, only the documented error kind, results of
 * the documented shape. A bounded number of runs (FUZZ_RUNS, default 300 per property; each
 * property also stops after 20 s) so CI time stays bounded; a failure prints the seed and path
 * that replay it.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const opts = { numRuns: RUNS, interruptAfterTimeLimit: 20_000 };

jest.setTimeout(120_000);

/** Any JSON value, including deep and odd keys. */
const json = fc.jsonValue({ maxDepth: 6 });
const oddKey = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '0', ''));

describe('config loader', () => {
  const KEYS = ['server', 'limits', 'http', 'mqtt', 'docker', 'processes', 'process_discovery', 'process_settings',
    'name', 'url', 'interval', 'timeout', 'password', 'password_file', 'bearer_token', 'headers', 'tls', 'ca_file', 'cmdline', 'listen', 'json', 'conditions'];
  const key = fc.oneof(fc.constantFrom(...KEYS), oddKey);
  const leaf = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
    fc.constantFrom('${A}', '${A:-${B}}', '$${A}', '5s', 'http://127.0.0.1/', 'mqtt://127.0.0.1:1883', '(a+)+$', '/dev/zero', '999.1.1.1:80'));
  const tree = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(key, tie('node'), { maxKeys: 5 })),
  })).node;

  it('a YAML document built from any data: valid, or ConfigErrors whose messages are one line each', () => {
    fc.assert(fc.property(tree, (data) => {
      const text = YAML.stringify(data);
      try {
        parseConfig(text, 'f.yml', { A: 'x' });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigErrors);
        for (const e of (err as ConfigErrors).errors) expect(e.message).not.toContain('\n');
      }
    }), opts);
  });

  it('arbitrary text: valid, or ConfigErrors', () => {
    const yamlish = fc.array(fc.oneof(fc.string(), fc.constantFrom(':', '- ', '&a ', '*a', '<<: *a', '\n', '  ', '{', '}', '[', ']', '"', "'", '!!binary', '!!js/function', '%YAML 1.2\n---\n', '__proto__: 1\n')), { maxLength: 30 }).map((p) => p.join(''));
    fc.assert(fc.property(yamlish, (text) => {
      try {
        parseConfig(text, 'f.yml', {});
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigErrors);
      }
    }), opts);
  });

  it('validate() on any value: a config or ConfigErrors, never a polluted prototype', () => {
    fc.assert(fc.property(tree, (data) => {
      try {
        validate(data, 'f.yml');
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigErrors);
      }
      expect(({} as Record<string, unknown>).listen).toBeUndefined();
    }), opts);
  });

  it('${...} expansion: never throws; text without "${" is unchanged', () => {
    const envName = fc.constantFrom('A', 'B', 'UNSET');
    const piece = fc.oneof(fc.string(), envName.map((n) => `\${${n}}`), fc.tuple(envName, fc.string()).map(([n, d]) => `\${${n}:-${d}}`), fc.constantFrom('${', '}', '$${', ':-', '$'));
    fc.assert(fc.property(fc.array(piece, { maxLength: 12 }).map((p) => p.join('')), (s) => {
      const errors: never[] = [];
      const out = interpolate(s, [], { env: { A: 'a', B: 'b' }, errors, file: 'f' });
      expect(typeof out).toBe('string');
      if (!s.includes('${')) expect(out).toBe(s);
    }), opts);
  });
});

describe('JSON paths and conditions', () => {
  it('parsePath and parseCondition: a result or undefined / a message, for any text', () => {
    fc.assert(fc.property(fc.string(), (s) => {
      const p = parsePath(s);
      if (p !== undefined) expect(Array.isArray(p)).toBe(true);
      const c = parseCondition(s);
      expect(typeof c === 'string' || (typeof c === 'object' && c !== null)).toBe(true);
    }), opts);
  });

  it('evaluate, lookup, mapStatus and fieldNumber on any JSON: booleans / numbers, no exception', () => {
    const cond = fc.tuple(fc.constantFrom('a', 'a.b', 'a[0]', 'status', '__proto__', 'constructor.name', 'a.b.c.d'), fc.constantFrom('==', '!=', '<', '<=', '>', '>='),
      fc.constantFrom('1', '-2.5e3', 'true', 'false', 'null', '"ok"', "'x'")).map(([p, op, v]) => parseCondition(`${p} ${op} ${v}`));
    fc.assert(fc.property(json, cond, (doc, c) => {
      if (typeof c === 'string') return;
      expect(typeof evaluate(c, doc)).toBe('boolean');
      const v = lookup(doc, c.path);
      const n = fieldNumber(v);
      if (n !== undefined) expect(Number.isFinite(n)).toBe(true);
      expect(['healthy', 'degraded', 'unhealthy', 'unknown']).toContain(mapStatus(v, DEFAULT_STATUS_MAP));
    }), opts);
  });

  it('judging any body against conditions: an outcome with a short error, never an exception', () => {
    const target = validate({ http: [{ name: 'a', url: 'http://127.0.0.1/', json: { status: 'status', fields: { f: 'a.b' } }, conditions: ['status == "ok"', 'a.b < 5', 'a != null'] }] }, 'f').http[0]!;
    const deep = fc.integer({ min: 1, max: 50_000 }).map((n) => `{"status":${'['.repeat(n)}${']'.repeat(n)},"a":{"b":${'{"c":'.repeat(n)}1${'}'.repeat(n)}}}`);
    const body = fc.oneof(json.map((j) => JSON.stringify(j)), fc.string(), deep, fc.string({ minLength: 0, maxLength: 2000 }).map((s) => JSON.stringify({ status: s.repeat(50) })));
    fc.assert(fc.property(body, fc.integer({ min: 100, max: 599 }), (text, status) => {
      const o = judge(target, { status, body: Buffer.from(text), durationSeconds: 0 });
      expect(typeof o.ok).toBe('boolean');
      if (o.error !== undefined) expect(o.error.length).toBeLessThanOrEqual(MAX_ERROR_CHARS);
    }), { ...opts, numRuns: Math.min(RUNS, 150) });
  });
});

describe('$SYS', () => {
  const topic = fc.oneof(fc.constantFrom(...SYS_TOPICS.keys()), fc.string().map((s) => `$SYS/broker/${s}`));
  const payload = fc.oneof(fc.string(), fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    fc.double().map(String), fc.integer().map((n) => `${n} seconds`), fc.constantFrom('', 'NaN', 'Infinity', '-1', '1e308', '0x10', ' 12 '));

  it('parseSysPayload: a finite number or undefined', () => {
    fc.assert(fc.property(payload, (p) => {
      const v = parseSysPayload(p);
      if (v !== undefined) expect(Number.isFinite(v)).toBe(true);
    }), opts);
  });

  it('SysState over any message sequence: effects with finite values, no exception', () => {
    const seq = fc.array(fc.tuple(topic, payload, fc.boolean()), { maxLength: 40 });
    fc.assert(fc.property(seq, (msgs) => {
      const s = new SysState(newBrokerMemory(), 1);
      let now = 1000;
      s.newConnection(now);
      for (const [t, p, reconnect] of msgs) {
        now += 0.5;
        if (reconnect) s.newConnection(now);
        for (const e of s.onMessage(t, p, now)) {
          if (e.type === 'gauge') expect(Number.isFinite(e.value)).toBe(true);
          if (e.type === 'counter') {
            expect(e.delta).toBeGreaterThanOrEqual(0);
            expect(Number.isFinite(e.total)).toBe(true);
          }
        }
      }
    }), opts);
  });

  it('topicMatches: never throws', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (f, t) => {
      expect(typeof topicMatches(f, t)).toBe('boolean');
    }), opts);
  });
});

describe('Docker events', () => {
  const attrs = fc.dictionary(fc.string(), fc.string(), { maxKeys: 4 });
  const eventish = fc.record({
    Type: fc.constantFrom('container', 'network', 'image', 5),
    Action: fc.oneof(fc.constantFrom('create', 'start', 'die', 'oom', 'destroy', 'health_status: healthy', 'exec_start: sh', 'rename'), fc.string()),
    id: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string()),
    Actor: fc.oneof(fc.record({ ID: fc.string(), Attributes: attrs }), json),
    time: fc.oneof(fc.integer(), fc.string()),
    timeNano: fc.oneof(fc.integer(), fc.double(), fc.string()),
  }, { requiredKeys: [] });

  it('parseEventLine: event, other or bad, for any line', () => {
    const line = fc.oneof(fc.string(), eventish.map((e) => JSON.stringify(e)), json.map((j) => JSON.stringify(j)));
    fc.assert(fc.property(line, (l) => {
      const r = parseEventLine(l);
      expect(['event', 'other', 'bad']).toContain(r.kind);
      if (r.kind === 'event') expect(typeof r.event.id).toBe('string');
    }), opts);
  });

  it('LineSplitter: any chunking gives the same lines; over-long lines are dropped and counted, memory bounded', () => {
    const lines = fc.array(fc.oneof(fc.string({ maxLength: 40 }).map((s) => s.replaceAll('\n', ' ')), fc.constant('x'.repeat(300))), { maxLength: 20 });
    fc.assert(fc.property(lines, fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 10 }), (ls, cuts) => {
      const text = Buffer.from(ls.map((l) => `${l}\n`).join(''));
      const s = new LineSplitter(256);
      const got: string[] = [];
      let i = 0;
      let k = 0;
      while (i < text.length) {
        const n = cuts[k++ % cuts.length]!;
        got.push(...s.push(text.subarray(i, i + n)));
        expect(s.pending).toBeLessThanOrEqual(256);
        i += n;
      }
      const want = ls.filter((l) => Buffer.byteLength(l) <= 256 && l.trim() !== '').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
      expect(got).toEqual(want);
      expect(s.overlong).toBe(ls.filter((l) => Buffer.byteLength(l) > 256).length);
    }), opts);
  });
});

describe('/proc parsers', () => {
  const statLine = fc.tuple(fc.integer({ min: 1, max: 4_194_304 }), fc.string({ maxLength: 16 }), fc.array(fc.oneof(fc.nat().map(String), fc.integer().map(String), fc.string({ maxLength: 4 })), { maxLength: 52 }))
    .map(([pid, comm, rest]) => `${pid} (${comm}) ${rest.join(' ')}\n`);

  it('parseStat: a record with finite numbers, or undefined, for any bytes', () => {
    const input = fc.oneof(statLine, fc.string(), fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString('latin1')));
    fc.assert(fc.property(input, (text) => {
      const buf = Buffer.from(text, 'latin1');
      const st = parseStat(buf, buf.length);
      if (st === undefined) return;
      for (const v of [st.pid, st.ppid, st.flags, st.utime, st.stime, st.threads, st.startTicks, st.vsize, st.rssPages]) {
        expect(Number.isFinite(v)).toBe(true);
      }
      expect(typeof st.comm).toBe('string');
    }), opts);
  });

  it('parseCmdline and parseMaxOpenFiles: never throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.string(), (bytes, text) => {
      const buf = Buffer.from(bytes);
      expect(typeof parseCmdline(buf, buf.length)).toBe('string');
      const n = parseMaxOpenFiles(text);
      if (n !== undefined) expect(n >= 0 || Number.isNaN(n)).toBe(true);
    }), opts);
  });
});
