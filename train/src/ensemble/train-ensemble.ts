import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  createPartition,
  type MemberPlan,
  type Partition,
  planMembers,
  QuorumInputError,
} from '@quorum/shared';
import { type DatasetEntry, type LoadedSample, loadSample, openDataset } from '../data/dataset';
import { readJson, sha256Hex, writeJsonAtomic } from '../store/files';
import { writeModelDir } from '../store/model-dir';
import { type EpochReport, type MemberResult, trainMember } from '../training/member';
import { configDifferences, savedConfig, type TrainConfig } from './config';
import { ensembleLayout } from './layout';
import { assignModes, type ModeRequest } from './modes';

/** What checkpoints/<member>/member.json records about a finished member. */
export interface MemberRecord extends MemberResult {
  mode: string;
  fold: number;
  trainIds: string[];
  validationIds: string[];
  trainingIdsHash: string;
}

export interface TrainEnsembleRequest {
  outDir: string;
  config: Omit<TrainConfig, 'data' | 'modes'> & { dataDir: string; modes: ModeRequest };
  /** Train only these member ids (scale-out: one member per job); all when absent. */
  only?: readonly string[];
  log: (line: string) => void;
  onProgress?: (r: EpochReport) => void;
}

export interface TrainEnsembleOutcome {
  config: TrainConfig;
  partition: Partition;
  plans: MemberPlan[];
  trained: string[];
  skipped: string[];
  /** Members of the ensemble with no finished checkpoint yet (e.g. left to other jobs). */
  missing: string[];
}

export function hashIds(ids: readonly string[]): string {
  return sha256Hex([...ids].sort().join('\n'));
}

export function trainingEntries(entries: readonly DatasetEntry[]): DatasetEntry[] {
  return entries.filter((e) => e.split !== 'test');
}

function checkOutDir(outDir: string, config: TrainConfig): void {
  const layout = ensembleLayout(outDir);
  if (existsSync(layout.config)) {
    const diffs = configDifferences(savedConfig(readJson<TrainConfig>(layout.config)), config);
    if (diffs.length) {
      throw new QuorumInputError(
        'mismatch',
        outDir,
        `holds an ensemble trained with other options (${diffs.slice(0, 5).join(', ')} differ); use another --out or remove it`,
      );
    }
    return;
  }
  if (existsSync(outDir) && readdirSync(outDir).length > 0) {
    throw new QuorumInputError(
      'mismatch',
      outDir,
      'is not empty and holds no Quorum train-config.json; use an empty or new --out',
    );
  }
}

export interface EnsemblePlan {
  config: TrainConfig;
  partition: Partition;
  plans: MemberPlan[];
  entries: DatasetEntry[];
  /** Decodes (once) and normalises a training image. */
  load: (e: DatasetEntry) => LoadedSample;
}

/** The two-step split and the members it implies, without writing anything (also `quorum train --list-members`). */
export function planEnsemble(reqConfig: TrainEnsembleRequest['config']): EnsemblePlan {
  const { dataDir, modes: modeRequest, ...rest } = reqConfig;
  const ds = openDataset(dataDir);
  const entries = trainingEntries(ds.entries);
  if (entries.length === 0)
    throw new QuorumInputError('too-few', dataDir, 'has no training rows (all rows are split=test)');
  const cache = new Map<string, LoadedSample>();
  const load = (e: DatasetEntry): LoadedSample => {
    let s = cache.get(e.id);
    if (!s) {
      s = loadSample(e, rest.normalization);
      cache.set(e.id, s);
    }
    return s;
  };
  const modes = assignModes(ds, entries, modeRequest, load, rest.seed);
  const config: TrainConfig = {
    ...rest,
    data: { dir: dataDir, trainIdsHash: hashIds(entries.map((e) => e.id)), trainImages: entries.length },
    modes: modeRequest,
  };
  const partition = createPartition(modes.modeOf, {
    folds: config.folds,
    seed: config.seed,
    modeSource: modes.source,
  });
  return { config, partition, plans: planMembers(partition), entries, load };
}

export async function trainEnsemble(req: TrainEnsembleRequest): Promise<TrainEnsembleOutcome> {
  const { config, partition, plans, entries, load } = planEnsemble(req.config);
  checkOutDir(req.outDir, config);
  const layout = ensembleLayout(req.outDir);
  writeJsonAtomic(layout.config, config);
  writeJsonAtomic(layout.partition, partition);
  const known = new Set(plans.map((p) => p.id));
  for (const id of req.only ?? []) {
    if (!known.has(id))
      throw new QuorumInputError(
        'invalid-value',
        '--members',
        `unknown member "${id}" (members: ${[...known].join(', ')})`,
      );
  }
  const selected = req.only ? plans.filter((p) => req.only!.includes(p.id)) : plans;
  req.log(
    `partition: ${partition.modes.map((m) => `${m.name} (${m.folds.flat().length} images, ${m.folds.length} folds)`).join(', ')}; ${plans.length} members`,
  );
  const byId = new Map(entries.map((e) => [e.id, e]));
  // Decode every image the selected members need before training any: bad data fails in seconds, not after hours.
  for (const id of new Set(selected.flatMap((p) => [...p.trainIds, ...p.validationIds]))) load(byId.get(id)!);
  const trained: string[] = [];
  const skipped: string[] = [];
  for (const plan of selected) {
    if (existsSync(layout.memberInfo(plan.id))) {
      skipped.push(plan.id);
      req.log(`member ${plan.id}: already trained, skipping`);
      continue;
    }
    const samples = new Map([...plan.trainIds, ...plan.validationIds].map((id) => [id, load(byId.get(id)!)]));
    req.log(
      `member ${plan.id}: training on ${plan.trainIds.length} images, validating on ${plan.validationIds.length}`,
    );
    const work = layout.work(plan.id);
    const state = join(work, 'state.json');
    if (existsSync(state))
      req.log(`member ${plan.id}: resuming after epoch ${readJson<{ epoch: number }>(state).epoch}`);
    const { result, model } = await trainMember(plan, samples, config, work, req.onProgress);
    const record: MemberRecord = {
      ...result,
      mode: plan.mode,
      fold: plan.fold,
      trainIds: plan.trainIds,
      validationIds: plan.validationIds,
      trainingIdsHash: hashIds(plan.trainIds),
    };
    // The checkpoint folder appears complete or not at all; member.json inside it is what marks it finished.
    await writeModelDir(layout.checkpoint(plan.id), model);
    writeJsonAtomic(layout.memberInfo(plan.id), record);
    model.dispose();
    rmSync(work, { recursive: true, force: true });
    trained.push(plan.id);
    req.log(
      `member ${plan.id}: done, validation Dice ${result.validationDice.toFixed(4)} (best epoch ${result.bestEpoch} of ${result.epochsRun}, ${result.seconds.toFixed(0)} s, ${result.cpuSeconds.toFixed(0)} CPU s)`,
    );
  }
  const missing = plans.filter((p) => !existsSync(layout.memberInfo(p.id))).map((p) => p.id);
  return { config, partition, plans, trained, skipped, missing };
}
