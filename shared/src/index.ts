// Public surface of @quorum/shared. Modules are grouped by pipeline stage:
// decode -> normalize -> tile -> infer -> blend -> aggregate -> post-process, plus folds, metrics, manifest, quantization.

export * from './aggregate';
export * from './errors';
export * from './folds';
export * from './image';
export * from './inference';
export * from './manifest';
export * from './metrics';
export * from './model';
export * from './normalize';
export * from './postprocess';
export * from './quantize';
export * from './random';
export * from './tiling';
