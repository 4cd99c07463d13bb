import { type BundleConfig, bundleConfig } from './bundle-config';
import { grafanaFiles } from './grafana-files';
import { prometheusFiles } from './prometheus-files';
import { runbookMarkdown } from './runbook';

/** Where the runbook goes in `stackwatch bundle`'s output, and in the repository. */
export const RUNBOOK_FILE = 'runbook.md';
export const REPOSITORY_RUNBOOK = 'docs/runbook.md';

/**
 * Every generated bundle file for a config, as `stackwatch bundle --out DIR` writes it: path
 * relative to DIR -> content. prometheus/ (rules, alerts, their promtool tests, prometheus.yml,
 * alertmanager.yml and its template), grafana/dashboards/, runbook.md.
 */
export function bundleFiles(cfg: BundleConfig = bundleConfig): Record<string, string> {
  return { ...prometheusFiles(cfg), ...grafanaFiles(cfg), [RUNBOOK_FILE]: runbookMarkdown(cfg) };
}

/** The files `npm run bundle` writes into the repository: bundleFiles() of the defaults, the runbook under docs/. */
export function repositoryFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rel, content] of Object.entries(bundleFiles(bundleConfig))) out[rel === RUNBOOK_FILE ? REPOSITORY_RUNBOOK : rel] = content;
  return out;
}
