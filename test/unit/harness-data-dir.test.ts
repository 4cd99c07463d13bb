/**
 * The test harness refuses to start the built daemon on the default data directory (data/ in the
 * working directory), which every run without --storage.path shares: a target's outages from one
 * run were counted again in the next.
 */
import { refuseSharedDataDir } from '../harness/processes';

const MAIN = '/repo/dist/main.js';

test('a daemon without --storage.path is refused, as arguments or inside a bash -c line', () => {
  expect(() => refuseSharedDataDir(process.execPath, [MAIN, '--config', 'c.yml', '--listen', '127.0.0.1:0'])).toThrow(/--storage\.path/);
  expect(() => refuseSharedDataDir(process.execPath, [MAIN])).toThrow(/--storage\.path/);
  expect(() => refuseSharedDataDir('setpriv', ['--reuid=65534', process.execPath, MAIN, '--config', 'c.yml'])).toThrow(/--storage\.path/);
  expect(() => refuseSharedDataDir('bash', ['-c', `ulimit -n 128 && exec "${process.execPath}" "${MAIN}" --config "c.yml"`])).toThrow(/--storage\.path/);
});

test('a daemon with a data directory of its own, a subcommand, and other programs start', () => {
  expect(() => refuseSharedDataDir(process.execPath, [MAIN, '--config', 'c.yml', '--storage.path', '/tmp/d'])).not.toThrow();
  expect(() => refuseSharedDataDir(process.execPath, [MAIN, '--storage.path=/tmp/d'])).not.toThrow();
  expect(() => refuseSharedDataDir('bash', ['-c', `exec "${process.execPath}" "${MAIN}" --config "c.yml" --storage.path "/tmp/d"`])).not.toThrow();
  expect(() => refuseSharedDataDir(process.execPath, [MAIN, 'processes', '--help'])).not.toThrow();
  expect(() => refuseSharedDataDir('prometheus', ['--config.file=p.yml', '--storage.tsdb.path=/tmp/p'])).not.toThrow();
});
