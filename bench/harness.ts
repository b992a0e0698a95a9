// Shared shape and helpers for `npm run bench`: every benchmark measures itself against a baseline in
// the same run and reports a ratio with its target, so noisy machines compare like with like.
export interface BenchResult {
  name: string;
  /** Human-readable measurement of our code, e.g. "38.2 µs/op". */
  measured: string;
  /** Human-readable measurement of the baseline it is compared with. */
  baseline: string;
  ratio: number;
  /** e.g. "<= 1.5x"; `pass` says whether `ratio` met it. */
  target: string;
  pass: boolean;
  notes?: string;
}

export type Bench = () => Promise<BenchResult[]>;

export function ratioResult(
  name: string,
  ours: number,
  base: number,
  unit: string,
  target: { max?: number; min?: number },
  notes?: string,
): BenchResult {
  const ratio = ours / base;
  const pass = (target.max === undefined || ratio <= target.max) && (target.min === undefined || ratio >= target.min);
  const t = target.max !== undefined ? `<= ${target.max}x` : `>= ${target.min}x`;
  return { name, measured: `${fmt(ours)} ${unit}`, baseline: `${fmt(base)} ${unit}`, ratio, target: t, pass, notes };
}

export function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** Mean time per call in microseconds over `iterations` sequential awaited calls, after a warm-up. */
export async function timePerOp(fn: () => Promise<unknown> | unknown, iterations: number, warmup = Math.min(200, iterations)): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await fn();
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
