export interface MeanStd {
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); NaN for fewer than two values. */
  std: number;
  n: number;
}

/** Mean and sample std; NaN for what an empty or single-value list cannot define, rather than a fake 0. */
export function meanAndStd(values: ArrayLike<number>): MeanStd {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, n };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  if (n === 1) return { mean, std: Number.NaN, n };
  // Two passes: summing squared deviations from the mean avoids the cancellation of E[x^2] - E[x]^2.
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}
