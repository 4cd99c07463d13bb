/**
 * The one place benchmarks write their results: each owns one `## ` section of
 * docs/benchmarks.md, replaced whole on every run (or appended when missing), the rest kept.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const BENCHMARKS_DOC = path.join(__dirname, '..', 'docs', 'benchmarks.md');

/** Replaces the section whose heading is the first line of `body` (`## Access logs`). */
export function writeSection(body: string, doc = BENCHMARKS_DOC): void {
  const heading = body.split('\n', 1)[0]!.trimEnd();
  if (!/^## \S/.test(heading)) throw new Error(`a benchmark section starts with its "## " heading, not ${JSON.stringify(heading)}`);
  const text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n';
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.trimEnd() === heading);
  let out: string;
  if (first < 0) {
    out = `${text.trimEnd()}\n\n${body.trimEnd()}\n`;
  } else {
    let end = lines.findIndex((l, i) => i > first && /^## /.test(l));
    if (end < 0) end = lines.length;
    const before = lines.slice(0, first).join('\n').trimEnd();
    const after = lines.slice(end).join('\n').trim();
    out = `${before ? `${before}\n\n` : ''}${body.trimEnd()}\n${after ? `\n${after}\n` : ''}`;
  }
  writeFileSync(doc, out);
}
