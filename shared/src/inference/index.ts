export * from './bounds';
export * from './clock';
export * from './flips';
export * from './pipeline';
export * from './runner';
export * from './segment';
export * from './tf-runner';
