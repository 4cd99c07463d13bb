import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * How `npm start` runs the daemon, read from package.json's start script, so that tests and
 * benchmarks start it the same way (its allocator settings and node flags) without a copy of them:
 * `VAR=${VAR:-default} … node <flags> dist/main.js`.
 */
export interface StartCommand {
  /** The variables the script sets, resolved as the shell would against `env`. */
  env: Record<string, string>;
  /** node's flags before the script. */
  nodeArgs: string[];
  /** The script, absolute. */
  script: string;
}

const ROOT = path.join(__dirname, '..', '..');
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
const DEFAULTED = /^\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}$/;

/** Parses a start script; throws naming what it cannot read. */
export function parseStartScript(script: string, dir: string, env: NodeJS.ProcessEnv = process.env): StartCommand {
  const words = script.trim().split(/\s+/);
  const vars: Record<string, string> = {};
  let i = 0;
  for (let m = ASSIGNMENT.exec(words[i] ?? ''); m !== null; m = ASSIGNMENT.exec(words[++i] ?? '')) {
    const [, name, value] = m as unknown as [string, string, string];
    const d = DEFAULTED.exec(value);
    if (d !== null) {
      if (d[1] !== name) throw new Error(`start script: ${name} defaults from another variable (${d[1]})`);
      const set = env[name];
      vars[name] = set !== undefined && set !== '' ? set : d[2]!;
    } else if (value.includes('$')) {
      throw new Error(`start script: cannot read the value of ${name}: ${value}`);
    } else {
      vars[name] = value;
    }
  }
  if (words[i] !== 'node') throw new Error(`start script does not run node: ${script}`);
  const rest = words.slice(i + 1);
  const s = rest.findIndex((w) => !w.startsWith('-'));
  if (s < 0 || !rest[s]!.endsWith('.js') || s !== rest.length - 1) throw new Error(`start script: expected node flags then one .js script: ${script}`);
  return { env: vars, nodeArgs: rest.slice(0, s), script: path.join(dir, rest[s]!) };
}

/** `npm start` of the checkout in `dir` (this one by default). */
export function startCommand(dir = ROOT): StartCommand {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { scripts: { start: string } };
  return parseStartScript(pkg.scripts.start, dir);
}
