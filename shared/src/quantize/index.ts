export * from './float16';
export * from './serialize';
export * from './weights';
