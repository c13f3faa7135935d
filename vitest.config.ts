import { defineConfig } from 'vitest/config';

/**
 * Two projects. `unit`: pure code, no process, socket or database, many files at once. `system`:
 * tests that spawn the simulator, agents and CLIs, listen on ports or use the stores; few at a
 * time, so they keep their timing on a loaded 2-core machine. `npm test` runs unit first, then
 * system; `npm run test:pack` the slow pack-and-install test. A new test file is a system test unless it is listed here as a unit one.
 */
/** Packs and installs the package (compiling its native module): minutes, so run on its own (`npm run test:pack`). */
const PACK = ['test/install/pack.test.ts'];

const UNIT = [
  'test/agent/backoff.test.ts',
  'test/agent/discovery.test.ts',
  'test/agent/feed.test.ts',
  'test/agent/install.test.ts',
  'test/agent/inventory.test.ts',
  'test/agent/metrics.test.ts',
  'test/apk/apk.test.ts',
  'test/install/install-script.test.ts',
  'test/ldconsole/args.test.ts',
  'test/ldconsole/decode-config.test.ts',
  'test/ldconsole/parse.test.ts',
  'test/web/logic.test.ts',
];

export default defineConfig({
  test: {
    // The simulator and the CLIs are spawned from dist/, so every run starts from a fresh build;
    // its teardown fails the run when a process the suite started is still alive.
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: UNIT, testTimeout: 10_000, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'system', include: ['test/**/*.test.ts'], exclude: [...UNIT, ...PACK], testTimeout: 30_000, maxWorkers: 2, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { name: 'pack', include: PACK, testTimeout: 120_000, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
