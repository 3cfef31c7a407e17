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

describe('RunningBounds, member by member', () => {
  it('keeps a tile open while one pixel is, and settles a window as soon as its own pixels are', () => {
    // Pixel 0 settles as foreground after member 3; pixel 1 stays open until every member has run.
    const outs = [
      [1, 0.5],
      [1, 0.5],
      [1, 0.5],
      [0, 0.5],
      [0, 0.5],
    ].map((v) => Float32Array.from(v));
    const running = new RunningBounds('mean', normalizeWeights(5), 0.5, 2);
    const seen: boolean[] = [];
    for (const out of outs) {
      running.add(out);
      seen.push(running.decided(0.5, 2, 2, 1));
    }
    expect(seen).toEqual([false, false, false, false, true]);
    // Only pixel 0's window: decided from member 3 on, whatever the witness was.
    const again = new RunningBounds('mean', normalizeWeights(5), 0.5, 2);
    const first: boolean[] = [];
    for (const out of outs) {
      again.add(out);
      again.decided(0.5, 2, 2, 1);
      first.push(again.decided(0.5, 2, 1, 1));
    }
    expect(first).toEqual([false, false, true, true, true]);
  });
});
