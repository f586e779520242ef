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
  /** Why the case could not run (value NaN), printed in the row's place: e.g. half tensors on WebGPU before they exist. */
  error?: string;
}

/** A row's value as printed: the number, or the Error's message of a case that could not run. */
export function formatValue(r: BenchRow): string {
  return r.error === undefined ? r.value.toFixed(2) : `error: ${r.error}`;
}

const started = performance.now();
let reported = 0;
const clock = () => {
  const s = Math.round((performance.now() - started) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** Prints the stage about to run: `[3/7 1:42] TF.js cpu and wasm…`, so a long run is never silent. */
export function stage(index: number, count: number, label: string): void {
  console.log(`\n[${index}/${count} ${clock()}] ${label}…`);
}

/**
 * A bench module's result list: each row is printed the moment it is measured (its number, the
 * time since the run started, the row), and the whole table is printed again at the end.
 */
export function benchRows(): BenchRow[] {
  const rows: BenchRow[] = [];
  rows.push = (...items: BenchRow[]) => {
    for (const r of items) console.log(`  #${String(++reported).padStart(3)} ${clock().padStart(5)}  ${r.suite} · ${r.case} · ${r.impl}: ${formatValue(r)}${r.error === undefined ? ` ${r.unit}` : ''}`);
    return Array.prototype.push.apply(rows, items);
  };
  return rows;
}

export function printTable(rows: BenchRow[]): void {
  const widths = [12, 22, 34, 12];
  const line = (cells: string[]) => cells.map((c, i) => (i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  console.log(line(['suite', 'case', 'implementation', 'value']) + '  unit');
  for (const r of rows) console.log(line([r.suite, r.case, r.impl, formatValue(r)]) + `  ${r.unit}`);
}
