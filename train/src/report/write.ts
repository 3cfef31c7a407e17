import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedSample } from '../data/dataset';
import { writeJsonAtomic } from '../store/files';
import { loadEnsembleDir } from '../store/load-ensemble';
import { barChart } from './chart';
import { type EnsembleCost, forwardTime, trainingCost } from './cost';
import { figurePicker, type PickedFigure } from './figure-picker';
import { OVERLAY_LEGEND } from './figures';
import { buildReport, type Report, reportMarkdown } from './report';
import { evaluateSystems } from './systems';

/** Evaluate every system on the labelled samples and write report.json, report.md and figures into `reportDir`. */
export async function writeReport(o: {
  ensembleDir: string;
  reportDir: string;
  dataDir: string;
  split: string;
  samples: readonly LoadedSample[];
  modeOf: (id: string) => string;
  ensemble: Report['ensemble'];
  notes?: string[];
  log: (s: string) => void;
  /** How many images get an overlay figure. */
  figures?: number;
}): Promise<Report> {
  mkdirSync(join(o.reportDir, 'figures'), { recursive: true });
  const picker = figurePicker(o.figures ?? 4);
  // Loaded once: every system's evaluation and the forward timing use the same verified members.
  const shipped = await loadEnsembleDir(o.ensembleDir);
  let results: Awaited<ReturnType<typeof evaluateSystems>>;
  let cost: EnsembleCost;
  try {
    results = await evaluateSystems({
      shipped,
      ensembleDir: o.ensembleDir,
      samples: o.samples,
      modeOf: o.modeOf,
      log: o.log,
      onImage: (sample, seg, measured) => picker.offer(sample, seg, measured),
    });
    cost = {
      training: trainingCost(o.ensembleDir),
      forward512: shipped.models[0] ? await forwardTime(shipped.models[0]) : null,
    };
  } finally {
    shipped.dispose();
  }
  const figures = writeOverlayFigures(o.reportDir, picker.picked());
  const modes: Record<string, number> = {};
  for (const s of o.samples) modes[o.modeOf(s.id)] = (modes[o.modeOf(s.id)] ?? 0) + 1;
  const report = buildReport(results, {
    ensemble: o.ensemble,
    data: { dir: o.dataDir, split: o.split, images: o.samples.length, modes },
    figures,
    cost,
    notes: [
      `${OVERLAY_LEGEND} Shown: the ${figures.length} image(s) with the most object errors (unmatched true and predicted objects).`,
      ...(o.notes ?? []),
    ],
  });
  writeFileSync(join(o.reportDir, 'figures/scores.png'), barChart(report.rows));
  report.figures.unshift('figures/scores.png');
  writeJsonAtomic(join(o.reportDir, 'report.json'), report);
  writeFileSync(join(o.reportDir, 'report.md'), reportMarkdown(report));
  return report;
}

/** Writes the picked overlays, replacing those of an earlier report in the folder (another run picks others). */
function writeOverlayFigures(reportDir: string, picked: readonly PickedFigure[]): string[] {
  const dir = join(reportDir, 'figures');
  for (const f of readdirSync(dir)) if (f.endsWith('-overlay.png')) rmSync(join(dir, f));
  return picked.map((p) => {
    const name = `figures/${p.id.slice(0, 16)}-overlay.png`;
    writeFileSync(join(reportDir, name), p.png);
    return name;
  });
}
