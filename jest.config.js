/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // Most integration files spend their time waiting on the clock and on real services
  // (Prometheus, Alertmanager, mosquitto, dockerd) rather than on the CPU: measured on these
  // 2-core machines, an integration file uses a core for 1/5 to 1/7 of its wall time (the promtool
  // and unit files excepted). Four workers overlap those waits; more would only queue CPU work.
  maxWorkers: 4,
  // Longest first, from a table when jest has no timings of its own (a fresh clone).
  testSequencer: '<rootDir>/test/harness/sequencer.js',
  testTimeout: 60000,
  // Every test file cleans up its own processes; a lingering handle is a bug we want to see.
  detectOpenHandles: false,
  forceExit: false,
};
