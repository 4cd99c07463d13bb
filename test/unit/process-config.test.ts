import { builtinConfig } from '../../src/config/defaults';
import { parseConfig } from '../../src/config/load';

describe('process configuration', () => {
  it('accepts the documented shape and fills in the defaults', () => {
    const c = parseConfig('processes:\n  - name: backend\n    cmdline: "uvicorn app.main:app"\n', 'f.yml');
    expect(c.processes).toEqual([{ name: 'backend', cmdline: 'uvicorn app.main:app', include_children: false, failure_threshold: 1, success_threshold: 1 }]);
    expect(c.process_discovery).toEqual({ enabled: false, top: 20 });
    expect(c.process_settings).toEqual({ interval: 5, full_interval: 15, proc_path: '/proc' });
  });

  it('the built-in default groups this host\'s processes by name and declares no group', () => {
    const c = builtinConfig();
    expect(c.process_discovery.enabled).toBe(true);
    expect(c.processes).toEqual([]);
  });

  it.each([
    ['processes:\n  - name: a\n', 'f.yml: processes[0]: expected exactly one of comm, exe, cmdline, pidfile'],
    ['processes:\n  - name: a\n    comm: x\n    exe: y\n', 'expected exactly one of comm, exe, cmdline, pidfile'],
    ['processes:\n  - name: a\n    cmdline: "("\n', 'not a usable regular expression'],
    ['processes:\n  - name: a\n    comm: x\n  - name: a\n    comm: y\n', 'duplicate name "a"'],
    ['processes:\n  - name: a\n    comm: x\n    colour: red\n', 'colour'],
    ['process_settings:\n  interval: 10ms\n', 'process_settings.interval: expected an interval from 100ms to 1h'],
    ['process_settings:\n  full_interval: 2h\n', 'process_settings.full_interval: expected an interval from 100ms to 1h'],
    ['process_discovery:\n  top: 0\n', 'process_discovery.top'],
  ])('rejects %j, naming the field', (text, message) => {
    expect(() => parseConfig(text, 'f.yml')).toThrow(message);
  });
});
