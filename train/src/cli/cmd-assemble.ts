import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { QuorumInputError, sizeMultiple } from '@quorum/shared';
import { BACKEND_REQUESTS, selectBackend } from '../backend';
import { loadSample, modeLookup, openDataset } from '../data/dataset';
import { configDifferences, savedConfig, type TrainConfig } from '../ensemble/config';
import { DEFAULT_MIN_AREA, exportEnsemble } from '../ensemble/export';
import { ensembleLayout } from '../ensemble/layout';
import { loadTrainedEnsemble } from '../ensemble/out-of-fold';
import { trainingEntries } from '../ensemble/train-ensemble';
import { checkSplitFlagFits, parseMinAreaFlag, parseSplitFlag, resolveSplit } from '../ensemble/tune-split';
import { readJson, writeJsonAtomic } from '../store/files';
import { choiceFlag, parseFlags, requireFlag } from './args';
import { defaultName, tileFlag } from './cmd-train';

export const ASSEMBLE_HELP = `quorum assemble --out DIR PART_DIR... [--name N] [--version V] [--aggregate RULE] [--data DIR]

Merge members trained separately (e.g. one per SLURM array task with quorum train --members ID) into one
ensemble and export it. Every part must come from the same quorum train options (same train-config.json).
  --data DIR   labelled data for the quantization check on its test split (default: the data the parts used)
  --split S    auto | none | h=H,sigma=S[,core=C] | seed=P | contour=C: how touching objects are separated (as
               quorum train)
  --min-area N drop objects under N px, an integer >= 0 (default: chosen with --split auto, else ${DEFAULT_MIN_AREA})
  --export-tile T
               the exported ensemble's largest tile (as quorum train; default: the parts' own)
`;

export async function assembleCommand(argv: string[], log: (s: string) => void): Promise<void> {
  const { values: v, positionals } = parseFlags(argv, {
    out: { type: 'string' },
    name: { type: 'string' },
    version: { type: 'string' },
    aggregate: { type: 'string' },
    data: { type: 'string' },
    backend: { type: 'string' },
    split: { type: 'string' },
    'min-area': { type: 'string' },
    'export-tile': { type: 'string' },
  });
  if (v.help) return log(ASSEMBLE_HELP);
  const outDir = resolve(requireFlag(v.out, '--out'));
  const splitFlag = parseSplitFlag(v.split);
  const minAreaFlag = parseMinAreaFlag(v['min-area']);
  if (positionals.length === 0)
    throw new QuorumInputError('missing', 'PART_DIR', 'give at least one training folder to assemble');
  const out = ensembleLayout(outDir);
  let config: TrainConfig | null = existsSync(out.config) ? readJson<TrainConfig>(out.config) : null;
  let partition: unknown = existsSync(out.partition) ? readJson(out.partition) : null;
  for (const partDir of positionals.map((p) => resolve(p))) {
    const part = ensembleLayout(partDir);
    if (!existsSync(part.config))
      throw new QuorumInputError('missing', part.config, 'not found: not a quorum train output folder');
    const partConfig = savedConfig(readJson<TrainConfig>(part.config));
    if (config) {
      const diffs = configDifferences(config, partConfig);
      if (diffs.length)
        throw new QuorumInputError(
          'mismatch',
          partDir,
          `was trained with other options (${diffs.slice(0, 5).join(', ')} differ)`,
        );
    } else config = partConfig;
    const partPartition = readJson(part.partition);
    if (partition && configDifferences(partition, partPartition).length)
      throw new QuorumInputError('mismatch', partDir, 'has a different partition');
    partition = partPartition;
    const ids = existsSync(join(partDir, 'checkpoints')) ? readdirSync(join(partDir, 'checkpoints')) : [];
    for (const id of ids.filter((id) => existsSync(part.memberInfo(id)))) {
      if (existsSync(out.memberInfo(id))) continue;
      mkdirSync(join(outDir, 'checkpoints'), { recursive: true });
      cpSync(part.checkpoint(id), out.checkpoint(id), { recursive: true });
      log(`member ${id}: from ${partDir}`);
    }
  }
  checkSplitFlagFits(splitFlag, config!.architecture);
  if (v['export-tile'] !== undefined) {
    const { tiling, architecture } = config!;
    const multiple = sizeMultiple(architecture);
    config = {
      ...config!,
      exportTile: tileFlag(v['export-tile'], '--export-tile', tiling.tile, multiple, tiling.halo),
    };
  }
  writeJsonAtomic(out.config, config);
  writeJsonAtomic(out.partition, partition);
  const backend = await selectBackend(choiceFlag(v.backend, '--backend', BACKEND_REQUESTS, 'auto'));
  log(`backend: ${backend.name} (${backend.detail})`);
  const ds = openDataset(v.data ? resolve(v.data) : config!.data.dir);
  const column = config!.modes.kind === 'column' ? config!.modes.column : null;
  const normalization = config!.normalization;
  const rule = choiceFlag(v.aggregate, '--aggregate', ['mean', 'vote', 'union'] as const, 'mean');
  const { split, minArea } = await resolveSplit(
    splitFlag,
    {
      trainSamples: () => trainingEntries(ds.entries).map((e) => loadSample(e, normalization)),
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
    testSamples: ds.entries
      .filter((e) => e.split === 'test')
      .map((e) => loadSample(e, config!.normalization)),
    modeOf: modeLookup(ds, column),
    log,
  });
  log(`wrote ${out.manifest}: ${manifest.members.length} members`);
}
