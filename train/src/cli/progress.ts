import type { EpochReport } from '../training/member';

/**
 * Training progress: a self-rewriting bar on a TTY, one plain line per finished epoch otherwise (logs, SLURM).
 */
export function trainingProgress(stream: NodeJS.WriteStream = process.stderr): (r: EpochReport) => void {
  const tty = stream.isTTY === true;
  return (r) => {
    const done = r.step === r.steps && r.validationDice !== null;
    const stepsLeft = (r.epochs - r.epoch) * r.steps + (r.steps - r.step);
    const eta = stepsLeft * r.secondsPerStep;
    const etaText = eta > 90 ? `${Math.round(eta / 60)} min` : `${Math.round(eta)} s`;
    const val = r.validationDice !== null ? ` val Dice ${r.validationDice.toFixed(4)}` : '';
    const best = r.bestDice !== null ? ` best ${r.bestDice.toFixed(4)}` : '';
    const text = `${r.member} epoch ${r.epoch}/${r.epochs} step ${r.step}/${r.steps} loss ${r.loss.toFixed(4)}${val}${best} ETA <= ${etaText}`;
    if (tty) {
      const width = 20;
      const filled = Math.round((r.step / r.steps) * width);
      stream.write(
        `\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}${done ? '\n' : ''}`,
      );
    } else if (done) {
      stream.write(`${text}\n`);
    }
  };
}
