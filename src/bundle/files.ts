import { type BundleConfig, bundleConfig } from './bundle-config';
import { grafanaFiles } from './grafana-files';
import { prometheusFiles } from './prometheus-files';

/**
 * Every generated bundle file for a config, as `stackwatch bundle --out DIR` writes it: path
 * relative to DIR -> content. prometheus/ (rules, alerts, their promtool tests, prometheus.yml,
 * alertmanager.yml and its template), grafana/dashboards/.
 */
export function bundleFiles(cfg: BundleConfig = bundleConfig): Record<string, string> {
  return { ...prometheusFiles(cfg), ...grafanaFiles(cfg) };
}

/** The files `npm run bundle` writes into the repository: bundleFiles() of the defaults. */
export function repositoryFiles(): Record<string, string> {
  return bundleFiles(bundleConfig);
}
