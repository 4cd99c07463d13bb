/**
 * The promtool cases of a generated bundle that the committed bundle's run does not already
 * cover. rules-promtool.test.ts runs `promtool test rules` on every committed test file; a
 * generated case whose own text is the committed one's, in a file with the same evaluation
 * interval and group order, and whose every rule it can see (rulesSeen: the alerts it checks,
 * the recording rules they read, the alerts an ALERTS selector could select, each with its
 * group's settings and in its group's order) is the committed rule, evaluates exactly as that
 * committed case did, so running it again proves nothing new. What the settings change is run,
 * and only that.
 *
 * `rename` maps the generated text back onto the committed bundle's names before comparing (a
 * non-default job and address): a case that differs from the committed one only by consistently
 * renamed label values is evaluated as the committed one was.
 *
 *   const runs = changedRuleTests(path.join(out, 'prometheus'), (t) => t.replaceAll('edge-watch', 'stackwatch'));
 *   for (const file of runs) await promtool(['test', 'rules', file], path.join(out, 'prometheus'));
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { type LoadableGroup, type PromtoolTest, rulesSeen } from '../../src/bundle/rules-tests';
import { PROMETHEUS_DIR } from './promtool';

interface TestFile {
  rule_files: string[];
  evaluation_interval?: string;
  group_eval_order?: string[];
  tests: PromtoolTest[];
}

/** Every rule group under `dir`'s rules/ and alerts/, by name, with the path a test file loads it by. */
function groupsOf(dir: string): Map<string, LoadableGroup> {
  const out = new Map<string, LoadableGroup>();
  for (const d of ['rules', 'alerts']) {
    for (const f of readdirSync(path.join(dir, d)).filter((n) => n.endsWith('.yml'))) {
      const doc = parse(readFileSync(path.join(dir, d, f), 'utf8')) as { groups: Omit<LoadableGroup, 'file'>[] };
      for (const g of doc.groups) out.set(g.name, { ...g, file: `../${d}/${f}` });
    }
  }
  return out;
}

/** Where the cases to run go, in the generated prometheus/ directory (its tests/ stays as generated). */
const CHANGED = 'changed-tests';

/**
 * For each test file of the generated prometheus/ directory `dir` holding a case the committed
 * bundle does not, writes `changed-tests/<name>.yml`: only those cases, the same evaluation
 * interval, and as rules (`changed-tests/<name>.rules.yml`) the rules they can see, in their
 * groups with the groups' settings, in the file's group order. Returns those files, relative to
 * `dir` (for `promtool test rules` run there); none when the settings change nothing the
 * committed run did not already check.
 */
export function changedRuleTests(dir: string, rename: (text: string) => string = (t) => t): string[] {
  const committedGroups = groupsOf(PROMETHEUS_DIR);
  const groups = groupsOf(dir);
  const key = (v: unknown): string => rename(JSON.stringify(v));
  /** What a case can see of the loaded groups: each group's settings and its rules the case reads, in order. */
  const seen = (loaded: LoadableGroup[], tests: PromtoolTest[]): Omit<LoadableGroup, 'file'>[] =>
    rulesSeen(loaded, tests).map(({ group: { file: _file, ...group }, rules }) => ({ ...group, rules }));
  const loadedBy = (all: Map<string, LoadableGroup>, doc: TestFile): LoadableGroup[] => doc.rule_files.flatMap((rf) => [...all.values()].filter((g) => g.file === rf));
  const runs: string[] = [];
  for (const f of readdirSync(path.join(dir, 'tests')).filter((n) => /^[^.]+\.yml$/.test(n)).sort()) {
    const doc = parse(readFileSync(path.join(dir, 'tests', f), 'utf8')) as TestFile;
    let committed: TestFile | undefined;
    try {
      committed = parse(readFileSync(path.join(PROMETHEUS_DIR, 'tests', f), 'utf8')) as TestFile;
    } catch {
      committed = undefined;
    }
    const header = (t: TestFile): unknown => ({ rule_files: t.rule_files, evaluation_interval: t.evaluation_interval, group_eval_order: t.group_eval_order });
    const sameHeader = committed !== undefined && key(header(doc)) === JSON.stringify(header(committed));
    const committedCases = new Map((committed?.tests ?? []).map((t) => [JSON.stringify(t), t]));
    const loaded = loadedBy(groups, doc);
    const committedLoaded = committed === undefined ? [] : loadedBy(committedGroups, committed);
    const changed = doc.tests.filter((t) => {
      const c = committedCases.get(key(t));
      return !sameHeader || c === undefined || key(seen(loaded, [t])) !== JSON.stringify(seen(committedLoaded, [c]));
    });
    if (changed.length === 0) continue;
    // The cases with the rules they can see and nothing else: promtool evaluates every loaded
    // rule at every step, and the rules no case reads cannot change a result.
    const base = f.replace(/\.yml$/, '');
    const kept = seen(loaded, changed);
    mkdirSync(path.join(dir, CHANGED), { recursive: true });
    writeFileSync(path.join(dir, CHANGED, `${base}.rules.yml`), stringify({ groups: kept }));
    const order = new Set(kept.map((g) => g.name));
    const file = `${CHANGED}/${base}.yml`;
    writeFileSync(path.join(dir, file), stringify({
      ...doc,
      rule_files: [`${base}.rules.yml`],
      ...(doc.group_eval_order === undefined ? {} : { group_eval_order: doc.group_eval_order.filter((g) => order.has(g)) }),
      tests: changed,
    }));
    runs.push(file);
  }
  return runs;
}
