import { defineConfig } from 'vitest/config';

// Three kinds of tests (README.md, Testing); integration is two projects that `npm test` runs side by side:
//  - unit: pure logic, no servers (test/unit, *.test.ts beside the code)
//  - cdk: CDK assertions on synthesized templates
//  - integration: against the local environment (AWS endpoint, Redis, PostgreSQL, Discord simulator)
/**
 * The second lane of integration files, run by `npm test` in a vitest process of its own beside the
 * first, to keep the suite within 10 minutes on 2 cores. Mostly files bound by a clock, not the CPU:
 * Discord's 120 gateway commands per 60 s (gateway-commands), EventBridge archive replays (replay), the
 * resharding settle (reshard), an application whose start is held 1.5 s (registry-sync); then the
 * fleet's processes (fleet) and the operator scripts (workers-scripts) to even out the two lanes. None
 * shares anything with the first lane: each has its own simulator, bus, queues and Redis keys (the
 * deployed local stage, which e2e and http-ingress share, stays in the first).
 */
const LANE_2 = ['test/integration/gateway-commands.test.ts', 'test/integration/replay.test.ts', 'test/integration/reshard.test.ts', 'test/integration/registry-sync.test.ts', 'test/integration/fleet.test.ts', 'test/integration/workers-scripts.test.ts'];

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
          exclude: LANE_2,
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // integration files load the machine (simulators, ingestor processes, the emulator's
          // functions) and some count what load changes (missed heartbeats): one file at a time per lane
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'integration-2',
          include: LANE_2,
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
