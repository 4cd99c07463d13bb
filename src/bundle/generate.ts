/**
 * `npm run bundle`: writes the generated bundle files (Prometheus rules and alerts, Grafana
 * dashboards) from their TypeScript sources. A test checks that the committed files are current.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleFiles } from './files';

const root = path.join(__dirname, '..', '..');
for (const [rel, content] of Object.entries(bundleFiles())) {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  console.log(`wrote ${rel}`);
}
