import { existsSync, readdirSync } from 'node:fs';
import { compileForward } from '@quorum/shared';
import * as tf from '@tensorflow/tfjs';
import { ensembleLayout } from '../ensemble/layout';
import type { MemberRecord } from '../ensemble/train-ensemble';
import { readJson } from '../store/files';

/**
 * What the ensemble costs: training time summed over its members' records, and one member's forward time on a
 * 512x512 input on the backend the report runs on, measured when the report is written (a measurement, recorded
 * with its backend; `npm run bench:client` gives the browser's own figures).
 */
export interface EnsembleCost {
  training: {
    members: number;
    wallSeconds: number;
    /** Process CPU seconds, summed over the members that recorded it (older records lack it). */
    cpuSeconds: number | null;
    membersWithCpu: number;
  };
  forward512: { ms: number; runs: number; backend: string } | null;
}

export function trainingCost(ensembleDir: string): EnsembleCost['training'] {
  const layout = ensembleLayout(ensembleDir);
  const dir = layout.checkpoint('');
  const records = existsSync(dir)
    ? readdirSync(dir)
        .filter((id) => existsSync(layout.memberInfo(id)))
        .map((id) => readJson<MemberRecord>(layout.memberInfo(id)))
    : [];
  const withCpu = records.filter((r) => Number.isFinite(r.cpuSeconds));
  return {
    members: records.length,
    wallSeconds: Math.round(records.reduce((s, r) => s + r.seconds, 0)),
    cpuSeconds: withCpu.length ? Math.round(withCpu.reduce((s, r) => s + r.cpuSeconds, 0)) : null,
    membersWithCpu: withCpu.length,
  };
}

/**
 * Median of `runs` timed forwards of a 512x512 single-channel input, after one warm-up, through the fused forward
 * the product runs (tfEnsembleRunner).
 */
export async function forwardTime(model: tf.LayersModel, runs = 3): Promise<EnsembleCost['forward512']> {
  const x = tf.zeros([1, 512, 512, 1]) as tf.Tensor4D;
  const forward = compileForward(model) ?? ((input: tf.Tensor4D) => model.predict(input) as tf.Tensor);
  try {
    const once = async () => {
      const t = performance.now();
      const y = forward(x);
      await y.data();
      y.dispose();
      return performance.now() - t;
    };
    await once();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await once());
    times.sort((a, b) => a - b);
    return { ms: Math.round(times[Math.floor(runs / 2)]!), runs, backend: tf.getBackend() };
  } finally {
    x.dispose();
  }
}
