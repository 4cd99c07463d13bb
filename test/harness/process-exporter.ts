import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onFreePort } from './ports';
import { ProcessSet } from './processes';
import { Metrics, scrape } from './prom-text';
import { requireBinary } from './require-binary';
import { waitFor } from './wait';

/** One process_names entry of prometheus-process-exporter's config. */
export interface PeGroup {
  name: string;
  comm?: string[];
  exe?: string[];
  cmdline?: string[];
}

export interface RunningProcessExporter {
  pid: number;
  url: string;
  scrape(): Promise<Metrics>;
  /** Raw text of one scrape (for timing without parsing). */
  fetchText(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts Debian's prometheus-process-exporter on a free 127.0.0.1 port with the given groups.
 * Fails with an install hint when it is missing. Defaults mirror stackwatch's reading: no
 * children folded in, no per-thread metrics, no smaps (stackwatch reads RSS from stat).
 */
export function startProcessExporter(groups: readonly PeGroup[], opts: { flags?: string[] } = {}): Promise<RunningProcessExporter> {
  // On another port if this one is taken before the exporter binds it.
  return onFreePort((port) => startProcessExporterOn(groups, opts, port));
}

async function startProcessExporterOn(groups: readonly PeGroup[], opts: { flags?: string[] }, port: number): Promise<RunningProcessExporter> {
  const bin = requireBinary('prometheus-process-exporter', 'apt-get install -y prometheus-process-exporter');
  const dir = mkdtempSync(path.join(tmpdir(), 'stackwatch-pe-'));
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, `process_names:\n${groups.map((g) => {
    const lines = [`  - name: ${JSON.stringify(g.name)}`];
    for (const k of ['comm', 'exe', 'cmdline'] as const) {
      const v = g[k];
      if (v !== undefined) lines.push(`    ${k}:`, ...v.map((x) => `      - ${JSON.stringify(x)}`));
    }
    return lines.join('\n');
  }).join('\n')}\n`);
  const url = `http://127.0.0.1:${port}`;
  const procs = new ProcessSet();
  const flags = opts.flags ?? ['-children=false', '-threads=false', '-gather-smaps=false'];
  const p = procs.start(bin, ['-config.path', config, '-web.listen-address', `127.0.0.1:${port}`, ...flags]);
  let stderr = '';
  p.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  try {
    await waitFor('prometheus-process-exporter to answer', async () => (await fetch(`${url}/metrics`)).ok, 10_000, 100);
  } catch (err) {
    await procs.killAll();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}; its stderr: ${stderr}`, { cause: err });
  }
  return {
    pid: p.pid!,
    url,
    scrape: () => scrape(url),
    fetchText: async () => (await fetch(`${url}/metrics`)).text(),
    stop: async () => {
      await procs.killAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
