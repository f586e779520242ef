/** Median wall time of `fn` over `runs` runs after `warmup` runs, in seconds. */
export function timeMedian(fn: () => void, opts: { runs?: number; warmup?: number; minSeconds?: number } = {}): number {
  const { runs = 5, warmup = 1, minSeconds = 0.2 } = opts;
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < runs || (performance.now() - start) / 1000 < minSeconds) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
    if (times.length >= 50) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export interface BenchRow {
  suite: string;
  case: string;
  impl: string;
  value: number;
  unit: string;
}

export function printTable(rows: BenchRow[]): void {
  const widths = [12, 22, 34, 12];
  const line = (cells: string[]) => cells.map((c, i) => (i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  console.log(line(['suite', 'case', 'implementation', 'value']) + '  unit');
  for (const r of rows) console.log(line([r.suite, r.case, r.impl, r.value.toFixed(2)]) + `  ${r.unit}`);
}
