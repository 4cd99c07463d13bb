/**
 * `npm run bundle`: writes the bundle for the default settings into the repository (prometheus/,
 * grafana/dashboards/, docs/runbook.md), through the same code as `stackwatch bundle --out DIR`.
 * A test checks that the committed files are current.
 */
import path from 'node:path';
import { writeBundle } from '../bundle-command';
import { repositoryFiles } from './files';

const root = path.join(__dirname, '..', '..');
const files = repositoryFiles();
writeBundle(root, files);
for (const rel of Object.keys(files)) console.log(`wrote ${rel}`);
