import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSection } from '../../bench/doc';

describe('benchmark sections of docs/benchmarks.md', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sw-bench-doc-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces its own section whole, keeps the others, appends a missing one', () => {
    const doc = path.join(dir, 'benchmarks.md');
    writeFileSync(doc, '# Benchmarks\n\nIntro.\n\n## A\n\nold a\nmore a\n\n## B\n\nb\n');
    writeSection('## A\n\nnew a\n', doc);
    expect(readFileSync(doc, 'utf8')).toBe('# Benchmarks\n\nIntro.\n\n## A\n\nnew a\n\n## B\n\nb\n');
    writeSection('## B\n\nnew b', doc);
    expect(readFileSync(doc, 'utf8')).toBe('# Benchmarks\n\nIntro.\n\n## A\n\nnew a\n\n## B\n\nnew b\n');
    writeSection('## C\n\nc\n', doc);
    expect(readFileSync(doc, 'utf8')).toBe('# Benchmarks\n\nIntro.\n\n## A\n\nnew a\n\n## B\n\nnew b\n\n## C\n\nc\n');
    // A heading that only starts like another's is another section.
    writeSection('## A and more\n\nx\n', doc);
    expect(readFileSync(doc, 'utf8')).toContain('## A\n\nnew a\n\n## B');
    expect(() => writeSection('no heading\n', doc)).toThrow(/## /);
  });
});
