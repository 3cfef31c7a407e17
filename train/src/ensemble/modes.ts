import { discoverModes, imageFeatures, QuorumInputError } from '@quorum/shared';
import { type Dataset, type DatasetEntry, type LoadedSample, requireColumn } from '../data/dataset';

/** Step 1 of the split: each training image's mode, from a metadata column or discovered from image features. */
export type ModeRequest =
  | { kind: 'column'; column: string }
  | { kind: 'discovered'; modes: number | null }
  | { kind: 'single' };

export interface ModeAssignment {
  modeOf: Map<string, string>;
  source:
    | { kind: 'column'; column: string }
    | { kind: 'discovered'; modes: number; features: readonly string[] }
    | { kind: 'single' };
}

export function assignModes(
  ds: Dataset,
  entries: readonly DatasetEntry[],
  request: ModeRequest,
  loadRaw: (e: DatasetEntry) => LoadedSample,
  seed: number,
): ModeAssignment {
  if (request.kind === 'single')
    return { modeOf: new Map(entries.map((e) => [e.id, 'all'])), source: { kind: 'single' } };
  if (request.kind === 'column') {
    requireColumn(ds, request.column, '--mode-column');
    const modeOf = new Map<string, string>();
    for (const e of entries) {
      const v = e.meta[request.column];
      if (!v)
        throw new QuorumInputError(
          'missing',
          `metadata.csv row "${e.id}"`,
          `has an empty "${request.column}" value`,
        );
      modeOf.set(e.id, v);
    }
    return { modeOf, source: { kind: 'column', column: request.column } };
  }
  const features = new Map<string, number[]>();
  for (const e of entries) {
    const s = loadRaw(e);
    const maxValue = s.raw.sampleFormat === 'float' ? 1 : 2 ** s.raw.bitDepth - 1;
    features.set(e.id, imageFeatures({ width: s.width, height: s.height, data: s.raw.data, maxValue }));
  }
  const found = discoverModes(features, { seed, ...(request.modes ? { modes: request.modes } : {}) });
  return {
    modeOf: found.modeOf,
    source: { kind: 'discovered', modes: found.modes, features: found.features },
  };
}
