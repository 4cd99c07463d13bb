import { grafanaFiles } from './grafana-files';
import { prometheusFiles } from './prometheus-files';

/** Every generated bundle file: path relative to the repository root -> content. */
export function bundleFiles(): Record<string, string> {
  return { ...prometheusFiles(), ...grafanaFiles() };
}
