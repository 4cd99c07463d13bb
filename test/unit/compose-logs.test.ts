/**
 * The compose example's access-log path: nginx (demo profile) in front of the demo backend
 * writes its access log to a volume that stackwatch mounts read-only, in the format and at the
 * path stackwatch's example config reads.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { buildParser } from '../../src/collectors/log-formats';
import { loadConfigFile } from '../../src/config/load';

const root = path.join(__dirname, '..', '..');
const read = (rel: string): string => readFileSync(path.join(root, rel), 'utf8');
interface Service { profiles?: string[]; volumes?: string[]; depends_on?: string[]; ports?: string[]; read_only?: boolean }
const compose = YAML.parse(read('docker-compose.yml')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const vol = (v: string): { source: string; target: string; ro: boolean } => {
  const [source = '', target = '', mode = ''] = v.split(':');
  return { source, target, ro: mode.split(',').includes('ro') };
};

describe('compose: nginx in front of the demo backend, its access log shared read-only with stackwatch', () => {
  const proxy = compose.services.proxy!;
  const stackwatch = compose.services.stackwatch!;
  const cfg = loadConfigFile(path.join(root, 'examples', 'compose', 'stackwatch.yml'), {});
  const source = cfg.logs.find((l) => l.name === 'proxy')!;
  const nginxConf = read('examples/compose/nginx.conf');

  it('the proxy is in the demo profile, proxies to the demo backend and writes to the shared volume', () => {
    expect(proxy.profiles).toEqual(['demo']);
    expect(proxy.depends_on).toEqual(['demo-backend']);
    expect(proxy.read_only).toBe(true);
    expect(nginxConf).toMatch(/set \$backend http:\/\/demo-backend:8000;/);
    const logs = proxy.volumes!.map(vol).find((v) => v.source === 'proxy-logs')!;
    expect(logs.ro).toBe(false);
    expect(compose.volumes).toHaveProperty('proxy-logs');
    const sw = stackwatch.volumes!.map(vol).find((v) => v.source === 'proxy-logs')!;
    expect(sw).toEqual({ source: 'proxy-logs', target: logs.target, ro: true });
  });

  it('stackwatch reads the file nginx writes, in the format nginx writes it', () => {
    const accessLog = /^\s*access_log (\S+) timed;/m.exec(nginxConf)![1]!;
    expect(source.path).toBe(accessLog);
    const format = /log_format timed '([^']+)';/.exec(nginxConf)![1]!;
    expect(source.log_format).toBe(format);
    const parse = buildParser({ format: 'nginx', log_format: source.log_format });
    expect(parse('172.18.0.5 - - [25/Nov/2026:22:00:01 +0000] "GET /api/health HTTP/1.1" 502 157 "-" "node" 0.004 0.003')).toMatchObject({ status: 502, duration: 0.004, upstreamDuration: 0.003 });
    expect(source.traffic).toBeDefined();
  });
});
