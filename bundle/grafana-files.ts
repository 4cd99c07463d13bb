/** Generated Grafana dashboards: path -> content. Filled in by the dashboards work. */
export function grafanaFiles(): Record<string, string> {
  return {};
}
