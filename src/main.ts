#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=1
// As `npm start` and the image run it: a 1 MB young generation halves RSS at the reference load
// (about 320 -> 170 MB) for ~15 ms/s more GC, and glibc keeps two arenas and maps blocks of 128 kB
// or more on their own, without which RSS crept up about 1 MB a minute (docs/benchmarks.md, "Memory:
// where the RSS goes"). Here the two variables are set whatever the environment says; `npm start`
// keeps a value the environment gives.
// First: stand-ins for library files the daemon never uses, before the libraries load.
import './lean-modules';
import { App } from './app';
import { configSummary, parseCli, USAGE, type CliOptions } from './cli';
import { builtinConfig, BUILTIN_SOURCE } from './config/defaults';
import { ConfigErrors } from './config/errors';
import { loadConfigFile, loadConfigFileAsync, validate } from './config/load';
import type { Config } from './config/schema';
import type { BundleConfig } from './bundle/bundle-config';
import { createLogger } from './log';
import { VERSION } from './version';
import { loadWebState, type WebState } from './web/surface';

/** Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage. */
const EXIT_CONFIG = 2;
const STOP_DEADLINE_MS = 1800;

function loadConfig(opts: CliOptions): Config {
  const config = opts.config === undefined ? builtinConfig() : loadConfigFile(opts.config);
  // --web.listen-address (--listen) is checked like the config key it overrides.
  if (opts.listen !== undefined) validate({ server: { listen: opts.listen } }, '--web.listen-address');
  return config;
}

async function main(): Promise<void> {
  if (process.argv[2] === 'processes') {
    // A subcommand with its own flags: what each process group matches on this host now. Loaded
    // only here (a plain require: the process collector's modules weigh on the daemon's RSS).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runProcessesCommand } = require('./processes-command') as typeof import('./processes-command');
    process.exitCode = await runProcessesCommand(process.argv.slice(3), process.env, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
    return;
  }
  if (process.argv[2] === 'bundle') {
    // Writes the monitoring bundle for the user's settings; loaded only here, like `processes`.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runBundleCommand } = require('./bundle-command') as typeof import('./bundle-command');
    process.exitCode = runBundleCommand(process.argv.slice(3), (s) => process.stdout.write(s), (s) => process.stderr.write(s));
    return;
  }
  let opts: CliOptions;
  try {
    opts = parseCli(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`stackwatch: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(EXIT_CONFIG);
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (opts.version) {
    process.stdout.write(`stackwatch ${VERSION} (node ${process.version})\n`);
    return;
  }

  let config: Config;
  let webState: WebState;
  let bundleConfig: BundleConfig | undefined;
  try {
    config = loadConfig(opts);
    webState = await loadWebState(opts.webConfigFile);
    if (opts.bundleConfig !== undefined) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { loadBundleYaml } = require('./bundle/bundle-yaml') as typeof import('./bundle/bundle-yaml');
      bundleConfig = loadBundleYaml(opts.bundleConfig);
    }
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err;
    process.stderr.write(`stackwatch: invalid configuration:\n${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const source = opts.config ?? BUILTIN_SOURCE;
  if (opts.checkConfig) {
    process.stdout.write(`${source}: configuration is valid (${configSummary(config)})\n`);
    if (opts.webConfigFile !== undefined) process.stdout.write(`${opts.webConfigFile}: web configuration is valid\n`);
    if (opts.bundleConfig !== undefined) process.stdout.write(`${opts.bundleConfig}: bundle settings are valid\n`);
    return;
  }

  const log = createLogger(opts.logLevel);
  const configFile = opts.config;
  const app = new App({
    config,
    configSource: source,
    ...(configFile !== undefined ? { loadConfig: () => loadConfigFileAsync(configFile) } : {}),
    ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
    ...(opts.webConfigFile !== undefined ? { webConfigFile: opts.webConfigFile } : {}),
    webState,
    enableLifecycle: opts.enableLifecycle,
    storagePath: opts.storagePath,
    ...(bundleConfig !== undefined ? { bundleConfig } : {}),
    log,
  });
  try {
    await app.start();
  } catch (err) {
    log.fatal({ err }, 'stackwatch could not start');
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    // Hard deadline: whatever is still open after it, the process ends anyway.
    setTimeout(() => process.exit(0), STOP_DEADLINE_MS).unref();
    void app.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Both reloads coalesce a flood of signals and never reject (a failure is logged and counted).
  process.on('SIGHUP', () => {
    void app.reload();
    void app.web.reload();
  });
}

void main().catch((err: unknown) => {
  process.stderr.write(`stackwatch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
