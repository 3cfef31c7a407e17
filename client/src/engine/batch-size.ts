import type { TilePlan, UNetConfig } from '@quorum/shared';
import type { BackendName } from './types';

/**
 * Bytes the largest activation of one member call may take on a GPU: the full-resolution skip concatenation
 * (2 x baseFilters channels of float32 per pixel). A quarter of WebGPU's default maxStorageBufferBindingSize
 * (128 MiB), so a batch fits the limits every adapter must offer.
 */
export const GPU_ACTIVATION_BUDGET = 32 * 1024 * 1024;
export const MAX_GPU_BATCH = 8;

/**
 * Tiles per member call when the caller sets none. On a GPU a member call costs mostly its dispatch and read-back,
 * not its arithmetic (Node + Dawn on an NVIDIA H200: 1.2 ms of kernels in a 15 ms 512x512 forward), so batching
 * tiles pays: the bundled ensemble on a 2048x2048 image took 7.0 s at 8 tiles of 256 px per call against 10.7 s at
 * one. The batch is capped so its largest activation stays within GPU_ACTIVATION_BUDGET, sized by the windows the
 * pipeline plans for the image (a manifest's tiling.tile is only their upper bound). On WASM and CPU a member costs
 * its arithmetic, so the pipeline's own default stands (undefined).
 */
export function defaultBatchSize(
  backend: BackendName,
  architecture: Pick<UNetConfig, 'baseFilters'>,
  windows: Pick<TilePlan, 'tileWidth' | 'tileHeight'>,
): number | undefined {
  if (backend !== 'webgpu') return undefined;
  const bytesPerTile = windows.tileWidth * windows.tileHeight * 2 * architecture.baseFilters * 4;
  return Math.max(1, Math.min(MAX_GPU_BATCH, Math.floor(GPU_ACTIVATION_BUDGET / bytesPerTile)));
}
