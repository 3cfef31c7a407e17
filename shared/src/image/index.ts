// Image I/O: decode PNG/TIFF/JPEG to RasterImage, reduce to one channel, encode PNG/TIFF outputs.
export { formatPixelSize, omePixelSize, type PixelSize, physicalScale } from './calibration';
export {
  type ChannelChoice,
  channelsIdentical,
  colourChannels,
  LUMA_WEIGHTS_REC601,
  toSingleChannel,
} from './channels';
export { countPages, decodeImage } from './decode';
export { encodePng } from './encode-png';
export { encodeTiff } from './encode-tiff';
export { DEFAULT_MAX_PIXELS, MAX_CHANNELS } from './limits';
export { createRaster, imageToFloat, type SampleType, sampleTypeOf } from './raster';
export { sniffFormat } from './sniff';
export type { BitDepth, DecodeOptions, ImageFormat, PixelData, RasterImage, SampleFormat } from './types';
