import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["packages/*/test/**/*.test.ts", "stacks/test/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/support/moto-global-setup.ts"],
          setupFiles: ["test/support/moto-test-setup.ts"],
          // One moto server per worker (test/support/moto-global-setup.ts), reset between tests: a
          // worker's files run one at a time. Two workers keep a 2-core CI machine busy while moto
          // (Python, one request at a time) answers the other file's calls.
          maxWorkers: Math.min(2, availableParallelism()),
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
