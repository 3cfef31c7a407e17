export * from './rules';
export * from './statistics';
