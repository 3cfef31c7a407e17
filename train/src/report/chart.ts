import { encodePng } from '@quorum/shared';
import { drawText, GLYPH_WIDTH } from './font';
import type { ReportRow } from './report';

/**
 * The report's bar chart as an RGB PNG: one group per system (rows without TTA), bars for Dice (blue), object F1
 * (orange) and PR-AUC (grey) on a 0..1 axis, each labelled with its value.
 */
const COLORS: [number, number, number][] = [
  [31, 119, 180],
  [255, 127, 14],
  [127, 127, 127],
];
const METRICS = ['dice', 'objectF1', 'prAuc'] as const;

export function barChart(rows: readonly ReportRow[]): Uint8Array {
  const shown = rows.filter((r) => !r.tta && (r.group !== 'pooled-single' || r.seeds));
  const scale = 2;
  const labelWidth = Math.max(...shown.map((r) => r.name.length)) * GLYPH_WIDTH * scale + 16;
  const plot = 400;
  const rowHeight = 3 * 12 + 14;
  const w = labelWidth + plot + 80;
  const h = 40 + shown.length * rowHeight + 30;
  const rgb = new Uint8Array(w * h * 3).fill(255);
  const rect = (x: number, y: number, rw: number, rh: number, c: [number, number, number]) => {
    for (let yy = y; yy < y + rh; yy++) for (let xx = x; xx < x + rw; xx++) rgb.set(c, (yy * w + xx) * 3);
  };
  drawText(rgb, w, 8, 8, 'DICE', COLORS[0]!, scale);
  drawText(rgb, w, 8 + 6 * GLYPH_WIDTH * scale, 8, 'OBJECT F1', COLORS[1]!, scale);
  drawText(rgb, w, 8 + 17 * GLYPH_WIDTH * scale, 8, 'PR-AUC', COLORS[2]!, scale);
  shown.forEach((row, i) => {
    const y0 = 40 + i * rowHeight;
    drawText(rgb, w, 8, y0 + 14, row.name, [0, 0, 0], scale);
    METRICS.forEach((m, k) => {
      const v = row.overall[m];
      const len = Number.isFinite(v) ? Math.round(Math.max(0, Math.min(1, v)) * plot) : 0;
      rect(labelWidth, y0 + k * 12, Math.max(1, len), 10, COLORS[k]!);
      drawText(
        rgb,
        w,
        labelWidth + len + 4,
        y0 + k * 12,
        Number.isFinite(v) ? v.toFixed(3) : 'N/A',
        [0, 0, 0],
        1,
      );
    });
  });
  // Axis with ticks at 0, 0.5, 1.
  const axisY = h - 24;
  rect(labelWidth, axisY, plot, 1, [0, 0, 0]);
  for (const t of [0, 0.5, 1]) {
    const x = labelWidth + Math.round(t * plot);
    rect(Math.min(x, w - 1), axisY, 1, 5, [0, 0, 0]);
    drawText(rgb, w, x - 4, axisY + 8, String(t), [0, 0, 0], 1);
  }
  return encodePng(rgb, w, h, 3);
}
