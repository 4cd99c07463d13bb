/**
 * The docker-compose bundle, read as data: security (the raw Docker socket only in the
 * read-only proxy, which allows GET on containers and events and nothing else; non-root image),
 * pinned current releases,
 * and the wiring between the files (service names and ports in prometheus.yml, Grafana's
 * provisioning paths, the example configs).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadConfigFile } from '../../src/config/load';
import { bundleConfig } from '../../src/bundle/bundle-config';
import { grafanaFiles } from '../../src/bundle/grafana-files';
import { CHANNELS, ENTRYPOINT_FILE, NTFY_TOKEN, settingDefaults, WATCHDOG_URL } from '../../src/bundle/notifications';

const root = path.join(__dirname, '..', '..');
const read = (rel: string): string => readFileSync(path.join(root, rel), 'utf8');
const yaml = (rel: string): unknown => YAML.parse(read(rel));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  volumes?: string[];
  ports?: string[];
  networks?: string[];
  environment?: Record<string, string>;
  profiles?: string[];
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  restart?: string;
  mem_limit?: string;
  depends_on?: string[];
  entrypoint?: string[];
  tmpfs?: string[];
}

const compose = yaml('docker-compose.yml') as { services: Record<string, Service>; networks: Record<string, { internal?: boolean }> };
const services = compose.services;
const svc = (name: string): Service => {
  const s = services[name];
  if (s === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};
/** A short-syntax volume: source, target, read-only. */
const vol = (v: string): { source: string; target: string; ro: boolean } => {
  const [source = '', target = '', mode = ''] = v.split(':');
  return { source, target, ro: mode.split(',').includes('ro') };
};

/** Every API section of tecnativa/docker-socket-proxy (its README), and the POST switch. */
const PROXY_SECTIONS = [
  'AUTH', 'BUILD', 'COMMIT', 'CONFIGS', 'CONTAINERS', 'DISTRIBUTION', 'EVENTS', 'EXEC', 'GRPC', 'IMAGES', 'INFO',
  'NETWORKS', 'NODES', 'PING', 'PLUGINS', 'SECRETS', 'SERVICES', 'SESSION', 'SWARM', 'SYSTEM', 'TASKS', 'VERSION', 'VOLUMES',
];

describe('docker-compose.yml: Docker access only through a read-only socket proxy', () => {
  it('never mounts the Docker socket (or /var/run) into stackwatch, nor points it at a unix socket', () => {
    const s = svc('stackwatch');
    for (const v of s.volumes ?? []) {
      const { source, target } = vol(v);
      expect([v, /docker\.sock/.test(source) || /docker\.sock/.test(target) || source.startsWith('/var/run') || source === '/run']).toEqual([v, false]);
    }
    expect(Object.keys(s.environment ?? {}).filter((k) => k.startsWith('DOCKER_'))).toEqual([]);
    const cfg = loadConfigFile(path.join(root, 'examples', 'compose', 'stackwatch.yml'), {});
    expect(cfg.docker.enabled).toBe(true);
    expect(cfg.docker.host).toBe('tcp://docker-socket-proxy:2375');
  });

  it('mounts the Docker socket in the proxy only, read-only', () => {
    const withSocket = Object.entries(services).filter(([, s]) => (s.volumes ?? []).some((v) => /docker\.sock/.test(v)));
    expect(withSocket.map(([n]) => n)).toEqual(['docker-socket-proxy']);
    const sock = svc('docker-socket-proxy').volumes!.map(vol).find((v) => /docker\.sock/.test(v.source))!;
    expect(sock).toEqual({ source: '/var/run/docker.sock', target: '/var/run/docker.sock', ro: true });
  });

  it('lets the proxy answer GET on containers and events only: POST denied, every other section off', () => {
    const p = svc('docker-socket-proxy');
    expect(p.image).toMatch(/^tecnativa\/docker-socket-proxy:\d+\.\d+\.\d+$/);
    const env = p.environment ?? {};
    expect(env.POST).toBe('0');
    const on = PROXY_SECTIONS.filter((k) => env[k] !== '0');
    expect(on.sort()).toEqual(['CONTAINERS', 'EVENTS']);
    expect([env.CONTAINERS, env.EVENTS]).toEqual(['1', '1']);
    for (const k of ['ALLOW_START', 'ALLOW_STOP', 'ALLOW_RESTARTS']) expect(env[k]).toBe('0');
    // Nothing else may reach the proxy: it sits on an internal network with stackwatch alone.
    expect(p.networks).toEqual(['docker-api']);
    expect(p.ports).toBeUndefined();
    expect(compose.networks['docker-api']).toEqual({ internal: true });
    const onApi = Object.entries(services).filter(([, s]) => (s.networks ?? []).includes('docker-api')).map(([n]) => n);
    expect(onApi.sort()).toEqual(['docker-socket-proxy', 'stackwatch']);
  });

  it('runs stackwatch from the Dockerfile, listening on all interfaces inside its container, read-only and without capabilities', () => {
    const s = svc('stackwatch');
    expect(s.build).toBe('.');
    expect(s.command).toEqual(['--config', '/etc/stackwatch/stackwatch.yml', '--listen', '0.0.0.0:9967', '--storage.path', '/var/lib/stackwatch']);
    const cfgMount = s.volumes!.map(vol).find((v) => v.target === '/etc/stackwatch/stackwatch.yml')!;
    expect(cfgMount.ro).toBe(true);
    expect(existsSync(path.join(root, cfgMount.source))).toBe(true);
    expect(s.read_only).toBe(true);
    expect(s.cap_drop).toEqual(['ALL']);
    // Host views for cgroup resources and processes: read-only; the data directory is the one
    // writable path, a named volume.
    const data = s.volumes!.map(vol).find((v) => v.target === '/var/lib/stackwatch')!;
    expect(data).toMatchObject({ source: 'stackwatch-data', ro: false });
    for (const v of s.volumes!.map(vol).filter((x) => x.target !== data.target)) expect([v.target, v.ro]).toEqual([v.target, true]);
  });

  it('publishes every port on loopback only', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const p of s.ports ?? []) expect([name, p.startsWith('127.0.0.1:')]).toEqual([name, true]);
    }
  });
});

describe('docker-compose.yml: current releases, pinned', () => {
  const image = (name: string): { repo: string; tag: string } => {
    const m = /^([^:@\s]+):([^@\s]+)$/.exec(svc(name).image ?? '');
    if (m === null) throw new Error(`service ${name}: image ${svc(name).image ?? '(none)'} is not repository:tag`);
    return { repo: m[1]!, tag: m[2]! };
  };
  const semver = (tag: string): number[] => {
    const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(tag);
    if (m === null) throw new Error(`tag ${tag} is not an exact version (no "latest", no floating major/minor)`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
  };

  it('pins every pulled image to an exact version', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.image === undefined || s.build !== undefined) continue;
      const { repo, tag } = image(name);
      if (repo === 'node') continue; // node:<major>-<debian>-slim, checked below
      expect([name, semver(tag).length]).toEqual([name, 3]);
    }
  });

  it('runs Grafana 12.4 (grafana/grafana: the OSS image), Prometheus 3 LTS and Alertmanager 0.34', () => {
    expect(image('grafana').repo).toBe('grafana/grafana');
    expect(semver(image('grafana').tag).slice(0, 2)).toEqual([12, 4]);
    expect(image('prometheus').repo).toBe('prom/prometheus');
    expect(semver(image('prometheus').tag)[0]).toBe(3);
    expect(image('alertmanager').repo).toBe('prom/alertmanager');
    expect(semver(image('alertmanager').tag).slice(0, 2)).toEqual([0, 34]);
  });

  it('runs the demo services on Node 24 LTS (Debian bookworm, slim)', () => {
    const node = Object.keys(services).filter((n) => svc(n).image?.startsWith('node:'));
    expect(node.sort()).toEqual(['alert-webhook', 'demo-backend', 'demo-traffic']);
    for (const n of node) expect(svc(n).image).toBe('node:24-bookworm-slim');
  });
});

describe('docker-compose.yml: the services find each other', () => {
  const prom = yaml('prometheus/prometheus.yml') as {
    global: { scrape_interval: string };
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    rule_files: string[];
  };

  it('Prometheus gets the generated prometheus.yml, rules and alerts, and scrapes stackwatch by its service name', () => {
    const p = svc('prometheus');
    const mount = p.volumes!.map(vol).find((v) => v.target === '/etc/prometheus')!;
    expect(mount).toEqual({ source: './prometheus', target: '/etc/prometheus', ro: true });
    expect(p.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    const targets = prom.scrape_configs.flatMap((j) => j.static_configs.flatMap((c) => c.targets));
    expect(targets).toContain('stackwatch:9967');
    expect(svc('stackwatch').command).toContain('0.0.0.0:9967');
    expect(prom.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets))).toEqual(['alertmanager:9093']);
    expect(services.alertmanager).toBeDefined();
    expect(prom.rule_files).toEqual(expect.arrayContaining(['rules/*.yml', 'alerts/*.yml']));
  });

  it('Alertmanager gets the generated alertmanager.yml; its webhook receivers exist in the demo profile', () => {
    const a = svc('alertmanager');
    const mount = a.volumes!.map(vol).find((v) => v.target === '/etc/alertmanager')!;
    expect(existsSync(path.join(root, mount.source, 'alertmanager.yml'))).toBe(true);
    // Started through the bundle's script, which writes the effective config (channels from the environment).
    expect(a.entrypoint).toEqual(['/bin/sh', `${mount.target}/${ENTRYPOINT_FILE}`]);
    expect(existsSync(path.join(root, mount.source, ENTRYPOINT_FILE))).toBe(true);
    expect(mount.ro).toBe(true);
    expect(a.command!.some((c) => c.startsWith('--config.file'))).toBe(false);
    expect(a.read_only).toBe(true);
    expect(a.tmpfs).toEqual(['/tmp']);
    const am = read('prometheus/alertmanager/alertmanager.yml');
    const hosts = [...am.matchAll(/url:\s*['"]?https?:\/\/([^:/'"\s]+)/g)].map((m) => m[1]!);
    for (const h of new Set(hosts)) expect([h, services[h] !== undefined]).toEqual([h, true]);
  });

  it('Alertmanager gets every notification secret and setting from the environment (.env), with no value in the file', () => {
    const env = svc('alertmanager').environment!;
    const names = [...CHANNELS.map((c) => c.secret.env), NTFY_TOKEN.env, WATCHDOG_URL.env, ...Object.keys(settingDefaults(bundleConfig))];
    expect(Object.keys(env).sort()).toEqual([...names].sort());
    for (const n of names) expect([n, env[n]]).toEqual([n, `\${${n}:-}`]);
    // .env.example names each of them, and holds no secret.
    const example = read('.env.example');
    for (const n of names) expect([n, new RegExp(`^#? ?${n}=`, 'm').test(example)]).toEqual([n, true]);
    for (const c of CHANNELS) expect(example).toMatch(new RegExp(`^${c.secret.env}=$`, 'm'));
    expect(read('.gitignore').split('\n')).toEqual(expect.arrayContaining(['.env', 'secrets/']));
  });

  it('Grafana is provisioned: datasource at the prometheus service, dashboards from grafana/dashboards', () => {
    const g = svc('grafana');
    const mounts = g.volumes!.map(vol);
    expect(mounts).toEqual(expect.arrayContaining([
      { source: './grafana/provisioning', target: '/etc/grafana/provisioning', ro: true },
      { source: './grafana/dashboards', target: '/var/lib/grafana/dashboards/stackwatch', ro: true },
    ]));
    const ds = yaml('grafana/provisioning/datasources/stackwatch.yml') as { apiVersion: number; datasources: { type: string; url: string; uid: string; jsonData: { timeInterval: string } }[] };
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toHaveLength(1);
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    // $__rate_interval is derived from this: it must be Prometheus' scrape interval.
    expect(ds.datasources[0]!.jsonData.timeInterval).toBe(prom.global.scrape_interval);
    const dp = yaml('grafana/provisioning/dashboards/stackwatch.yml') as { apiVersion: number; providers: { type: string; options: { path: string } }[] };
    expect(dp.providers).toHaveLength(1);
    expect(dp.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards/stackwatch' } });
    const home = g.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!;
    expect(Object.keys(grafanaFiles(bundleConfig)).map((f) => `/var/lib/grafana/dashboards/stackwatch/${path.basename(f)}`)).toContain(home);
  });

  it('Grafana\'s provisioning files use only keys Grafana 12 knows (it ignores a misspelt key silently)', () => {
    const unknown = (obj: Record<string, unknown>, known: readonly string[], where: string): string[] =>
      Object.keys(obj).filter((k) => !known.includes(k)).map((k) => `${where}.${k}`);
    const dp = yaml('grafana/provisioning/dashboards/stackwatch.yml') as Record<string, unknown> & { providers: Record<string, unknown>[] };
    const ds = yaml('grafana/provisioning/datasources/stackwatch.yml') as Record<string, unknown> & { datasources: Record<string, unknown>[] };
    const bad = [
      ...unknown(dp, ['apiVersion', 'providers'], 'dashboards'),
      ...dp.providers.flatMap((p, i) => [
        ...unknown(p, ['name', 'orgId', 'folder', 'folderUid', 'type', 'disableDeletion', 'updateIntervalSeconds', 'allowUiUpdates', 'options'], `providers[${i}]`),
        ...unknown(p.options as Record<string, unknown>, ['path', 'foldersFromFilesStructure'], `providers[${i}].options`),
      ]),
      ...unknown(ds, ['apiVersion', 'datasources', 'deleteDatasources', 'prune'], 'datasources'),
      ...ds.datasources.flatMap((d, i) => [
        ...unknown(d, ['name', 'type', 'access', 'orgId', 'uid', 'url', 'user', 'database', 'basicAuth', 'basicAuthUser', 'withCredentials',
          'isDefault', 'jsonData', 'secureJsonData', 'version', 'editable'], `datasources[${i}]`),
        // The Prometheus datasource's settings (Grafana's Prometheus plugin, PromOptions).
        ...unknown(d.jsonData as Record<string, unknown>, ['timeInterval', 'queryTimeout', 'httpMethod', 'prometheusType', 'prometheusVersion',
          'cacheLevel', 'incrementalQuerying', 'incrementalQueryOverlapWindow', 'disableRecordingRules', 'customQueryParameters',
          'exemplarTraceIdDestinations', 'manageAlerts', 'allowAsRecordingRulesTarget', 'tlsSkipVerify', 'tlsAuth', 'tlsAuthWithCACert',
          'oauthPassThru', 'seriesLimit', 'disableMetricsLookup'], `datasources[${i}].jsonData`),
      ]),
    ];
    expect(bad).toEqual([]);
    const provider = dp.providers[0]!;
    // Provisioned from generated files: the UI may not save over them (the dashboards are editable: false too).
    expect(provider.allowUiUpdates).toBe(false);
  });

  it('mosquitto publishes $SYS as often as stackwatch expects', () => {
    const m = svc('mosquitto');
    const conf = m.volumes!.map(vol).find((v) => v.target === '/mosquitto/config/mosquitto.conf')!;
    const text = read(conf.source);
    const sys = /^sys_interval\s+(\d+)\s*$/m.exec(text);
    expect(sys).not.toBeNull();
    const cfg = loadConfigFile(path.join(root, 'examples', 'compose', 'stackwatch.yml'), {});
    expect(cfg.mqtt.map((b) => [b.url, b.sys_interval])).toEqual([['mqtt://mosquitto:1883', Number(sys![1])]]);
  });

  it('the example stackwatch config uses only hosts that are compose services, and the dashboards\' health-field names', () => {
    const cfg = loadConfigFile(path.join(root, 'examples', 'compose', 'stackwatch.yml'), {});
    for (const t of cfg.http) expect(services[new URL(t.url).hostname]).toBeDefined();
    const fields = Object.keys(cfg.http[0]!.json!.fields).sort();
    expect(fields).toEqual(['mqtt_connected', 'mqtt_last_activity_seconds_ago', 'mqtt_reconnect_attempts', 'pending_requests']);
    expect(cfg.server.listen).toBe('0.0.0.0:9967');
    expect(cfg.docker.proc_root).toBe('/host/proc');
    const s = svc('stackwatch');
    expect(s.volumes!.map(vol).map((v) => v.target)).toEqual(expect.arrayContaining([cfg.docker.proc_root, cfg.docker.cgroup_root, cfg.process_settings.proc_path]));
  });

  it('the demo profile adds the demo backend (restarted after its crashes, memory-limited) and the alert webhook', () => {
    const d = svc('demo-backend');
    expect(d.profiles).toEqual(['demo']);
    expect(d.restart).toBe('always');
    expect(d.mem_limit).toMatch(/^\d+[mg]$/);
    expect(d.command).toEqual(['node', '/app/server.js']);
    expect(d.volumes!.map(vol)).toContainEqual({ source: './examples/demo-backend', target: '/app', ro: true });
    expect(existsSync(path.join(root, 'examples', 'demo-backend', 'server.js'))).toBe(true);
    expect(d.user).not.toMatch(/^(0|root)\b/);
    expect(svc('alert-webhook').profiles).toEqual(['demo']);
    // Without the profile, nothing depends on the demo services.
    for (const [name, s] of Object.entries(services)) {
      if (s.profiles === undefined) expect([name, (s.depends_on ?? []).filter((x) => services[x]?.profiles !== undefined)]).toEqual([name, []]);
    }
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const stages = text.split(/^FROM /m).slice(1);
  const runtime = stages[stages.length - 1]!;

  it('is multi-stage: builds with npm ci + tsc, runs with production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/RUN npm ci\b[^\n]*\n/);
    expect(text).toMatch(/npm run build/);
    expect(text).toMatch(/npm ci[^\n]*--omit=dev/);
    expect(runtime).not.toMatch(/npm ci|npm install|npm run build/);
    expect(runtime).toMatch(/COPY --from=\w+ \/\S*node_modules/);
    expect(runtime).toMatch(/COPY --from=\w+ \/\S*dist/);
  });

  it('runs as a non-root user, listening on 0.0.0.0:9967, with a health check that needs no curl and no port of its own', () => {
    const user = /^USER\s+(\S+)/m.exec(runtime);
    expect(user).not.toBeNull();
    expect(user![1]).not.toMatch(/^(root|0)(:|$)/);
    const hc = /^HEALTHCHECK .*$/m.exec(runtime.replace(/\\\n/g, ' '))![0];
    expect(hc).not.toMatch(/curl|wget/);
    // dist/healthcheck.js finds the address the exporter listens on: no port is written here.
    expect(hc).toMatch(/CMD \["node", "dist\/healthcheck\.js"\]/);
    expect(hc).not.toMatch(/\d{4,5}/);
    // Started as `npm start` starts it: test/unit/start-command.test.ts.
    expect(runtime).toMatch(/^CMD \["--listen", "0\.0\.0\.0:9967", "--storage\.path", "\/var\/lib\/stackwatch"\]/m);
  });

  it('has a .dockerignore that keeps node_modules, git and test data out of the build context', () => {
    const ignore = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const p of ['**/node_modules', '.git', 'dist', 'test', '.test-tmp']) expect(ignore).toContain(p);
    // What the build needs is not ignored.
    for (const p of ['src', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) expect(ignore).not.toContain(p);
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const ignore = new Set(read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')));
    for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/)) {
        expect([src, existsSync(path.join(root, src)), ignore.has(src)]).toEqual([src, true, false]);
      }
    }
  });
});
