import path from 'node:path';
import type Docker from 'dockerode';
import { standIn } from '../lean-modules';

/**
 * Loads dockerode without the parts stackwatch never uses. dockerode's modem requires `ssh2` (for
 * ssh:// engines) and dockerode requires `@grpc/grpc-js` with `protobufjs` (for BuildKit
 * sessions of image builds) at load time: 130 of its 200 modules and about 16 MB of heap (ssh2
 * allocates a large buffer when it loads). stackwatch talks to unix:// and tcp:// engines and
 * never builds an image, so those two files are replaced by stubs that fail if ever called.
 */

const STUBBED: readonly { pkg: string; file: string; what: string }[] = [
  { pkg: 'docker-modem', file: 'lib/ssh.js', what: 'ssh:// Docker engines' },
  { pkg: 'dockerode', file: 'lib/session.js', what: 'BuildKit sessions' },
];

function stub(filename: string, what: string): void {
  standIn(filename, (): never => {
    throw new Error(`stackwatch does not support ${what}`);
  });
}

/** The dockerode constructor, loaded lean (see above); later calls return the same one. */
export function requireDockerode(): typeof Docker {
  /* eslint-disable @typescript-eslint/no-require-imports -- plain requires: import() would need jest's experimental VM modules */
  const dockerodeMain = require.resolve('dockerode');
  const dockerodeDir = path.dirname(path.dirname(dockerodeMain));
  for (const s of STUBBED) {
    const from = s.pkg === 'dockerode' ? dockerodeDir : path.dirname(require.resolve(`${s.pkg}/package.json`, { paths: [dockerodeDir] }));
    stub(path.join(from, s.file), s.what);
  }
  return require('dockerode') as typeof Docker;
  /* eslint-enable @typescript-eslint/no-require-imports */
}
