// Timing helpers. The machine is shared and noisy: each measurement repeats until a minimum
// time has passed and reports the median, and ratios are taken between measurements made in
// the same run.

export interface Timing {
  /** Median seconds per call. */
  seconds: number;
  runs: number;
}

export interface TimeOptions {
  /** Keep repeating until this much time has been spent (after one warm-up). */
  minSeconds: number;
  maxRuns: number;
  /** Skip the warm-up (for very slow implementations, where one run is enough). */
  noWarmup?: boolean;
}

export function median(values: number[]): number {
  if (values.length === 0) throw new RangeError('Expected at least one value for median but received none');
  const s = [...values].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
}

export function timeSync(fn: () => unknown, o: TimeOptions): Timing {
  if (!o.noWarmup) fn();
  const times: number[] = [];
  const start = performance.now();
  do {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  } while (times.length < o.maxRuns && (performance.now() - start) / 1000 < o.minSeconds);
  return { seconds: median(times), runs: times.length };
}

export async function timeAsync(fn: () => Promise<unknown>, o: TimeOptions): Promise<Timing> {
  if (!o.noWarmup) await fn();
  const times: number[] = [];
  const start = performance.now();
  do {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  } while (times.length < o.maxRuns && (performance.now() - start) / 1000 < o.minSeconds);
  return { seconds: median(times), runs: times.length };
}

/** GB/s (1e9 bytes per second). */
export function gbps(bytes: number, seconds: number): number {
  return bytes / seconds / 1e9;
}
