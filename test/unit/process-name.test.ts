import { processName } from '../../src/collectors/process-source';

describe('the name a process is matched and discovered by', () => {
  const noExe = (): string | undefined => {
    throw new Error('the executable is read only for a runtime thread name');
  };

  it('is the comm for ordinary processes, without reading the executable', () => {
    expect(processName('nginx', noExe)).toBe('nginx');
    expect(processName('node', noExe)).toBe('node');
  });

  it('is the executable\'s file name when the comm is a runtime\'s main-thread name (Node 24: MainThread)', () => {
    expect(processName('MainThread', () => '/usr/local/bin/node')).toBe('node');
    expect(processName('MainThread', () => '/opt/node-v24/bin/node (deleted)')).toBe('node');
  });

  it('is cut to 15 bytes as the kernel cuts a comm, never in the middle of a character', () => {
    expect(processName('MainThread', () => '/srv/a-very-long-program-name')).toBe('a-very-long-pro');
    expect(Buffer.byteLength(processName('MainThread', () => '/srv/ééééééééé'))).toBeLessThanOrEqual(15);
    expect(processName('MainThread', () => '/srv/ééééééééé')).toBe('ééééééé');
  });

  it('stays the comm when the executable cannot be read', () => {
    expect(processName('MainThread', () => undefined)).toBe('MainThread');
    expect(processName('MainThread', () => '/')).toBe('MainThread');
  });
});
