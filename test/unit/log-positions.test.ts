import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PositionStore } from '../../src/collectors/log-positions';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sw-positions-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('PositionStore', () => {
  it('creates neither the file nor the data directory while it has nothing to keep', () => {
    const data = path.join(dir, 'data');
    const s = new PositionStore(data);
    expect(s.load()).toBeUndefined();
    s.save();
    // A source that came and went before the first save (a reload): still nothing to keep.
    s.set('proxy', [{ dev: 1, ino: 2, offset: 30, path: '/var/log/nginx/access.log' }]);
    s.delete('proxy');
    s.save();
    expect(existsSync(data)).toBe(false);
  });

  it('writes what it keeps, and empties (not leaves stale) a file whose sources all went', () => {
    const data = path.join(dir, 'data');
    const s = new PositionStore(data);
    s.set('proxy', [{ dev: 1, ino: 2, offset: 30, path: '/var/log/nginx/access.log' }]);
    s.save();
    const file = path.join(data, 'log-positions.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 1, sources: { proxy: [{ dev: 1, ino: 2, offset: 30, path: '/var/log/nginx/access.log' }] } });
    const again = new PositionStore(data);
    expect(again.load()).toBeUndefined();
    expect([...again.get('proxy').values()][0]?.offset).toBe(30);
    again.delete('proxy');
    again.save();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 1, sources: {} });
  });
});
