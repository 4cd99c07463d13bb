/**
 * `npm run bench [name...] [-- --option...]`: runs bench/<name>.bench.ts (all of them without
 * names), one after the other so they do not disturb each other. Each writes its own section of
 * docs/benchmarks.md. Names come first; everything from the first argument starting with `--` on
 * (options and their values) is passed to every bench run (e.g. `npm run bench daemon -- --quick
 * --warmup 60`).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const dir = __dirname;
const all = readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, '')).sort();
const argv = process.argv.slice(2);
const options: string[] = [];
const wanted: string[] = [];
const firstOption = argv.findIndex((a) => a.startsWith('--'));
wanted.push(...(firstOption < 0 ? argv : argv.slice(0, firstOption)));
if (firstOption >= 0) options.push(...argv.slice(firstOption));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; have: ${all.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length > 0 ? wanted : all) {
  console.log(`\n=== bench ${name}`);
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(dir, `${name}.bench.ts`), ...options], { stdio: 'inherit' });
  if (r.status !== 0) failed += 1;
}
process.exit(failed > 0 ? 1 : 0);
