import { defineConfig } from 'vitest/config';

// Three kinds of tests (README.md, Testing):
//  - unit: pure logic, no servers (test/unit, *.test.ts beside the code)
//  - cdk: CDK assertions on synthesized templates
//  - integration: against the local environment (AWS endpoint, Redis, PostgreSQL, Discord simulator)
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
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // integration files share the local servers; run files one at a time
          fileParallelism: false,
        },
      },
    ],
  },
});
