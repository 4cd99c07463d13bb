/** `npm run docs`: writes docs/metrics.md from src/metrics/definitions.ts. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderMetricsDoc } from '../src/metrics/docs';

const file = path.join(__dirname, '..', 'docs', 'metrics.md');
writeFileSync(file, renderMetricsDoc());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
