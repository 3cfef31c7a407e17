// Public surface of @quorum/shared. Modules are grouped by pipeline stage:
// decode -> normalize -> tile -> infer -> blend -> aggregate -> post-process, plus folds, metrics, manifest, quantization.
export * from './errors';
export * from './folds';
export * from './manifest';
export * from './model';
export * from './quantize';
export * from './random';
export * from './aggregate';
export * from './normalize';
export * from './tiling';
export * from './inference';
export * from './image';
export * from './metrics';
export * from './postprocess';
