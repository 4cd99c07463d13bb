/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // Integration tests start real services (mosquitto, dockerd, Prometheus); two cores here.
  // Most integration files wait on the clock and on those services (one uses a core for 1/3 to
  // 1/7 of its wall time) and would overlap on more workers, but the promtool and unit files are
  // CPU-bound and the timing-bound integration files fail when the machine is overloaded: raise
  // this only with a run of the whole suite that stays green with it.
  maxWorkers: 2,
  // Longest first, from a table when jest has no timings of its own (a fresh clone).
  testSequencer: '<rootDir>/test/harness/sequencer.js',
  testTimeout: 60000,
  // Every test file cleans up its own processes; a lingering handle is a bug we want to see.
  detectOpenHandles: false,
  // How long jest waits for each worker to exit at the end of the run before it kills it and
  // warns that the worker "failed to exit gracefully". Jest's 500 ms is too short on a loaded
  // 2-core machine: a worker's exit after its last file tears down a heap of hundreds of MB, and
  // with the load average at 15-20 the workers left here with nothing open but their stdio and
  // IPC pipes (checked at the moment jest told them to end) still took longer than that. A real
  // leak (a timer, socket or child left running) keeps a worker alive for good and is still
  // reported, 5 s later.
  workerGracefulExitTimeout: 5000,
  forceExit: false,
};
