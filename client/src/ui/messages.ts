import type { EngineError } from '../engine/client';
import type { BackendInfo, LoadProgress, SegmentProgress } from '../engine/types';

/** One line for people from an engine error, saying what to do where there is something to do. */
export function errorMessage(e: EngineError, fileName?: string): string {
  switch (e.kind) {
    case 'input':
      if (e.code === 'too-large') return `This image is too large to segment here. ${e.message}`;
      return fileName
        ? `Could not read "${fileName}" as an image (PNG, JPEG or TIFF). ${e.message}`
        : `Could not read this image. ${e.message}`;
    case 'integrity':
      return `The model download failed its integrity check and was not used. ${e.message}`;
    case 'network':
      return `Could not load the model. ${e.message}`;
    case 'aborted':
      return 'Cancelled.';
    case 'backend':
      return `The inference backend failed. ${e.message}`;
    default:
      return `Something went wrong: ${e.message}`;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function backendLabel(b: BackendInfo): string {
  return b.detail;
}

/** Progress as a fraction (or null when indeterminate) and a label. */
export function progressOf(p: LoadProgress | SegmentProgress): { fraction: number | null; label: string } {
  switch (p.phase) {
    case 'manifest':
      return { fraction: null, label: 'Fetching the model manifest…' };
    case 'download':
      return {
        fraction: p.total > 0 ? p.loaded / p.total : 1,
        label: `Downloading the model: ${formatBytes(p.loaded)} of ${formatBytes(p.total)}`,
      };
    case 'load':
      return { fraction: p.done / p.total, label: `Loading members: ${p.done} of ${p.total}` };
    case 'decode':
      return { fraction: null, label: 'Reading the image…' };
    case 'infer':
      return { fraction: p.done / p.total, label: `Segmenting: ${p.done} of ${p.total} tile evaluations` };
    case 'postprocess':
      return { fraction: 1, label: 'Finding objects…' };
  }
}
