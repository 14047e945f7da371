import { defineConfig } from 'vitest/config';

// Three kinds of tests (README.md, Testing); integration is two projects that `npm test` runs side by side:
//  - unit: pure logic, no servers (test/unit, *.test.ts beside the code)
//  - cdk: CDK assertions on synthesized templates
//  - integration: against the local environment (AWS endpoint, Redis, PostgreSQL, Discord simulator)
/**
 * Integration files bound by a clock, not the CPU: Discord's 120 gateway commands per 60 s
 * (gateway-commands), EventBridge archive replays (replay), the resharding settle and READY of a
 * second shard set (reshard), an application whose start is held 1.5 s (registry-sync).
 */
const PACED = ['test/integration/gateway-commands.test.ts', 'test/integration/replay.test.ts', 'test/integration/reshard.test.ts', 'test/integration/registry-sync.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'lib/**/*.test.ts', 'lambdas/**/*.test.ts', 'ingestor/src/**/*.test.ts', 'local/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'cdk',
          include: ['test/cdk/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: PACED,
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // integration files load the machine (simulators, ingestor processes, the emulator's
          // functions) and some count what load changes (missed heartbeats): one file at a time
          fileParallelism: false,
        },
      },
      {
        // Files that mostly wait on a protocol's clock, not the CPU. `npm test` runs this project in a
        // vitest process of its own beside the others (one vitest process runs every project without
        // file parallelism in one queue). Each file uses its own simulator, bus, queues and Redis
        // keys, so nothing it touches is shared with the other files.
        test: {
          name: 'integration-paced',
          include: PACED,
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
