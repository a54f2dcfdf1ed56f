/**
 * Two projects. "unit" runs in parallel on two workers. "heavy" (browsers, ffmpeg, redis-server, the
 * soak) runs one file at a time through a serial runner, after or before the parallel group, so heavy
 * suites never starve each other or the unit tests of CPU. A test file belongs to "heavy" by its folder:
 * everything under test/e2e/, test/players/ or test/scale/ (see README, Testing).
 */
const HEAVY = ['<rootDir>/test/e2e/', '<rootDir>/test/players/', '<rootDir>/test/scale/'];

const common = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // ES-module-only dependencies, compiled to CommonJS for jest (see the transform).
    '/node_modules/@svta/.+\\.js$': '<rootDir>/test/runner/esm-to-cjs.js',
  },
  transformIgnorePatterns: ['/node_modules/(?!@svta/)'],
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  // Integration tests start servers on 127.0.0.1; two workers keep a 2-core machine responsive.
  maxWorkers: 2,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...HEAVY],
    },
    {
      ...common,
      displayName: 'heavy',
      testMatch: HEAVY.map((dir) => `${dir}**/*.test.ts`),
      runner: '<rootDir>/test/runner/serial-runner.ts',
    },
  ],
};
