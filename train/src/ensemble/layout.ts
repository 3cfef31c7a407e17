import { join } from 'node:path';

/**
 * The output folder, nnU-Net style: one folder per stage and per member.
 *   train-config.json, partition.json       what was trained and how the data was split
 *   .work/<member>/                         in-progress member (checkpoints; deleted when it finishes)
 *   checkpoints/<member>/                   finished member: float32 model + member.json
 *   members/<member>/                       exported (possibly quantized) model the manifest points at
 *   ensemble.json                           the manifest, written last: its presence means "finished"
 *   report/                                 evaluation report
 */
export function ensembleLayout(dir: string) {
  return {
    dir,
    config: join(dir, 'train-config.json'),
    partition: join(dir, 'partition.json'),
    manifest: join(dir, 'ensemble.json'),
    work: (id: string) => join(dir, '.work', id),
    checkpoint: (id: string) => join(dir, 'checkpoints', id),
    memberInfo: (id: string) => join(dir, 'checkpoints', id, 'member.json'),
    exported: (id: string) => join(dir, 'members', id),
    report: join(dir, 'report'),
  };
}

export type EnsembleLayout = ReturnType<typeof ensembleLayout>;
