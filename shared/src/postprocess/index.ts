// Post-processing: probability map -> mask -> instance labels -> object table. Pure functions on typed arrays.
export * from './channel-intensity';
export * from './csv';
export * from './distance-transform';
export * from './fill-holes';
export * from './gaussian';
export * from './h-maxima';
export * from './label';
export {
  type Connectivity,
  type FloatMap,
  type LabelImage,
  type LabelImage16,
  type LabelImage32,
  labelsToMask,
  MAX_LABEL_16,
  type Map2D,
  type Mask,
  maskToGrey,
  type ProbabilityMap,
  toUint16Labels,
  toUint32Labels,
} from './map2d';
export * from './objects';
export * from './pipeline';
export * from './relabel';
export * from './remove-small';
export * from './split';
export * from './summary';
export * from './threshold';
export * from './watershed';
