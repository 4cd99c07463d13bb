import { parseCli, UsageError } from '../../src/cli';

describe('--web.* flags', () => {
  it('takes --web.listen-address, with --listen as its alias', () => {
    expect(parseCli(['--web.listen-address', '0.0.0.0:9967'], {}).listen).toBe('0.0.0.0:9967');
    expect(parseCli(['--listen', '0.0.0.0:9967'], {}).listen).toBe('0.0.0.0:9967');
    expect(parseCli(['--listen', '127.0.0.1:1', '--web.listen-address', '127.0.0.1:1'], {}).listen).toBe('127.0.0.1:1');
    expect(() => parseCli(['--listen', '127.0.0.1:1', '--web.listen-address', '127.0.0.1:2'], {})).toThrow(UsageError);
  });

  it('takes --web.config.file and --web.enable-lifecycle (off by default)', () => {
    expect(parseCli([], {})).toMatchObject({ enableLifecycle: false });
    expect(parseCli([], {}).webConfigFile).toBeUndefined();
    expect(parseCli(['--web.config.file', 'web.yml', '--web.enable-lifecycle'], {})).toMatchObject({ webConfigFile: 'web.yml', enableLifecycle: true });
  });
});
