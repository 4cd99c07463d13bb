import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigErrors } from './config/errors';
import { loadConfigFile } from './config/load';
import type { ProcessGroupConfig } from './config/processes';
import { ProcReader } from './collectors/proc-reader';
import { summariseMatches, type GroupMatches } from './collectors/process';
import { SiSource } from './collectors/process-si';
import { compileMatchers, ProcSource } from './collectors/process-source';

/**
 * `stackwatch processes --config FILE`: what each declared process group matches on this host
 * right now (pid, comm, exe, command line), and which groups match different executables — the
 * sign of a pattern that also matches a wrapper (`bash supervise.sh node backend.js` for
 * `cmdline: node`), which keeps a group up while its program is dead.
 */

export const PROCESSES_USAGE = `Usage: stackwatch processes --config FILE [--json]

Shows what each process group of the configuration matches on this host now: pid, comm,
executable and command line. Groups whose matches run different executables are flagged:
anchor the pattern (cmdline: "^node ", or exe: "^/usr/bin/node$").
`;

const CMDLINE_SHOWN = 120;

export interface ProcessesReport {
  groups: (GroupMatches & { pattern: string; cmdlines: Record<number, string> })[];
}

function patternOf(g: ProcessGroupConfig): string {
  if (g.comm !== undefined) return `comm: ${JSON.stringify(g.comm)}`;
  if (g.exe !== undefined) return `exe: ${JSON.stringify(g.exe)}`;
  if (g.cmdline !== undefined) return `cmdline: ${JSON.stringify(g.cmdline)}`;
  return `pidfile: ${g.pidfile ?? ''}`;
}

/** Takes one snapshot and describes each declared group's matches. */
export async function processesReport(groups: readonly ProcessGroupConfig[], procPath: string): Promise<ProcessesReport> {
  const errors = new Map<string, string>();
  for (const m of compileMatchers(groups)) if (m.error !== undefined) errors.set(m.name, m.error);
  const linux = process.platform === 'linux' && existsSync(`${procPath}/stat`);
  const reader = linux ? new ProcReader(procPath) : undefined;
  let samples;
  if (linux) {
    const src = new ProcSource({ procPath, groups, detailsForAll: false });
    src.init();
    samples = src.snapshotNow(Date.now() / 1000);
  } else {
    samples = await new SiSource(groups).snapshot(Date.now() / 1000);
  }
  const byGroup = summariseMatches(groups.map((g) => g.name), samples, errors);
  return {
    groups: groups.map((g) => {
      const e = byGroup.get(g.name)!;
      const cmdlines: Record<number, string> = {};
      for (const p of e.processes) {
        const c = reader?.cmdline(p.pid);
        if (c !== undefined) cmdlines[p.pid] = c.length > CMDLINE_SHOWN ? `${c.slice(0, CMDLINE_SHOWN)}...` : c;
      }
      return { ...e, pattern: patternOf(g), cmdlines };
    }),
  };
}

export function formatReport(r: ProcessesReport): string {
  if (r.groups.length === 0) return 'no process groups in the configuration (processes: [])\n';
  const lines: string[] = [];
  for (const g of r.groups) {
    lines.push(`group ${g.group} (${g.pattern}): ${g.count} matching process${g.count === 1 ? '' : 'es'}`);
    if (g.error !== undefined) lines.push(`  ERROR: ${g.error}`);
    if (g.mixed) {
      lines.push(`  WARNING: matches ${g.executables.length} different executables (${g.executables.join(', ')});`);
      lines.push('  the pattern likely also matches a wrapper: anchor it (cmdline: "^node ") or match exe: instead');
    }
    for (const p of g.processes) {
      lines.push(`  pid ${p.pid}  comm ${p.comm}  exe ${p.exe ?? '?'}  cmdline ${g.cmdlines[p.pid] ?? '?'}`);
    }
    if (g.count > g.processes.length) lines.push(`  ... and ${g.count - g.processes.length} more`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs the subcommand; returns the exit code (0 ok, 2 bad usage or configuration). */
export async function runProcessesCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true, allowPositionals: false,
    }));
  } catch (e) {
    err(`stackwatch processes: ${(e as Error).message}\n\n${PROCESSES_USAGE}`);
    return 2;
  }
  if (values.help === true) {
    out(PROCESSES_USAGE);
    return 0;
  }
  const file = values.config ?? (env.STACKWATCH_CONFIG !== '' ? env.STACKWATCH_CONFIG : undefined);
  if (file === undefined) {
    err(`stackwatch processes: --config FILE is required\n\n${PROCESSES_USAGE}`);
    return 2;
  }
  let config;
  try {
    config = loadConfigFile(file, env);
  } catch (e) {
    if (!(e instanceof ConfigErrors)) throw e;
    err(`stackwatch: invalid configuration:\n${e.message}\n`);
    return 2;
  }
  const report = await processesReport(config.processes, config.process_settings.proc_path);
  out(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return 0;
}
