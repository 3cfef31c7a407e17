import { QuorumInputError } from '../errors';
import { createRandom, shuffled } from '../random';

/**
 * Step 2 of the paper's two-step split: within each data mode, K random folds as in cross-validation. Member
 * (mode, fold) trains on the mode's other folds and stops early on the held-out fold.
 */

/** How the modes were obtained; saved with the partition so an ensemble documents its own split. */
export type ModeSource =
  | { kind: 'column'; column: string }
  | { kind: 'discovered'; modes: number; features: readonly string[] }
  | { kind: 'single' };

export interface PartitionMode {
  name: string;
  /** folds[f] = the image ids held out in fold f (validation for member f). Sorted ids within a fold. */
  folds: string[][];
}

/** The serialisable partition: seeded, so `createPartition` with the same inputs reproduces it exactly. */
export interface Partition {
  version: 1;
  seed: number;
  requestedFolds: number;
  modeSource: ModeSource;
  modes: PartitionMode[];
}

/** One ensemble member to train: what it learns from and what it early-stops on. */
export interface MemberPlan {
  id: string;
  mode: string;
  fold: number;
  trainIds: string[];
  validationIds: string[];
}

export interface PartitionOptions {
  folds: number;
  seed: number;
  modeSource: ModeSource;
}

/** A member needs at least one image to train on and one to validate on. */
export const MIN_IMAGES_PER_MODE = 2;

/**
 * Split `modeOf` (image id -> mode name) into folds. K is lowered to the mode's size for small modes
 * (leave-one-out), and a mode with fewer than MIN_IMAGES_PER_MODE images is an error naming it.
 */
export function createPartition(modeOf: ReadonlyMap<string, string>, options: PartitionOptions): Partition {
  const { folds, seed } = options;
  if (!Number.isInteger(folds) || folds < 2) {
    throw new QuorumInputError('invalid-value', '--folds', `must be an integer >= 2 (got ${folds})`);
  }
  const byMode = new Map<string, string[]>();
  for (const [id, mode] of modeOf) {
    const list = byMode.get(mode) ?? [];
    list.push(id);
    byMode.set(mode, list);
  }
  if (byMode.size === 0) throw new QuorumInputError('too-few', 'training data', 'no training images');
  const modes: PartitionMode[] = [];
  for (const name of [...byMode.keys()].sort()) {
    const ids = byMode.get(name)!.sort();
    if (ids.length < MIN_IMAGES_PER_MODE) {
      throw new QuorumInputError(
        'too-few',
        `mode "${name}"`,
        `has ${ids.length} training image(s); each mode needs at least ${MIN_IMAGES_PER_MODE} (one to train, one to validate). Merge it into another mode or add images.`,
      );
    }
    const k = Math.min(folds, ids.length);
    // Sorting before shuffling makes the split independent of directory listing order.
    const order = shuffled(ids, createRandom(seed).fork(`mode:${name}`));
    const modeFolds: string[][] = Array.from({ length: k }, () => []);
    order.forEach((id, i) => {
      modeFolds[i % k]!.push(id);
    });
    modes.push({ name, folds: modeFolds.map((f) => f.sort()) });
  }
  return { version: 1, seed, requestedFolds: folds, modeSource: options.modeSource, modes };
}

/** Member ids are filesystem- and URL-safe: `<mode>-f<fold>` with the mode name slugged. */
export function memberId(mode: string, fold: number): string {
  const slug =
    mode
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'mode';
  return `${slug}-f${fold}`;
}

export function planMembers(partition: Partition): MemberPlan[] {
  const plans: MemberPlan[] = [];
  for (const mode of partition.modes) {
    mode.folds.forEach((heldOut, fold) => {
      const trainIds = mode.folds
        .filter((_, f) => f !== fold)
        .flat()
        .sort();
      plans.push({ id: memberId(mode.name, fold), mode: mode.name, fold, trainIds, validationIds: heldOut });
    });
  }
  const seen = new Set<string>();
  for (const p of plans) {
    if (seen.has(p.id)) {
      throw new QuorumInputError(
        'invalid-value',
        `mode "${p.mode}"`,
        `member id ${p.id} collides with another mode's`,
      );
    }
    seen.add(p.id);
  }
  return plans;
}

/**
 * The paper's baseline (2): a random K-fold ensemble of the same size that ignores modes. Same seed semantics.
 */
export function createModeBlindPartition(ids: readonly string[], members: number, seed: number): Partition {
  const single = new Map(ids.map((id) => [id, 'all'] as const));
  return createPartition(single, { folds: members, seed, modeSource: { kind: 'single' } });
}
