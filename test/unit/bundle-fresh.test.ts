/**
 * The committed bundle files are what their TypeScript sources generate: every file of
 * repositoryFiles() (the bundle of the default settings, as `stackwatch bundle` writes it, with the
 * runbook under docs/) equals the file on disk, and no stale generated file lingers in the directories
 * Prometheus loads with globs (prometheus/rules, prometheus/alerts) or promtool tests read.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repositoryFiles } from '../../src/bundle/files';

const root = path.join(__dirname, '..', '..');
const files = repositoryFiles();

describe('generated bundle files are fresh', () => {
  test('repositoryFiles() generates the Prometheus files and the runbook', () => {
    for (const f of ['prometheus/prometheus.yml', 'prometheus/alertmanager/alertmanager.yml', 'docs/runbook.md']) expect(Object.keys(files)).toContain(f);
    expect(Object.keys(files).filter((f) => f.startsWith('prometheus/rules/')).length).toBeGreaterThan(0);
    expect(Object.keys(files).filter((f) => f.startsWith('prometheus/alerts/')).length).toBeGreaterThan(0);
    expect(Object.keys(files).filter((f) => f.startsWith('prometheus/tests/')).length).toBeGreaterThan(0);
  });

  test.each(Object.keys(files).sort())('%s equals what the sources generate', (rel) => {
    const file = path.join(root, rel);
    if (!existsSync(file)) throw new Error(`${rel} is missing: run npm run bundle (and commit the result)`);
    const onDisk = readFileSync(file, 'utf8');
    if (onDisk !== files[rel]) {
      const a = onDisk.split('\n');
      const b = files[rel]!.split('\n');
      const i = a.findIndex((line, n) => line !== b[n]);
      throw new Error(`${rel} is stale: run npm run bundle (and commit the result). First difference at line ${i + 1}:\n  on disk:   ${a[i] ?? '<end>'}\n  generated: ${b[i] ?? '<end>'}`);
    }
  });

  test.each(['prometheus/rules', 'prometheus/alerts', 'prometheus/tests'])('no stale file in %s', (dir) => {
    const onDisk = existsSync(path.join(root, dir)) ? readdirSync(path.join(root, dir)).map((f) => `${dir}/${f}`) : [];
    const stale = onDisk.filter((f) => !(f in files));
    if (stale.length > 0) throw new Error(`not generated any more: ${stale.join(', ')} — delete them, then run npm run bundle`);
  });
});
