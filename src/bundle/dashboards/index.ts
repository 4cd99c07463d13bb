/**
 * The stackwatch Grafana dashboards, authored as typed JSON. `npm run bundle` writes them to
 * grafana/dashboards/<file>.json, where grafana/provisioning/dashboards/stackwatch.yml loads them.
 */
import { type BundleConfig, exporterMatchers } from '../bundle-config';
import { containers } from './containers';
import { errors } from './errors';
import { dashboard, type Dashboard, type DashboardSpec } from './grafana';
import { memory } from './memory';
import { mqtt } from './mqtt';
import { overview } from './overview';
import { recovery } from './recovery';

/** File name (without .json) -> dashboard spec for a bundle config. The uids are stable: links and bookmarks use them. */
export const DASHBOARD_SPECS: Readonly<Record<string, (cfg: BundleConfig) => DashboardSpec>> = {
  'stackwatch-overview': overview,
  'stackwatch-recovery': recovery,
  'stackwatch-errors': errors,
  'stackwatch-memory': memory,
  'stackwatch-mqtt': mqtt,
  'stackwatch-containers': containers,
};

/** Directory of the generated dashboards, relative to the repository root. */
export const DASHBOARD_DIR = 'grafana/dashboards';

export function buildDashboards(cfg: BundleConfig): Record<string, Dashboard> {
  // Panel links and the dashboard link go to the runbook through the `runbook_url` variable;
  // every query selects the exporter's series (the config's exporter selector).
  const ctx = { runbookUrl: '${runbook_url}', matchers: exporterMatchers(cfg) };
  return Object.fromEntries(Object.entries(DASHBOARD_SPECS).map(([file, spec]) => [file, dashboard(spec(cfg), ctx)]));
}
