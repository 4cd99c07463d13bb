import { ConfigErrors } from '../../src/config/errors';
import { parseConfig } from '../../src/config/load';

function errorsOf(text: string): string[] {
  try {
    parseConfig(text, 'stackwatch.yml', {});
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => e.message);
    throw err;
  }
  throw new Error('expected the config to be refused');
}

describe('logs config', () => {
  it('accepts the issue\'s shape and fills in defaults', () => {
    const c = parseConfig([
      'logs:',
      '  - name: proxy',
      '    path: /var/log/nginx/access.log',
      '    format: nginx',
      '    routes: { chatbot: "^/api/chatbot/", health: "^/api/health" }',
    ].join('\n'), 'stackwatch.yml', {});
    expect(c.logs).toEqual([{
      name: 'proxy', path: '/var/log/nginx/access.log', format: 'nginx', routes: { chatbot: '^/api/chatbot/', health: '^/api/health' },
      start_at: 'end', max_line_bytes: 65536, poll_interval: 1, watch: true, rotate_wait: 5, stale_after: 300,
    }]);
    expect(parseConfig('', 'x', {}).logs).toEqual([]);
    expect(parseConfig('logs:\n  - { name: proxy, path: /x, upstream: backend }', 'x', {}).logs[0]!.upstream).toBe('backend');
  });

  const one = (extra: string): string => errorsOf(`logs:\n  - name: a\n    path: /x\n${extra}`).join('\n');

  it('names the field of each mistake', () => {
    expect(one('    log_format: "$remote_addr $request"')).toMatch(/logs\[0\]\.log_format: the format has no \$status/);
    expect(one('    format: nginx_json\n    log_format: "$status"')).toMatch(/logs\[0\]\.log_format: log_format describes a text format; format nginx_json is JSON/);
    expect(one('    routes: { other: "^/" }')).toMatch(/logs\[0\]\.routes\.other: "other" is the route/);
    expect(one('    routes: { "bad name!": "^/x" }')).toMatch(/logs\[0\]\.routes\.bad name!/);
    expect(one('    routes: { broken: "(" }')).toMatch(/logs\[0\]\.routes\.broken: not a usable regular expression/);
    expect(one('    traffic: { max_error_ratio: 2 }')).toMatch(/logs\[0\]\.traffic\.max_error_ratio/);
    expect(one('    traffic: { colour: red }')).toMatch(/logs\[0\]\.traffic.*colour/);
    expect(one('    stray: 1')).toMatch(/logs\[0\].*stray/);
    expect(one('    upstream: "{backend}"')).toMatch(/logs\[0\]\.upstream/);
    expect(one('    format: syslog')).toMatch(/logs\[0\]\.format/);
    expect(errorsOf('logs:\n  - name: a\n    path: /var/log/*/access.log').join('\n')).toMatch(/logs\[0\]\.path: a glob may only be in the file name/);
    expect(one('  - name: a\n    path: /y')).toMatch(/logs\[1\]\.name: duplicate name "a"/);
  });

  it('a JSON mapping for a text preset must say where the status is', () => {
    expect(errorsOf('logs:\n  - name: a\n    path: /x\n    json_fields: { method: m }').join('\n')).toMatch(/logs\[0\]\.json_fields\.status: format nginx is not JSON/);
  });
});
