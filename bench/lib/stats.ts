// Latency samples and percentiles. Samples are kept whole (a measured phase holds at most a few
// hundred thousand numbers) so percentiles are exact, not histogram buckets.

export interface LatencySummary {
  /** Milliseconds. */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  samples: number;
}

export class LatencyRecorder {
  private values: number[] = [];

  record(ms: number): void {
    this.values.push(ms);
  }

  merge(other: LatencyRecorder): void {
    for (const value of other.values) this.values.push(value);
  }

  get count(): number {
    return this.values.length;
  }

  summary(): LatencySummary {
    const sorted = Float64Array.from(this.values).sort();
    const n = sorted.length;
    if (n === 0) return { p50: 0, p95: 0, p99: 0, max: 0, mean: 0, samples: 0 };
    // Nearest-rank percentile: the smallest sample with at least p% of samples at or below it.
    const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
    let sum = 0;
    for (const value of sorted) sum += value;
    return { p50: round(at(50)), p95: round(at(95)), p99: round(at(99)), max: round(sorted[n - 1]!), mean: round(sum / n), samples: n };
  }
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
