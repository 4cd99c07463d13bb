import { parseArgs } from 'node:util';
import type { Config } from './config/schema';
import { LOG_LEVELS, type LogLevel } from './log';

export interface CliOptions {
  config?: string;
  checkConfig: boolean;
  listen?: string;
  /** exporter-toolkit web configuration file (TLS, basic auth, response headers). */
  webConfigFile?: string;
  /** Allows POST /-/reload (as Prometheus's --web.enable-lifecycle). */
  enableLifecycle: boolean;
  /** The data directory (--storage.path). */
  storagePath: string;
  logLevel: LogLevel;
  /** bundle.yml whose thresholds the /runbook page shows (--bundle.config). */
  bundleConfig?: string;
  help: boolean;
  version: boolean;
}

export const USAGE = `Usage: stackwatch [options]

Prometheus exporter for small production stacks: HTTP health endpoints, MQTT broker,
Docker containers, processes, and the access logs of the reverse proxy and backend (real
traffic: requests by route and code, latency, 5xx ratio). Without --config (or
STACKWATCH_CONFIG) it runs the built-in default config: this host's processes grouped by
name, and the local Docker engine if its socket exists; no access logs.

Options:
  --config FILE      configuration file (YAML); default: $STACKWATCH_CONFIG, else built-in
  --check-config     validate the configuration and exit (0 valid, 2 invalid)
  --web.listen-address HOST:PORT
                     address for /metrics and the status page (default 127.0.0.1:9967);
                     --listen is an alias
  --web.config.file FILE
                     TLS, basic auth and response headers, in the Prometheus exporter-toolkit
                     web-config format; re-read when it or its certificate files change
  --web.enable-lifecycle
                     allow POST /-/reload (SIGHUP reloads regardless)
  --storage.path DIR data directory: history, incidents and counters kept across restarts
                     (default data/, relative to the working directory)
  --bundle.config FILE
                     the bundle settings (bundle.yml) your rules were generated from, so that
                     /runbook shows their thresholds (default: the built-in settings)
  --log-level LEVEL  ${LOG_LEVELS.join(', ')} (default info)
  --version          print the version and exit
  --help             print this help and exit

Subcommands:
  processes          show what each process group matches (stackwatch processes --help)
  bundle             write the Prometheus rules, alerts, Alertmanager config, Grafana dashboards
                     and runbook for your settings (stackwatch bundle --help)

Signals: SIGHUP reloads the configuration (and the web config file); SIGTERM stops.
`;

export const DEFAULT_STORAGE_PATH = 'data/';

/** What a configuration watches, for `--check-config`: `1 http, 0 mqtt, 2 process targets, 1 log source (1 traffic target); docker if its socket exists`. */
export function configSummary(c: Pick<Config, 'http' | 'mqtt' | 'processes' | 'logs' | 'docker' | 'process_discovery'>): string {
  const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  const traffic = c.logs.filter((s) => s.traffic !== undefined).length;
  const logs = `${plural(c.logs.length, 'log source')}${traffic > 0 ? ` (${plural(traffic, 'traffic target')})` : ''}`;
  const docker = c.docker.enabled === 'auto' ? 'docker if its socket exists' : c.docker.enabled ? 'docker' : 'no docker';
  return `${c.http.length} http, ${c.mqtt.length} mqtt, ${c.processes.length} process targets, ${logs}; ${docker}${c.process_discovery.enabled ? ', process discovery' : ''}`;
}

export class UsageError extends Error {}

export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        'check-config': { type: 'boolean' },
        listen: { type: 'string' },
        'web.listen-address': { type: 'string' },
        'web.config.file': { type: 'string' },
        'web.enable-lifecycle': { type: 'boolean' },
        'storage.path': { type: 'string' },
        'log-level': { type: 'string' },
        'bundle.config': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const level = values['log-level'] ?? env.STACKWATCH_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  }
  if (values['storage.path'] === '') throw new UsageError('--storage.path: expected a directory, got an empty string');
  const config = values.config ?? (env.STACKWATCH_CONFIG !== '' ? env.STACKWATCH_CONFIG : undefined);
  const listen = values['web.listen-address'] ?? values.listen;
  if (values['web.listen-address'] !== undefined && values.listen !== undefined && values.listen !== values['web.listen-address']) {
    throw new UsageError('--listen is an alias of --web.listen-address; give one of them');
  }
  const out: CliOptions = {
    checkConfig: values['check-config'] ?? false,
    enableLifecycle: values['web.enable-lifecycle'] ?? false,
    storagePath: values['storage.path'] ?? DEFAULT_STORAGE_PATH,
    logLevel: level as LogLevel,
    help: values.help ?? false,
    version: values.version ?? false,
  };
  if (config !== undefined) out.config = config;
  if (listen !== undefined) out.listen = listen;
  if (values['web.config.file'] !== undefined) out.webConfigFile = values['web.config.file'];
  if (values['bundle.config'] !== undefined) out.bundleConfig = values['bundle.config'];
  return out;
}
