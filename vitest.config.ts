import { defineConfig } from 'vitest/config';

// One test command for the whole repo: each package is a Vitest project with the runtime it really runs in.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'shared',
          root: './shared',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'train',
          root: './train',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
        },
      },
      {
        test: {
          // The edge worker, run in workerd through miniflare (bundled once by wrangler in the global setup).
          name: 'edge',
          root: './edge',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          // The browser client (test/client-*.test.ts) in real headless Chromium via playwright-core, against the
          // edge worker under wrangler dev. The global setup builds client/dist and publishes the tiny test
          // ensemble; one file at a time, as each drives its own browser on a 2-core machine.
          name: 'client',
          root: './test',
          include: ['client-*.test.ts'],
          environment: 'node',
          globalSetup: ['helpers/browser-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          root: './test',
          include: ['**/*.test.ts'],
          // Browser tests belong to the `client` project, which provides their edge and browser setup.
          exclude: ['client-*.test.ts', '**/node_modules/**'],
          environment: 'node',
          testTimeout: 300_000,
        },
      },
    ],
  },
});
