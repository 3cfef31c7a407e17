export * from './flips';
export * from './pipeline';
export * from './runner';
export * from './tf-runner';
