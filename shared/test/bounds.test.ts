import { describe, expect, it } from 'vitest';
import { normalizeWeights } from '../src/aggregate/statistics';
import { RunningBounds, ruleBounds, ruleCut } from '../src/inference/bounds';

/** A deterministic stream of probabilities with exact 0, 1 and threshold values mixed in (the edge cases). */
function outputs(members: number, pixels: number, seed: number): Float32Array[] {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const special = [0, 1, 0.5, 0.25, 0.75];
  return Array.from({ length: members }, () =>
    Float32Array.from({ length: pixels }, () => (next() < 0.2 ? special[Math.floor(next() * 5)]! : next())),
  );
}

describe('RunningBounds', () => {
  it.each(['mean', 'vote', 'union'] as const)(
    'decides exactly as ruleBounds after every member (%s), with equal and unequal weights',
    (rule) => {
      const w = 9;
      const h = 7;
      for (const raw of [undefined, [1, 2, 3, 0.5, 1, 4, 2]]) {
        const outs = outputs(7, w * h, rule.length + (raw ? 1 : 0));
        const weights = normalizeWeights(7, raw);
        const threshold = 0.5;
        const cut = ruleCut(rule, threshold);
        const running = new RunningBounds(rule, weights, threshold, w * h);
        let decisions = 0;
        for (let ran = 1; ran <= 7; ran++) {
          running.add(outs[ran - 1]!);
          const b = ruleBounds(rule, outs, ran, weights, threshold);
          // Over every sub-window (valid width/height), both kinds of decision agree with the full bounds.
          for (const [vw, vh] of [
            [w, h],
            [4, 3],
            [1, 1],
          ] as const) {
            let open = false;
            let mayBeForeground = false;
            for (let y = 0; y < vh; y++)
              for (let x = 0; x < vw; x++) {
                const i = y * w + x;
                if (!(b.lo[i]! > cut || b.hi[i]! <= cut)) open = true;
                if (!(b.hi[i]! <= cut)) mayBeForeground = true;
              }
            expect(running.decided(cut, w, vw, vh)).toBe(!open);
            expect(running.decided(cut, w, vw, vh, true)).toBe(!mayBeForeground);
            if (!open) decisions++;
          }
        }
        // The comparison covered decided windows, not only open ones.
        expect(decisions).toBeGreaterThan(0);
      }
    },
  );
});
