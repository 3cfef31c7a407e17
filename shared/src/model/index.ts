export * from './config';
export * from './fused-forward';
export * from './load';
export * from './unet';
