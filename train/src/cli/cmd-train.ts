import { basename, resolve } from 'node:path';
import {
  DEFAULT_NORMALIZATION,
  DEFAULT_UNET,
  QuorumInputError,
  sizeMultiple,
  WEIGHT_DTYPES,
} from '@quorum/shared';
import { BACKEND_REQUESTS, selectBackend } from '../backend';
import { loadSample, modeLookup, openDataset } from '../data/dataset';
import { baselineIds, isBaselineId, trainBaselines } from '../ensemble/baselines';
import type { TrainConfig } from '../ensemble/config';
import { DEFAULT_MIN_AREA, exportEnsemble } from '../ensemble/export';
import { ensembleLayout } from '../ensemble/layout';
import type { ModeRequest } from '../ensemble/modes';
import { loadTrainedEnsemble } from '../ensemble/out-of-fold';
import { planEnsemble, trainEnsemble, trainingEntries } from '../ensemble/train-ensemble';
import {
  checkSplitFlagFits,
  MIN_AREA_CANDIDATES,
  parseMinAreaFlag,
  parseSplitFlag,
  resolveSplit,
} from '../ensemble/tune-split';
import { reportSummary } from '../report/report';
import { writeReport } from '../report/write';
import { MAX_SCALE_JITTER } from '../training/augment';
import type { TouchTargets } from '../training/touch-targets';
import { choiceFlag, intFlag, numberFlag, parseFlags, requireFlag } from './args';
import { trainingProgress } from './progress';

export const TRAIN_HELP = `quorum train --data DIR --out DIR [options]
       quorum train --data DIR [options] --list-members

Train the mode-fold deep ensemble (Kaminski et al., MIDL 2021): split the training images by mode, split each
mode into K folds, train one U-Net per (mode, fold) with the held-out fold for early stopping, then export.
Rerunning the same command resumes: finished members are skipped, the member in progress continues.

Data:  DIR/images/<id>.png|tif|tiff|jpg, DIR/masks/<id>.png|tif (nonzero = foreground), optional DIR/metadata.csv
       with an id column, a mode column and a split column (split=test rows are never trained on).

  --mode-column NAME   metadata column holding each image's mode (e.g. acquisition)
  --modes N            discover N modes from image features (without either flag: discover and choose N)
  --folds K            folds per mode (default 3; lowered for small modes)
  --epochs N           maximum epochs per member (default 40)
  --steps N            training steps per epoch (default 20)
  --patience N         stop after N epochs without a better validation Dice (default 8)
  --patch P            training patch size (default 128)
  --batch B            patches per step (default 4)
  --base-filters F     filters of the first U-Net level (default ${DEFAULT_UNET.baseFilters})
  --depth D            U-Net depth (pooling steps, default ${DEFAULT_UNET.depth})
  --batchnorm          BatchNorm after each conv, as in the paper (default off: it doubles CPU training time)
  --upsampling KIND    transpose | nearest (default ${DEFAULT_UNET.upsampling})
  --contour            a second output learns each object's contour from the instance masks, so touching
                       objects can part along it (--split contour=C; auto considers it). Needs instance-labelled
                       masks to help: in a binary mask, touching objects share one label and one outline
  --touch-gap N        the foreground target loses every pixel with another object in its N x N neighbourhood, so
                       touching objects are learnt apart (odd N; 0 = off; default 3). Needs instance labels
  --border-weight W[,S]
                       cross-entropy weight 1 + W exp(-(d1 + d2)^2 / 2 S^2) on the background between objects (d1, d2:
                       distances to the nearest two), which makes those gaps worth learning (Ronneberger et al.
                       2015; 0 = off; default 10,5)
  --scale-jitter S     resample each training patch at a factor drawn log-uniformly from [1/(1+S), 1+S], so
                       members see nuclei larger and smaller than the training images hold (0..${MAX_SCALE_JITTER};
                       default 0 = off)
  --lr X               Adam learning rate (default 0.001)
  --seed S             seed of the split, initialisation and augmentation (default 0)
  --tile T --halo H    largest inference tile and overlap (defaults 512 and 16; images are covered by the fewest
                       tiles of at most T, evenly spread), for validation and the exported ensemble
  --export-tile T      the exported ensemble's largest tile instead of --tile (members are still validated with
                       --tile). Larger tiles compute less overlap: a 2048 px image takes 81 windows of 256 px
                       (5.3 MP of member work) at --tile 256, 9 of 704 px (4.5 MP) at 1024. Changing it on a
                       finished ensemble re-exports it without retraining
  --backend B          ${BACKEND_REQUESTS.join(' | ')} (default auto)
  --members LIST       comma-separated member ids to train (scale-out); export waits for all. With
                       --baselines, baseline ids too: pooled-s0..2, random-kfold/all-f0..(members-1)
  --quantize Q         auto | ${WEIGHT_DTYPES.join(' | ')} (default auto: smallest with Dice drop <= 0.005)
  --aggregate RULE     default aggregation rule written to the manifest: mean | vote | union (default mean)
  --name N --version V ensemble name and version in the manifest (defaults: the --out folder's name, 1.0.0)
  --baselines          also train the paper's baselines (pooled single U-Nets over 3 seeds, a random K-fold
                       ensemble of the same size) into OUT/baselines/ and compare them in the report
  --split S            how touching objects are separated: auto | none | h=H,sigma=S[,core=C] (distance
                       watershed; with core, its maxima from where p > C) | seed=P (probability watershed from
                       cores where p >= P) | contour=C (contour watershed from cores where the contour
                       probability < C; needs --contour). Default auto: the option that best splits the
                       ensemble's out-of-fold predictions of the training images (the training masks, distance
                       watershed without a core only, when there are none)
  --min-area N         drop objects under N px (integer >= 0). Default: with --split auto, chosen together
                       with the split on the out-of-fold predictions (${MIN_AREA_CANDIDATES.join(', ')}); otherwise ${DEFAULT_MIN_AREA}
  --no-export          train only; do not export when all members are done
  --list-members       print the member ids this data and these options give, one per line (with
                       --baselines, the baseline ids too), and exit: no training, --out not needed
`;

/** --touch-gap: an odd neighbourhood side, or 0 for none. */
function touchGapFlag(value: string | undefined): number {
  const gap = intFlag(value, '--touch-gap', 3, 0, 15);
  if (gap !== 0 && gap % 2 === 0)
    throw new QuorumInputError('invalid-value', '--touch-gap', `${gap} must be odd (a centred square) or 0`);
  return gap;
}

/**
 * --scale-jitter: absent from the config when off, so configs written before it existed still match (resume).
 */
function scaleJitterFlag(value: string | undefined): { scaleJitter?: number } {
  const jitter = numberFlag(value, '--scale-jitter', 0, 0, MAX_SCALE_JITTER);
  return jitter > 0 ? { scaleJitter: jitter } : {};
}

/** --border-weight W[,SIGMA]: the weight's peak and fall-off in pixels; W = 0 turns it off. */
function borderWeightFlag(value: string | undefined): TouchTargets['borderWeight'] {
  if (value === undefined) return { w0: 10, sigma: 5 };
  const [w, s, ...rest] = value.split(',');
  if (rest.length || w === '' || s === '')
    throw new QuorumInputError(
      'invalid-value',
      '--border-weight',
      `"${value}"; want W or W,SIGMA (e.g. 10,5)`,
    );
  const w0 = numberFlag(w, '--border-weight', 10, 0, 1000);
  if (w0 === 0) return null;
  return { w0, sigma: numberFlag(s, '--border-weight sigma', 5, 0.5, 100) };
}

/** The manifest name when --name is absent: the output folder's name, made URL-safe. */
export function defaultName(outDir: string): string {
  return (
    basename(outDir)
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+/, '') || 'ensemble'
  );
}

/**
 * A tile flag: a multiple of the network's size multiple 2^depth, up to 2048, and (for a given halo) more than twice
 * the halo, so every window has a core.
 */
export function tileFlag(
  value: string | undefined,
  flag: string,
  fallback: number,
  multiple: number,
  halo = 0,
): number {
  const tile = intFlag(value, flag, fallback, Math.max(multiple, 2 * halo + 1), 2048);
  if (tile % multiple)
    throw new QuorumInputError('invalid-value', flag, `${tile} must be a multiple of 2^depth = ${multiple}`);
  return tile;
}

export async function trainCommand(argv: string[], log: (s: string) => void): Promise<void> {
  const { values: v } = parseFlags(argv, {
    data: { type: 'string' },
    out: { type: 'string' },
    'mode-column': { type: 'string' },
    modes: { type: 'string' },
    folds: { type: 'string' },
    epochs: { type: 'string' },
    steps: { type: 'string' },
    patience: { type: 'string' },
    patch: { type: 'string' },
    batch: { type: 'string' },
    'base-filters': { type: 'string' },
    depth: { type: 'string' },
    batchnorm: { type: 'boolean' },
    contour: { type: 'boolean' },
    'touch-gap': { type: 'string' },
    'scale-jitter': { type: 'string' },
    'border-weight': { type: 'string' },
    upsampling: { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string' },
    tile: { type: 'string' },
    'export-tile': { type: 'string' },
    halo: { type: 'string' },
    backend: { type: 'string' },
    members: { type: 'string' },
    quantize: { type: 'string' },
    aggregate: { type: 'string' },
    name: { type: 'string' },
    version: { type: 'string' },
    'no-export': { type: 'boolean' },
    baselines: { type: 'boolean' },
    split: { type: 'string' },
    'min-area': { type: 'string' },
    'list-members': { type: 'boolean' },
  });
  if (v.help) return log(TRAIN_HELP);
  const dataDir = resolve(requireFlag(v.data, '--data'));
  const outDir = v['list-members'] ? '' : resolve(requireFlag(v.out, '--out'));
  if (v['mode-column'] && v.modes)
    throw new QuorumInputError('invalid-value', '--modes', 'give either --mode-column or --modes, not both');
  const modes: ModeRequest = v['mode-column']
    ? { kind: 'column', column: v['mode-column'] }
    : { kind: 'discovered', modes: v.modes ? intFlag(v.modes, '--modes', 1, 1, 32) : null };
  const depth = intFlag(v.depth, '--depth', DEFAULT_UNET.depth, 1, 6);
  const multiple = sizeMultiple({ depth });
  const patch = intFlag(v.patch, '--patch', 128, multiple, 1024);
  if (patch % multiple)
    throw new QuorumInputError(
      'invalid-value',
      '--patch',
      `${patch} must be a multiple of 2^depth = ${multiple}`,
    );
  const tile = tileFlag(v.tile, '--tile', 512, multiple);
  const halo = intFlag(v.halo, '--halo', 16, 0, tile / 2 - 1);
  const exportTile =
    v['export-tile'] === undefined
      ? undefined
      : tileFlag(v['export-tile'], '--export-tile', tile, multiple, halo);
  const backendRequest = choiceFlag(v.backend, '--backend', BACKEND_REQUESTS, 'auto');
  const config: Omit<TrainConfig, 'data' | 'modes'> & { dataDir: string; modes: ModeRequest } = {
    dataDir,
    modes,
    folds: intFlag(v.folds, '--folds', 3, 2, 20),
    seed: intFlag(v.seed, '--seed', 0, 0, 2 ** 31 - 1),
    architecture: {
      depth,
      baseFilters: intFlag(v['base-filters'], '--base-filters', DEFAULT_UNET.baseFilters, 1, 128),
      batchNorm: v.batchnorm ?? DEFAULT_UNET.batchNorm,
      upsampling: choiceFlag(
        v.upsampling,
        '--upsampling',
        ['transpose', 'nearest'] as const,
        DEFAULT_UNET.upsampling,
      ),
      inputChannels: 1,
      ...(v.contour ? { contour: true } : {}),
    },
    normalization: DEFAULT_NORMALIZATION,
    tiling: { tile, halo, blend: 'gaussian' },
    ...(exportTile !== undefined ? { exportTile } : {}),
    patch,
    batch: intFlag(v.batch, '--batch', 4, 1, 256),
    stepsPerEpoch: intFlag(v.steps, '--steps', 20, 1),
    epochs: intFlag(v.epochs, '--epochs', 40, 1),
    patience: intFlag(v.patience, '--patience', 8, 1),
    learningRate: numberFlag(v.lr, '--lr', 1e-3, 1e-7, 1),
    loss: { dice: 1, bce: 1 },
    touch: {
      gap: touchGapFlag(v['touch-gap']),
      borderWeight: borderWeightFlag(v['border-weight']),
    },
    augment: { geometric: true, intensityJitter: 0.1, ...scaleJitterFlag(v['scale-jitter']) },
    quantize: choiceFlag(v.quantize, '--quantize', ['auto', ...WEIGHT_DTYPES] as const, 'auto'),
  };
  if (v['list-members']) {
    // Only the split is computed: no backend, no output folder. One id per line, for job arrays.
    const { plans } = planEnsemble(config);
    const ids = plans.map((p) => p.id);
    for (const id of [...ids, ...(v.baselines ? baselineIds(ids.length) : [])]) log(id);
    return;
  }
  const rule = choiceFlag(v.aggregate, '--aggregate', ['mean', 'vote', 'union'] as const, 'mean');
  const splitFlag = parseSplitFlag(v.split);
  checkSplitFlagFits(splitFlag, config.architecture);
  const minAreaFlag = parseMinAreaFlag(v['min-area']);
  const backend = await selectBackend(backendRequest);
  log(
    `backend: ${backend.name} (${backend.detail})${backend.fallbacks.length ? `; skipped ${backend.fallbacks.join('; ')}` : ''}`,
  );
  const only = v.members
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const baselineOnly = only?.filter(isBaselineId);
  if (baselineOnly?.length && !v.baselines)
    throw new QuorumInputError(
      'invalid-value',
      '--members',
      `"${baselineOnly[0]}" is a baseline; add --baselines to train it`,
    );
  const outcome = await trainEnsemble({
    outDir,
    config,
    ...(only ? { only: only.filter((id) => !isBaselineId(id)) } : {}),
    log,
    onProgress: trainingProgress(),
  });
  const missing = [...outcome.missing];
  if (v.baselines) {
    missing.push(
      ...(await trainBaselines(outDir, config, outcome.plans.length, log, trainingProgress(), baselineOnly)),
    );
  }
  if (missing.length) {
    log(
      `${missing.length} model(s) not trained yet: ${missing.join(', ')}; export waits for them (rerun without --members, or quorum assemble merges separately trained parts)`,
    );
    return;
  }
  if (v['no-export']) return log('all members trained; skipping export (--no-export)');
  const ds = openDataset(dataDir);
  const test = ds.entries.filter((e) => e.split === 'test');
  const modeOf = modeLookup(ds, modes.kind === 'column' ? modes.column : null);
  // Decoded once: the quantization check and the report score the same images.
  const testSamples = test.map((e) => loadSample(e, config.normalization));
  const {
    split,
    minArea,
    note: splitNote,
  } = await resolveSplit(
    splitFlag,
    {
      trainSamples: () => trainingEntries(ds.entries).map((e) => loadSample(e, config.normalization)),
      ensemble: () => loadTrainedEnsemble(outDir, rule),
      outDir,
      log,
    },
    minAreaFlag,
  );
  const manifest = await exportEnsemble({
    split,
    minArea,
    outDir,
    name: v.name ?? defaultName(outDir),
    version: v.version ?? '1.0.0',
    rule,
    testSamples,
    modeOf,
    log,
  });
  const m = manifest.metrics;
  log(
    `wrote ${outDir}/ensemble.json: ${manifest.members.length} members, ${manifest.quantization.dtype} weights` +
      (m
        ? `; test Dice ${m.dice.toFixed(4)}, object F1 ${m.objectF1.toFixed(4)}, PR-AUC ${m.prAuc.toFixed(4)} on ${m.images} images`
        : ''),
  );
  if (test.length) {
    const report = await writeReport({
      ensembleDir: outDir,
      reportDir: ensembleLayout(outDir).report,
      dataDir,
      split: 'test',
      samples: testSamples,
      modeOf,
      notes: [splitNote],
      ensemble: {
        name: manifest.name,
        version: manifest.version,
        members: manifest.members.length,
        dtype: manifest.quantization.dtype,
      },
      log,
    });
    log(`wrote ${ensembleLayout(outDir).report}/report.md: ${reportSummary(report)}`);
  }
}
