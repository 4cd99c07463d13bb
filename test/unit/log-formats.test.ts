import fc from 'fast-check';
import {
  buildParser, codeLabel, compileTemplate, matchTemplate, methodLabel, parseTimeLocal, parseUpstreamTimes,
  routeLabel, FORMAT_PRESETS, CODE_LABELS, codeIndex, METHODS, methodIndex, type LogRecord,
  APACHE_COMBINED, NGINX_COMBINED, UVICORN, referenceTemplateParser, templateParser, type Template,
} from '../../src/collectors/log-formats';

const nginx = buildParser({ format: 'nginx' });

describe('nginx combined', () => {
  it('parses a combined line: method, path without query, status, bytes, time', () => {
    const r = nginx('203.0.113.7 - - [25/Nov/2026:22:00:01 +0100] "POST /api/chatbot/messages?session=abc HTTP/1.1" 502 157 "https://app.example/" "Mozilla/5.0 (X11; Linux x86_64)"') as LogRecord;
    expect(r).toEqual({ method: 'POST', path: '/api/chatbot/messages', status: 502, bytes: 157, time: Date.UTC(2026, 10, 25, 21, 0, 1) / 1000 });
  });

  it('accepts extra fields appended after the combined format', () => {
    const r = nginx('127.0.0.1 - - [25/Nov/2026:22:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8" 0.003 0.002') as LogRecord;
    expect(r.status).toBe(200);
  });

  it('keeps escaped quotes inside quoted fields (nginx writes \\x22)', () => {
    const r = nginx('127.0.0.1 - - [25/Nov/2026:22:00:01 +0000] "GET /a\\x22b HTTP/1.1" 404 0 "-" "x\\x22y"') as LogRecord;
    expect(r).toMatchObject({ method: 'GET', path: '/a\\x22b', status: 404 });
  });

  it('says why a line does not parse', () => {
    expect(nginx('')).toBe('no_match');
    expect(nginx('hello world')).toBe('no_match');
    expect(nginx('127.0.0.1 - - [25/Nov/2026:22:00:01 +0000] "GET / HTTP/1.1" 2000 5 "-" "-"')).toBe('bad_status');
    expect(nginx('127.0.0.1 - - [25/Nov/2026:22:00:01 +0000] "GET / HTTP/1.1" abc 5 "-" "-"')).toBe('bad_status');
  });

  it('reads a request line nginx could not parse (400 with a junk request)', () => {
    const r = nginx('127.0.0.1 - - [25/Nov/2026:22:00:01 +0000] "\\x16\\x03\\x01" 400 157 "-" "-"') as LogRecord;
    expect(r.status).toBe(400);
    expect(r.method).toBeUndefined();
  });
});

describe('nginx log_format strings', () => {
  const fmt = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rt=$request_time uct="$upstream_connect_time" urt="$upstream_response_time"';
  const p = buildParser({ format: 'nginx', log_format: fmt });

  it('reads $request_time and $upstream_response_time', () => {
    const r = p('10.0.0.1 - - [25/Nov/2026:22:00:01 +0000] "GET /api/health HTTP/1.1" 200 48 "-" "kube-probe" rt=0.125 uct="0.000" urt="0.124"') as LogRecord;
    expect(r).toMatchObject({ method: 'GET', path: '/api/health', status: 200, bytes: 48, duration: 0.125, upstreamDuration: 0.124 });
  });

  it('sums the upstream times of several upstreams and skips "-"', () => {
    expect(parseUpstreamTimes('0.010, 0.002 : 0.003')).toBeCloseTo(0.015, 9);
    expect(parseUpstreamTimes('-')).toBeUndefined();
    const r = p('10.0.0.1 - - [25/Nov/2026:22:00:01 +0000] "GET / HTTP/1.1" 502 0 "-" "-" rt=3.001 uct="-" urt="-"') as LogRecord;
    expect(r.duration).toBe(3.001);
    expect(r.upstreamDuration).toBeUndefined();
  });

  it('reads $request_method, $request_uri, $msec and ${braced} variables', () => {
    const q = buildParser({ format: 'nginx', log_format: '${msec} $request_method $request_uri ${status}:$bytes_sent' });
    expect(q('1764108001.123 DELETE /x/1?y=2 204:0')).toEqual({ time: 1764108001.123, method: 'DELETE', path: '/x/1', status: 204, bytes: 0 });
  });

  it('rejects formats that cannot describe a request', () => {
    expect(compileTemplate('$remote_addr $request')).toBe('the format has no $status');
    expect(compileTemplate('$status$body_bytes_sent')).toMatch(/touch/);
    expect(compileTemplate('no variables')).toMatch(/no \$variables/);
  });
});

describe('other presets', () => {
  it('apache combined and common (one preset, common lines end after the size)', () => {
    const p = buildParser({ format: 'apache' });
    expect(p('127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08"'))
      .toEqual({ method: 'GET', path: '/apache_pb.gif', status: 200, bytes: 2326, time: 971211336 });
    expect(p('127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 -'))
      .toEqual({ method: 'GET', path: '/apache_pb.gif', status: 200, time: 971211336 });
  });

  it('gunicorn (its default access_log_format)', () => {
    const p = buildParser({ format: 'gunicorn' });
    expect(p('127.0.0.1 - - [25/Nov/2026:22:00:01 +0000] "GET /api/health HTTP/1.1" 200 15 "-" "curl/7.88.1"')).toMatchObject({ status: 200, path: '/api/health' });
  });

  it('uvicorn, with and without the level prefix', () => {
    const p = buildParser({ format: 'uvicorn' });
    expect(p('INFO:     127.0.0.1:51234 - "POST /api/chatbot/messages HTTP/1.1" 500 Internal Server Error'))
      .toEqual({ method: 'POST', path: '/api/chatbot/messages', status: 500 });
    expect(p('127.0.0.1:51234 - "GET /api/health?x=1 HTTP/1.1" 200')).toEqual({ method: 'GET', path: '/api/health', status: 200 });
    expect(p('INFO:     Application startup complete.')).toBe('no_match');
  });

  it('nginx JSON (escape=json)', () => {
    const p = buildParser({ format: 'nginx_json' });
    expect(p('{"time_iso8601":"2026-11-25T22:00:01+00:00","request_method":"GET","request_uri":"/a?b","status":"503","body_bytes_sent":"12","request_time":"0.250","upstream_response_time":"0.249"}'))
      .toEqual({ method: 'GET', path: '/a', status: 503, bytes: 12, duration: 0.25, upstreamDuration: 0.249, time: Date.UTC(2026, 10, 25, 22, 0, 1) / 1000 });
  });

  it('Caddy JSON', () => {
    const p = buildParser({ format: 'caddy' });
    const line = '{"level":"info","ts":1764108001.52,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"127.0.0.1","proto":"HTTP/2.0","method":"GET","host":"x","uri":"/api/chatbot/messages?x=1","headers":{}},"bytes_read":0,"user_id":"","duration":0.0012,"size":42,"status":200,"resp_headers":{}}';
    expect(p(line)).toEqual({ method: 'GET', path: '/api/chatbot/messages', status: 200, bytes: 42, duration: 0.0012, time: 1764108001.52 });
  });

  it('Traefik JSON (durations in nanoseconds)', () => {
    const p = buildParser({ format: 'traefik' });
    const line = '{"ClientHost":"127.0.0.1","DownstreamContentSize":19,"DownstreamStatus":502,"Duration":1500000,"OriginDuration":1200000,"RequestMethod":"POST","RequestPath":"/api/chatbot/messages","StartUTC":"2026-11-25T22:00:01.5Z"}';
    const r = p(line) as LogRecord;
    expect(r).toMatchObject({ method: 'POST', path: '/api/chatbot/messages', status: 502, bytes: 19 });
    expect(r.duration).toBeCloseTo(0.0015, 12);
    expect(r.upstreamDuration).toBeCloseTo(0.0012, 12);
    expect(r.time).toBe(Date.UTC(2026, 10, 25, 22, 0, 1, 500) / 1000);
  });

  it('JSON field mapping overrides the preset; a docker json-file prefix before the object is skipped', () => {
    const p = buildParser({ format: 'caddy', json_fields: { status: 'resp.code', duration: 'took_ms', duration_unit: 'ms' } });
    expect(p('2026-11-25 {"request":{"method":"GET","uri":"/"},"resp":{"code":404},"took_ms":5}')).toMatchObject({ status: 404, duration: 0.005, method: 'GET' });
    expect(p('{"request":')).toBe('invalid_json');
    expect(p('[1,2]')).toBe('invalid_json');
    expect(p('{"resp":{"code":"x"}}')).toBe('bad_status');
    expect(p('{"__proto__":{"code":200},"resp":{"code":201}}')).toMatchObject({ status: 201 });
  });
});

describe('labels', () => {
  it('code: exact for 429, 499 and 5xx, else the class', () => {
    expect([200, 204, 301, 304, 400, 404, 429, 499, 500, 502, 504, 599, 101].map(codeLabel))
      .toEqual(['2xx', '2xx', '3xx', '3xx', '4xx', '4xx', '429', '499', '500', '502', '504', '599', '1xx']);
  });

  it('code and method indices name the same labels as codeLabel and methodLabel', () => {
    for (let status = 100; status <= 599; status++) expect(CODE_LABELS[codeIndex(status)]).toBe(codeLabel(status));
    for (const m of [...METHODS, 'get', 'PROPFIND', undefined, '']) {
      expect([...METHODS, 'other'][methodIndex(m)]).toBe(methodLabel(m));
    }
  });

  it('method: a fixed set, the rest other', () => {
    expect(['GET', 'POST', 'get', 'PROPFIND', undefined, 'X'.repeat(1000)].map(methodLabel)).toEqual(['GET', 'POST', 'other', 'other', 'other', 'other']);
  });

  it('route: the first configured pattern that matches, else other; query strings never reach it', () => {
    const routes: [string, RegExp][] = [['chatbot', /^\/api\/chatbot\//], ['health', /^\/api\/health/]];
    expect(routeLabel(routes, '/api/chatbot/messages')).toBe('chatbot');
    expect(routeLabel(routes, '/api/health')).toBe('health');
    expect(routeLabel(routes, '/')).toBe('other');
    expect(routeLabel(routes, undefined)).toBe('other');
    const r = nginx('127.0.0.1 - - [25/Nov/2026:22:00:01 +0000] "GET /search?q=/api/health HTTP/1.1" 200 1 "-" "-"') as LogRecord;
    expect(routeLabel(routes, r.path)).toBe('other');
  });

  it('time_local with offsets', () => {
    expect(parseTimeLocal('10/Oct/2000:13:55:36 -0700')).toBe(971211336);
    expect(parseTimeLocal('10/Foo/2000:13:55:36 -0700')).toBeUndefined();
  });
});

describe('untrusted lines (property-based)', () => {
  const parsers = [
    ...FORMAT_PRESETS.map((f) => buildParser({ format: f })),
    buildParser({ format: 'nginx', log_format: '$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_time "$upstream_response_time"' }),
  ];
  const routes: [string, RegExp][] = [['chatbot', /^\/api\/chatbot\//]];

  const REASONS = new Set(['no_match', 'bad_status', 'invalid_json', 'too_long']);
  const CODES = new Set(CODE_LABELS);
  const METHOD_LABELS = new Set<string>([...METHODS, 'other']);
  const fail = (why: string, r: unknown): never => { throw new Error(`${why}: ${JSON.stringify(r)}`); };

  /** Plain checks (not expect()): they run hundreds of thousands of times. */
  function checkRecord(r: ReturnType<(typeof parsers)[number]>): void {
    if (typeof r === 'string') {
      if (!REASONS.has(r)) fail('unknown reason', r);
      return;
    }
    if (!(Number.isInteger(r.status) && r.status >= 100 && r.status <= 599)) fail('status out of range', r);
    if (!CODES.has(codeLabel(r.status))) fail('code label', r);
    if (!METHOD_LABELS.has(methodLabel(r.method))) fail('method label', r);
    if (!['chatbot', 'other'].includes(routeLabel(routes, r.path))) fail('route label', r);
    if (r.path?.includes('?')) fail('query in path', r);
    for (const v of [r.bytes, r.duration, r.upstreamDuration, r.time]) if (v !== undefined && !(Number.isFinite(v) && v >= 0)) fail('bad number', r);
  }

  it('never throw and answer a record with bounded labels or a known reason, for any text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400, unit: 'binary' }), (s) => {
      for (const p of parsers) checkRecord(p(s));
    }), { numRuns: 1500 });
  });

  it('the same for lines that look almost right (mutated real lines)', () => {
    const base = [
      '127.0.0.1 - - [25/Nov/2026:22:00:01 +0000] "GET /api/chatbot/x?y HTTP/1.1" 200 5 "-" "curl/8" 0.1 0.2',
      '{"request":{"method":"GET","uri":"/api/chatbot/x"},"status":200,"size":5,"duration":0.1,"ts":1764108001}',
      'INFO:     127.0.0.1:1 - "GET / HTTP/1.1" 200 OK',
    ];
    const mutated = fc.tuple(fc.constantFrom(...base), fc.nat(), fc.nat({ max: 40 }), fc.string({ maxLength: 20 }))
      .map(([b, at, del, ins]) => { const i = at % (b.length + 1); return b.slice(0, i) + ins + b.slice(i + del); });
    fc.assert(fc.property(mutated, (s) => {
      for (const p of parsers) checkRecord(p(s));
    }), { numRuns: 3000 });
  });

  it('take time linear in the line: 200 KB of adversarial text parses in well under a second per parser', () => {
    const evil = ['"'.repeat(200_000), ' '.repeat(200_000), '[' + '- '.repeat(100_000), '{'.repeat(200_000), `${'a - "'.repeat(50_000)}`];
    for (const p of parsers) {
      for (const e of evil) {
        const t0 = process.hrtime.bigint();
        checkRecord(p(e));
        expect(Number(process.hrtime.bigint() - t0) / 1e6).toBeLessThan(1000);
      }
    }
  });

  it('the one-pass template parser answers exactly what the reference (matchTemplate + its variables) answers', () => {
    const formats = [NGINX_COMBINED, APACHE_COMBINED, UVICORN, '$msec $request_method $request_uri $status:$bytes_sent',
      '$remote_addr [$time_local] "$request" $status $body_bytes_sent rt=$request_time "$upstream_response_time"'];
    const samples = [
      '127.0.0.1 - - [25/Nov/2026:22:00:01 +0000] "GET /api/chatbot/x?y HTTP/1.1" 200 5 "-" "curl/8" 0.1 0.2',
      'INFO:     127.0.0.1:1 - "GET / HTTP/1.1" 200 OK',
      '1764108001.123 DELETE /x/1?y=2 204:0',
      '10.0.0.1 [25/Nov/2026:22:00:01 +0000] "POST /a HTTP/1.1" 502 0 rt=3.001 "0.5, 0.2"',
    ];
    const input = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.tuple(fc.constantFrom(...samples), fc.nat(), fc.nat({ max: 30 }), fc.string({ maxLength: 12 }))
        .map(([b, at, del, ins]) => { const i = at % (b.length + 1); return b.slice(0, i) + ins + b.slice(i + del); }),
    );
    const pairs = formats.map((f) => { const t = compileTemplate(f) as Template; return [templateParser(t), referenceTemplateParser(t)] as const; });
    fc.assert(fc.property(input, (line) => {
      for (const [fast, ref] of pairs) {
        const a = JSON.stringify(fast(line));
        const b = JSON.stringify(ref(line));
        if (a !== b) fail(`fast ${a} != reference ${b} for ${JSON.stringify(line)}`, line);
      }
    }), { numRuns: 3000 });
  });

  it('a template match consumes the line left to right (matchTemplate never reads past the end)', () => {
    const t = compileTemplate('$a "$request" $status') as Exclude<ReturnType<typeof compileTemplate>, string>;
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
      const m = matchTemplate(t, s);
      if (m !== undefined) for (const v of m.values()) if (!s.includes(v)) fail('value not from the line', v);
    }), { numRuns: 1000 });
  });
});
