import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseManifest, QuorumInputError } from '@quorum/shared';
import { BACKEND_REQUESTS, selectBackend } from '../backend';
import { loadSample, modeLookup, openDataset, requireColumn } from '../data/dataset';
import type { TrainConfig } from '../ensemble/config';
import { ensembleLayout } from '../ensemble/layout';
import { reportSummary } from '../report/report';
import { writeReport } from '../report/write';
import { readJson } from '../store/files';
import { choiceFlag, parseFlags, requireFlag } from './args';

export const EVALUATE_HELP = `quorum evaluate --ensemble DIR --data DIR --report DIR [options]

Score an exported ensemble on labelled images (default: the test split) and write report.json, report.md and
overlay figures: the ensemble under each aggregation rule (mean, vote, union), with and without flip TTA, and the
baselines trained by quorum train --baselines (pooled single U-Nets over 3 seeds, a random K-fold ensemble) when
the ensemble folder holds them. Metrics: Dice, IoU, object F1 at IoU 0.5, PR-AUC; overall and per mode.

  --split NAME         rows of metadata.csv to score (default test; "all" scores every image)
  --mode-column NAME   column for per-mode scores (default: the one the ensemble was trained with, if any)
  --backend B          ${BACKEND_REQUESTS.join(' | ')} (default auto)
`;

export async function evaluateCommand(argv: string[], log: (s: string) => void): Promise<void> {
  const { values: v } = parseFlags(argv, {
    ensemble: { type: 'string' },
    data: { type: 'string' },
    report: { type: 'string' },
    split: { type: 'string' },
    'mode-column': { type: 'string' },
    backend: { type: 'string' },
  });
  if (v.help) return log(EVALUATE_HELP);
  const ensembleDir = resolve(requireFlag(v.ensemble, '--ensemble'));
  const dataDir = resolve(requireFlag(v.data, '--data'));
  const reportDir = resolve(requireFlag(v.report, '--report'));
  const split = v.split ?? 'test';
  const ds = openDataset(dataDir);
  const rows = split === 'all' ? ds.entries : ds.entries.filter((e) => e.split === split);
  if (rows.length === 0)
    throw new QuorumInputError('missing', '--split', `no rows of ${dataDir} have split=${split}`);
  const layout = ensembleLayout(ensembleDir);
  const trained = existsSync(layout.config) ? readJson<TrainConfig>(layout.config) : null;
  const column = v['mode-column'] ?? (trained?.modes.kind === 'column' ? trained.modes.column : undefined);
  if (column) requireColumn(ds, column, '--mode-column');
  const backend = await selectBackend(choiceFlag(v.backend, '--backend', BACKEND_REQUESTS, 'auto'));
  log(`backend: ${backend.name} (${backend.detail})`);
  const manifest = parseManifest(readFileSync(layout.manifest, 'utf8'), layout.manifest);
  const report = await writeReport({
    ensembleDir,
    reportDir,
    dataDir,
    split,
    samples: rows.map((e) => loadSample(e, manifest.input.normalization)),
    modeOf: modeLookup(ds, column),
    ensemble: {
      name: manifest.name,
      version: manifest.version,
      members: manifest.members.length,
      dtype: manifest.quantization.dtype,
    },
    log,
  });
  log(`wrote ${reportDir}/report.md: ${reportSummary(report)}`);
}
