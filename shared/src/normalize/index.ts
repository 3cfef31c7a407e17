export * from './percentile';
