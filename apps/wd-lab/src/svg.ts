/** A dependency-free SVG line chart for the report folder. */
export interface Series {
  name: string;
  points: [number, number][];
}

/**
 * The y axis: `linear`, `log` (base 10; every value must be > 0), or `auto`: log when every value is
 * positive and the curves overlap on a linear axis (see {@link curvesOverlap}), linear otherwise.
 */
export type YScale = 'linear' | 'log' | 'auto';

/** The mean of each value and the up to k − 1 values before it (a trailing moving average, for noisy step losses). */
export function movingAverage(xs: readonly number[], k: number): number[] {
  return xs.map((_, i) => xs.slice(Math.max(0, i - k + 1), i + 1).reduce((a, b) => a + b, 0) / Math.min(k, i + 1));
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/** Ticks at 1, 2 or 5 × a power of ten, about `count` of them over [lo, hi]. */
export function niceTicks(lo: number, hi: number, opts: { count?: number; integer?: boolean } = {}): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / (opts.count ?? 5);
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  if (opts.integer) step = Math.max(1, Math.round(step));
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Ticks of a log axis over [lo, hi] (> 0): the powers of ten, with 2× and 5× between them when the range spans under two decades. */
export function logTicks(lo: number, hi: number): number[] {
  const decades = Math.log10(hi / lo);
  const mantissas = decades < 2 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of mantissas) {
      const t = Number((m * 10 ** e).toPrecision(12));
      if (t >= lo && t <= hi) ticks.push(t);
    }
  }
  // A narrow range may hold no 1-2-5 value: fall back to linear ticks.
  return ticks.length >= 2 ? ticks : niceTicks(lo, hi, { count: 4 });
}

/**
 * True when, over the later half of the x range, the series lie within 3% of the y range of each
 * other on average: on a linear axis they would be drawn on top of one another.
 */
export function curvesOverlap(series: Series[]): boolean {
  const valid = series.map((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))).filter((p) => p.length > 0);
  if (valid.length < 2) return false;
  const ys = valid.flat().map(([, y]) => y);
  const range = Math.max(...ys) - Math.min(...ys);
  if (!(range > 0)) return true;
  const xs = valid.flat().map(([x]) => x);
  const mid = (Math.min(...xs) + Math.max(...xs)) / 2;
  const late = valid.map((p) => p.filter(([x]) => x >= mid).map(([, y]) => y));
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const means = late.filter((v) => v.length > 0).map(mean);
  return Math.max(...means) - Math.min(...means) < 0.03 * range;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const label = (t: number) => (Math.abs(t) >= 1e4 || (t !== 0 && Math.abs(t) < 1e-3) ? t.toExponential(0) : String(t));

/**
 * An SVG line chart: title, axis titles, ticks, a padded plot area (no point sits on the frame) and a
 * legend in rows under the plot (the chart keeps its width however long the names).
 */
export function lineChart(opts: { title: string; xLabel: string; yLabel: string; series: Series[]; width?: number; height?: number; yScale?: YScale }): string {
  const { title, xLabel, series, width = 640 } = opts;
  const valid = (p: [number, number]) => Number.isFinite(p[0]) && Number.isFinite(p[1]);
  const all = series.flatMap((s) => s.points).filter(valid);
  const scale = opts.yScale ?? 'linear';
  const log = scale === 'log' || (scale === 'auto' && all.every(([, y]) => y > 0) && curvesOverlap(series));
  if (log && all.some(([, y]) => y <= 0)) throw new Error(`lineChart '${title}': a log y axis needs values > 0`);
  const fy = log ? Math.log10 : (y: number) => y;

  // Legend rows under the plot: as many entries per row as fit the width.
  const entryWidth = (s: Series) => 34 + 7 * s.name.length;
  const rows: Series[][] = [[]];
  let used = 0;
  for (const s of series) {
    if (rows[rows.length - 1].length > 0 && used + entryWidth(s) > width - 80) {
      rows.push([]);
      used = 0;
    }
    rows[rows.length - 1].push(s);
    used += entryWidth(s);
  }
  const height = (opts.height ?? 360) + 18 * (rows.length - 1);
  const m = { left: 70, right: 20, top: 36, bottom: 62 + 18 * rows.length };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;

  // 4% padding on both axes, in the axis's own space (log space for a log axis).
  const pad = (lo: number, hi: number): [number, number] => {
    if (!(hi > lo)) return [lo - 1, hi + 1];
    const d = (hi - lo) * 0.04;
    return [lo - d, hi + d];
  };
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => fy(y));
  const [x0, x1] = pad(Math.min(...xs), Math.max(...xs));
  const [y0, y1] = pad(Math.min(...ys), Math.max(...ys));
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - ((fy(y) - y0) / (y1 - y0)) * ph;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${m.left + pw / 2}" y="20" text-anchor="middle" font-size="15">${escape(title)}</text>`,
  ];
  const yTicks = log ? logTicks(10 ** y0, 10 ** y1) : niceTicks(y0, y1);
  for (const t of yTicks) {
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${label(t)}</text>`);
  }
  const integer = xs.every(Number.isInteger);
  for (const t of niceTicks(x0, x1, { integer })) {
    parts.push(`<line x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${m.top + ph}" y2="${m.top + ph + 4}" stroke="#333"/>`);
    parts.push(`<text x="${sx(t).toFixed(1)}" y="${m.top + ph + 17}" text-anchor="middle">${label(t)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${m.top + ph + 36}" text-anchor="middle">${escape(xLabel)}</text>`);
  const yLabel = log ? `${opts.yLabel} (log scale)` : opts.yLabel;
  parts.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter(valid);
    const d = pts.map(([x, y], k) => `${k ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
    // Markers on short series (per-epoch curves), so a single point is visible too.
    if (pts.length <= 30) for (const [x, y] of pts) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${color}"/>`);
  });
  rows.forEach((row, r) => {
    let x = m.left;
    const y = m.top + ph + 56 + 18 * r;
    for (const s of row) {
      const color = COLORS[series.indexOf(s) % COLORS.length];
      parts.push(`<line x1="${x}" x2="${x + 20}" y1="${y - 4}" y2="${y - 4}" stroke="${color}" stroke-width="3"/>`);
      parts.push(`<text x="${x + 26}" y="${y}">${escape(s.name)}</text>`);
      x += entryWidth(s);
    }
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
