import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleConfig, type BundleConfig } from './bundle/bundle-config';
import { loadBundleYaml } from './bundle/bundle-yaml';
import { bundleFiles } from './bundle/files';
import { ConfigErrors } from './config/errors';
import { makeDirectory } from './make-dir';

/**
 * `stackwatch bundle [--config bundle.yml] --out DIR`: writes the monitoring bundle (Prometheus
 * recording rules and alerts with their promtool tests, prometheus.yml, alertmanager.yml and its
 * notification template, Grafana dashboards, the runbook) for the user's own settings: the
 * exporter's job/selector, thresholds, SLO objective, `for:` durations, runbook URL. Without
 * --config, the defaults: exactly the files committed in the repository.
 */

export const BUNDLE_USAGE = `Usage: stackwatch bundle [--config bundle.yml] --out DIR

Writes the monitoring bundle for your settings into DIR:
  prometheus/rules/*.yml         recording rules (the dashboards need them)
  prometheus/alerts/*.yml        alerting rules
  prometheus/tests/*.yml         their tests: cd DIR/prometheus && promtool test rules tests/*.yml
  prometheus/prometheus.yml      a Prometheus config scraping the exporter and loading the rules
  prometheus/alertmanager/       alertmanager.yml and its notification template
  grafana/dashboards/*.json      the dashboards
  runbook.md                     what each alert means and what to do

bundle.yml overrides the defaults (every key optional), in snake_case, e.g.:
  exporter: { job: myjob }
  slo: { objective: 0.995 }
  for: { StackwatchTargetDown: 2m }
Unknown keys are errors. See docs/bundle.md for every setting.

Options:
  --config FILE   bundle settings (YAML); default: the built-in defaults
  --out DIR       directory to write into (created if missing; files are overwritten)
  --help          print this help and exit
`;

/** Writes files (path relative to `dir` -> content), creating directories. */
export function writeBundle(dir: string, files: Readonly<Record<string, string>>): void {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel);
    makeDirectory(path.dirname(file));
    writeFileSync(file, content);
  }
}

/** Runs the subcommand; returns the exit code (0 written, 2 bad usage or configuration). */
export function runBundleCommand(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { config: { type: 'string', short: 'c' }, out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    err(`stackwatch bundle: ${(e as Error).message}\n\n${BUNDLE_USAGE}`);
    return 2;
  }
  if (values.help === true) {
    out(BUNDLE_USAGE);
    return 0;
  }
  if (values.out === undefined || values.out === '') {
    err(`stackwatch bundle: --out DIR is required\n\n${BUNDLE_USAGE}`);
    return 2;
  }
  let cfg: BundleConfig;
  try {
    cfg = values.config === undefined ? bundleConfig : loadBundleYaml(values.config);
  } catch (e) {
    if (!(e instanceof ConfigErrors)) throw e;
    err(`stackwatch bundle: invalid bundle configuration:\n${e.message}\n`);
    return 2;
  }
  const files = bundleFiles(cfg);
  writeBundle(values.out, files);
  out(`stackwatch bundle: wrote ${Object.keys(files).length} files to ${values.out}${values.config === undefined ? ' (default settings)' : ` (settings: ${values.config})`}\n`);
  return 0;
}
