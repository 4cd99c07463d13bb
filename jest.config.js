/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // Integration tests start real services (mosquitto, dockerd, Prometheus); two cores here.
  maxWorkers: 2,
  testTimeout: 60000,
  // Every test file cleans up its own processes; a lingering handle is a bug we want to see.
  detectOpenHandles: false,
  forceExit: false,
};
