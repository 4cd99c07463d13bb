/** Generated Prometheus files (rules, alerts): path -> content. Filled in by the rules work. */
export function prometheusFiles(): Record<string, string> {
  return {};
}
