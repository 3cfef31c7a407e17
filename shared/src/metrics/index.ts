// Metrics: pixel and object agreement with ground truth, average precision, and aggregation for the report.
export * from './aggregate';
export * from './object';
export * from './object-errors';
export { type PixelCounts, type PixelScores, pixelScores, pixelScoresFromCounts } from './pixel';
export * from './pr';
export * from './stats';
