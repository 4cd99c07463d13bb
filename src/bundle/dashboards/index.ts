/**
 * The stackwatch Grafana dashboards, authored as typed JSON. `npm run bundle` writes them to
 * grafana/dashboards/<file>.json, where grafana/provisioning/dashboards/stackwatch.yml loads them.
 */
import { containers } from './containers';
import { errors } from './errors';
import { dashboard, type Dashboard, type DashboardSpec } from './grafana';
import { memory } from './memory';
import { mqtt } from './mqtt';
import { overview } from './overview';
import { recovery } from './recovery';

/** Panel links and the dashboard link go to the runbook through the `runbook_url` variable. */
const CTX = { runbookUrl: '${runbook_url}' };

/** File name (without .json) -> dashboard spec. The uids are stable: links and bookmarks use them. */
export const DASHBOARD_SPECS: Readonly<Record<string, DashboardSpec>> = {
  'stackwatch-overview': overview,
  'stackwatch-recovery': recovery,
  'stackwatch-errors': errors,
  'stackwatch-memory': memory,
  'stackwatch-mqtt': mqtt,
  'stackwatch-containers': containers,
};

/** Directory of the generated dashboards, relative to the repository root. */
export const DASHBOARD_DIR = 'grafana/dashboards';

export function buildDashboards(): Record<string, Dashboard> {
  return Object.fromEntries(Object.entries(DASHBOARD_SPECS).map(([file, spec]) => [file, dashboard(spec, CTX)]));
}
