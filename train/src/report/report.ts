import { type AggregateScores, meanAndStd, type ObjectErrors, sumObjectErrors } from '@quorum/shared';
import type { EnsembleCost } from './cost';
import type { SystemResult } from './systems';

/**
 * The evaluation report: one table of every system on the test split (overall and per mode), the seed spread of
 * the pooled single U-Net, and the verdict the paper's claim needs: does the ensemble beat the single model by
 * more than twice the single model's seed-to-seed std?
 */
export interface MetricRow {
  dice: number;
  diceStd: number;
  iou: number;
  objectF1: number;
  prAuc: number;
  pooledDice: number;
  /** Object error classes summed over the images (a mean over seeds in the pooled single U-Net's summary row). */
  errors?: ObjectErrors;
}

export interface ReportRow {
  name: string;
  group: SystemResult['group'];
  rule: string;
  tta: boolean;
  members: number;
  overall: MetricRow;
  perMode: Record<string, MetricRow>;
  /** For the pooled single U-Net summary row: per-seed Dice. */
  seeds?: { seed: number; dice: number }[];
}

export interface Report {
  generated: string;
  ensemble: { name: string; version: string; members: number; dtype: string };
  data: { dir: string; split: string; images: number; modes: Record<string, number> };
  rows: ReportRow[];
  verdict: {
    ensembleDice: number;
    singleDiceMean: number | null;
    singleDiceSeedStd: number | null;
    margin: number | null;
    beatsSingleByTwoStd: boolean | null;
    target: { dice: number; objectF1: number; met: boolean };
  };
  /** Training time and one member's forward time (absent in reports written before it was recorded). */
  cost?: EnsembleCost;
  figures: string[];
  notes: string[];
}

export function metricRow(a: AggregateScores): MetricRow {
  return {
    dice: a.mean.dice.mean,
    diceStd: a.mean.dice.std,
    iou: a.mean.iou.mean,
    objectF1: a.mean.objectF1?.mean ?? Number.NaN,
    prAuc: a.mean.averagePrecision?.mean ?? Number.NaN,
    pooledDice: a.pooled.dice,
    ...(a.objectErrors ? { errors: a.objectErrors } : {}),
  };
}

function average(rows: MetricRow[]): MetricRow {
  const of = (k: Exclude<keyof MetricRow, 'errors'>) => meanAndStd(rows.map((r) => r[k])).mean;
  const errors = rows.every((r) => r.errors) ? averageErrors(rows.map((r) => r.errors!)) : undefined;
  return {
    ...(errors ? { errors } : {}),
    dice: of('dice'),
    diceStd: meanAndStd(rows.map((r) => r.dice)).std,
    iou: of('iou'),
    objectF1: of('objectF1'),
    prAuc: of('prAuc'),
    pooledDice: of('pooledDice'),
  };
}

function averageErrors(all: ObjectErrors[]): ObjectErrors {
  const sum = sumObjectErrors(all);
  for (const k of Object.keys(sum) as (keyof ObjectErrors)[]) sum[k] /= all.length;
  return sum;
}

export function buildReport(
  results: readonly SystemResult[],
  meta: Pick<Report, 'ensemble' | 'data'> & { figures?: string[]; notes?: string[]; cost?: EnsembleCost },
): Report {
  const rows: ReportRow[] = results.map((r) => ({
    name: r.name,
    group: r.group,
    rule: r.rule,
    tta: r.tta,
    members: r.members,
    overall: metricRow(r.evaluation.overall),
    perMode: Object.fromEntries(Object.entries(r.evaluation.perMode).map(([m, a]) => [m, metricRow(a)])),
  }));
  // Summarise the pooled single U-Net over seeds (mean of per-seed means; std across seeds).
  for (const tta of [false, true]) {
    const singles = results.filter((r) => r.group === 'pooled-single' && r.tta === tta);
    if (singles.length === 0) continue;
    const per = singles.map((r) => metricRow(r.evaluation.overall));
    const modes = Object.keys(singles[0]!.evaluation.perMode);
    rows.push({
      name: `single U-Net, pooled data (mean of ${singles.length} seeds${tta ? ', TTA' : ''})`,
      group: 'pooled-single',
      rule: 'mean',
      tta,
      members: 1,
      overall: average(per),
      perMode: Object.fromEntries(
        modes.map((m) => [m, average(singles.map((r) => metricRow(r.evaluation.perMode[m]!)))]),
      ),
      seeds: singles.map((r, i) => ({ seed: r.seed ?? i, dice: per[i]!.dice })),
    });
  }
  const ensemble = rows.find((r) => r.group === 'mode-fold' && r.rule === 'mean' && !r.tta)!;
  const single = rows.find((r) => r.seeds && !r.tta);
  const seedStd = single ? meanAndStd(single.seeds!.map((s) => s.dice)).std : null;
  const margin = single ? ensemble.overall.dice - single.overall.dice : null;
  return {
    generated: new Date().toISOString(),
    ensemble: meta.ensemble,
    data: meta.data,
    rows,
    verdict: {
      ensembleDice: ensemble.overall.dice,
      singleDiceMean: single?.overall.dice ?? null,
      singleDiceSeedStd: seedStd,
      margin,
      beatsSingleByTwoStd:
        margin !== null && seedStd !== null && Number.isFinite(seedStd) ? margin > 2 * seedStd : null,
      target: {
        dice: 0.9,
        objectF1: 0.85,
        met: ensemble.overall.dice >= 0.9 && ensemble.overall.objectF1 >= 0.85,
      },
    },
    ...(meta.cost ? { cost: meta.cost } : {}),
    figures: meta.figures ?? [],
    notes: meta.notes ?? [],
  };
}

const f4 = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : 'n/a');

/** One line for the terminal: the headline ensemble's scores, where its object errors are, and the baseline. */
export function reportSummary(r: Report): string {
  const row = r.rows.find((x) => x.group === 'mode-fold' && x.rule === 'mean' && !x.tta)!;
  const o = row.overall;
  const e = o.errors;
  const errors = e
    ? ` (of ${e.truth} true objects: ${e.matched} matched, ${e.merged} merged, ${e.split} split, ${e.missed} missed, ${e.misfit} misfit; ${e.spurious} spurious predictions)`
    : '';
  const single = r.verdict.singleDiceMean;
  return `ensemble Dice ${f4(o.dice)}, object F1 ${f4(o.objectF1)}${errors}${single !== null ? `; pooled single U-Net Dice ${f4(single)}` : ''}`;
}

export function reportMarkdown(r: Report): string {
  const lines: string[] = [];
  lines.push(`# Evaluation report: ${r.ensemble.name} ${r.ensemble.version}`, '');
  lines.push(
    `${r.data.images} images of the \`${r.data.split}\` split of \`${r.data.dir}\` (modes: ${Object.entries(
      r.data.modes,
    )
      .map(([m, n]) => `${m} ${n}`)
      .join(
        ', ',
      )}). Scores are means over images (Dice ± std over images); pooled Dice sums pixels over all images. ` +
      'Every system runs through the same tiled segmentation and post-processing as `quorum segment` and the browser.',
    '',
  );
  lines.push(
    '| system | members | Dice | IoU | object F1 @0.5 | PR-AUC | pooled Dice |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const row of r.rows) {
    const o = row.overall;
    lines.push(
      `| ${row.name} | ${row.members} | ${f4(o.dice)} ± ${f4(o.diceStd)} | ${f4(o.iou)} | ${f4(o.objectF1)} | ${f4(o.prAuc)} | ${f4(o.pooledDice)} |`,
    );
  }
  const modes = Object.keys(r.data.modes);
  if (modes.length > 1) {
    lines.push(
      '',
      '## Per mode (Dice / object F1)',
      '',
      `| system | ${modes.join(' | ')} |`,
      `| --- | ${modes.map(() => '---:').join(' | ')} |`,
    );
    for (const row of r.rows) {
      lines.push(
        `| ${row.name} | ${modes.map((m) => (row.perMode[m] ? `${f4(row.perMode[m]!.dice)} / ${f4(row.perMode[m]!.objectF1)}` : 'n/a')).join(' | ')} |`,
      );
    }
  }
  lines.push(...objectErrorLines(r.rows));
  const v = r.verdict;
  lines.push('', '## Verdict', '');
  lines.push(
    `- Mode-fold ensemble (mean rule, no TTA): Dice ${f4(v.ensembleDice)}. Target Dice >= ${v.target.dice} and object F1 >= ${v.target.objectF1}: ${v.target.met ? 'met' : 'not met'}.`,
  );
  if (v.singleDiceMean !== null) {
    lines.push(
      `- Pooled single U-Net: Dice ${f4(v.singleDiceMean)} (seed-to-seed std ${f4(v.singleDiceSeedStd ?? Number.NaN)}). ` +
        `Margin ${f4(v.margin ?? Number.NaN)}: the ensemble ${v.beatsSingleByTwoStd ? 'beats' : 'does not beat'} the single model by more than twice its seed std.`,
    );
  } else
    lines.push(
      '- Baselines were not trained (run `quorum train --baselines`); no comparison with the single U-Net.',
    );
  if (r.cost) lines.push('', '## Cost', '', ...costLines(r.cost));
  if (r.figures.length) lines.push('', '## Figures', '', ...r.figures.map((f) => `![${f}](${f})`));
  if (r.notes.length) lines.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

/** Where each system's object errors are (systems without TTA; reports from before errors were kept have none). */
function objectErrorLines(rows: readonly ReportRow[]): string[] {
  const shown = rows.filter((row) => !row.tta && row.overall.errors);
  if (!shown.length) return [];
  const n = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
  const pct = (v: number, of: number) => (of > 0 ? ` (${Math.round((100 * v) / of)}%)` : '');
  return [
    '',
    '## Object errors (summed over images)',
    '',
    'Every true object is matched (IoU > 0.5) or, in this order: *missed* (under half of it predicted), *merged* ' +
      '(its largest predicted part is also the largest part of another true object), *split* (covered, but no ' +
      'predicted object holds half of it) or a *misfit* (one predicted object holds it, outlines too different). ' +
      'A *spurious* prediction is an unmatched one mostly on background.',
    '',
    '| system | true objects | matched | merged | split | missed | misfit | predicted | spurious |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...shown.map((row) => {
      const e = row.overall.errors!;
      return `| ${row.name} | ${n(e.truth)} | ${n(e.matched)}${pct(e.matched, e.truth)} | ${n(e.merged)}${pct(e.merged, e.truth)} | ${n(e.split)}${pct(e.split, e.truth)} | ${n(e.missed)}${pct(e.missed, e.truth)} | ${n(e.misfit)}${pct(e.misfit, e.truth)} | ${n(e.predicted)} | ${n(e.spurious)}${pct(e.spurious, e.predicted)} |`;
    }),
  ];
}

function costLines(c: EnsembleCost): string[] {
  const t = c.training;
  const lines = [
    `- Training: ${t.members} members, ${(t.wallSeconds / 3600).toFixed(2)} h of wall time summed over members` +
      (t.cpuSeconds !== null
        ? `; ${(t.cpuSeconds / 3600).toFixed(2)} CPU hours over the ${t.membersWithCpu} member(s) that recorded CPU time.`
        : ' (CPU time not recorded by these members).'),
  ];
  if (c.forward512)
    lines.push(
      `- One member on a 512x512 input: ${c.forward512.ms} ms (TF.js ${c.forward512.backend} backend, median of ${c.forward512.runs}, measured while writing this report).`,
    );
  return lines;
}
