import { buildWorker } from './harness';

/**
 * Bundle the worker once for every edge test file, with the same bundler and config as `wrangler deploy`
 * (`--dry-run --outdir`), so the tests run exactly the code that would be shipped.
 */
export default async function setup(project: { provide: (key: 'edgeBundle', value: string) => void }) {
  const { dir, cleanup } = await buildWorker();
  project.provide('edgeBundle', dir);
  return cleanup;
}

declare module 'vitest' {
  export interface ProvidedContext {
    edgeBundle: string;
  }
}
