import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { fingerprint } from '../../src/config/fingerprint';

describe('config fingerprint', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sw-fingerprint-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is equal exactly when the JSON is (property)', () => {
    const value = fc.jsonValue({ maxDepth: 4 });
    fc.assert(fc.property(value, value, (a, b) => {
      expect(fingerprint(a) === fingerprint(b)).toBe(JSON.stringify(a) === JSON.stringify(b));
    }), { numRuns: 2000 });
    fc.assert(fc.property(value, (a) => {
      expect(fingerprint(a)).toBe(fingerprint(structuredClone(a)));
    }), { numRuns: 500 });
  });

  it('changes when a file a *_file key names is rewritten, replaced or removed, at any depth', () => {
    const cert = path.join(dir, 'cert.pem');
    writeFileSync(cert, 'one');
    const config = { http: [{ name: 'a', tls: { ca_file: cert } }, { name: 'b' }] };
    const first = fingerprint(config);
    expect(fingerprint(structuredClone(config))).toBe(first);
    writeFileSync(cert, 'one, longer');
    const rewritten = fingerprint(config);
    expect(rewritten).not.toBe(first);
    rmSync(cert);
    writeFileSync(`${cert}.new`, 'one, longer');
    renameSync(`${cert}.new`, cert);
    const replaced = fingerprint(config);
    expect(replaced).not.toBe(rewritten);
    rmSync(cert);
    expect(fingerprint(config)).not.toBe(replaced);
    // A key that only ends in _file names a file when its value is a string.
    expect(fingerprint({ a_file: { b: 1 } })).toBe(JSON.stringify({ a_file: { b: 1 } }));
  });
});
