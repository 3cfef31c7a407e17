export * from './features';
export * from './modes';
export * from './partition';
