import { parseArgs } from 'node:util';
import { LOG_LEVELS, type LogLevel } from './log';

export interface CliOptions {
  config?: string;
  checkConfig: boolean;
  listen?: string;
  /** The data directory (--storage.path). */
  storagePath: string;
  logLevel: LogLevel;
  help: boolean;
  version: boolean;
}

export const USAGE = `Usage: stackwatch [options]

Prometheus exporter for small production stacks: HTTP health endpoints, MQTT broker,
Docker containers and processes. Without --config (or STACKWATCH_CONFIG) it runs the
built-in default config: this host's processes grouped by name, and the local Docker
engine if its socket exists.

Options:
  --config FILE      configuration file (YAML); default: $STACKWATCH_CONFIG, else built-in
  --check-config     validate the configuration and exit (0 valid, 2 invalid)
  --listen HOST:PORT address for /metrics and the status page (default 127.0.0.1:9464)
  --storage.path DIR data directory: history, incidents and counters kept across restarts
                     (default data/, relative to the working directory)
  --log-level LEVEL  ${LOG_LEVELS.join(', ')} (default info)
  --version          print the version and exit
  --help             print this help and exit

Signals: SIGHUP (or POST /-/reload) reloads the configuration; SIGTERM stops.
`;

export const DEFAULT_STORAGE_PATH = 'data/';

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
        'storage.path': { type: 'string' },
        'log-level': { type: 'string' },
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
  const out: CliOptions = {
    checkConfig: values['check-config'] ?? false,
    storagePath: values['storage.path'] ?? DEFAULT_STORAGE_PATH,
    logLevel: level as LogLevel,
    help: values.help ?? false,
    version: values.version ?? false,
  };
  if (config !== undefined) out.config = config;
  if (values.listen !== undefined) out.listen = values.listen;
  return out;
}
