import type { BundleConfig } from './bundle-config';
import { buildDashboards, DASHBOARD_DIR } from './dashboards';

/** Generated Grafana dashboards: path -> content (JSON, two-space indented, final newline). */
export function grafanaFiles(cfg: BundleConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [file, dash] of Object.entries(buildDashboards(cfg))) {
    out[`${DASHBOARD_DIR}/${file}.json`] = `${JSON.stringify(dash, null, 2)}\n`;
  }
  return out;
}
