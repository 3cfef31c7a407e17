export * from './blend';
export * from './plan';
