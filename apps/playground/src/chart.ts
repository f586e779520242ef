/**
 * A small live line chart on a canvas: axis titles, 1-2-5 ticks on both axes, a legend, padded
 * ranges, earlier runs faded and tagged. Hand-drawn rather than a charting library: it is redrawn
 * every few training steps and needs nothing else.
 */
export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  /** An earlier run: drawn faded and dashed, tagged at its end, left out of the legend. */
  faded?: boolean;
  /** The run's tag (A, B, …) drawn at the line's last point. */
  tag?: string;
}

/** About `count` ticks at 1, 2 or 5 × a power of ten over [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(10)));
  return ticks;
}

const FONT = '11px system-ui, -apple-system, "Segoe UI", sans-serif';
const TAG_FONT = '600 11px system-ui, -apple-system, "Segoe UI", sans-serif';

const format = (t: number) => (Math.abs(t) >= 1e4 ? t.toExponential(0) : String(Number(t.toPrecision(4))));

export class LineChart {
  /** What is drawn: set by the page (earlier runs first, so the current run draws on top). */
  series: Series[] = [];
  /**
   * @param canvas where to draw (its width/height attributes are the drawing size)
   * @param axes the x and y axis titles
   */
  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly axes: { x: string; y: string },
  ) {}

  draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const { width, height } = this.canvas;
    const all = this.series.flatMap((s) => s.points);
    this.canvas.dataset.points = String(this.series.filter((s) => !s.faded).reduce((n, s) => n + s.points.length, 0));
    this.canvas.dataset.runs = String(new Set(this.series.filter((s) => s.points.length).map((s) => s.tag ?? '')).size);
    ctx.clearRect(0, 0, width, height);
    ctx.font = FONT;
    if (all.length === 0) {
      // Before data: the frame and a hint, no made-up axes.
      ctx.strokeStyle = '#d5d9e0';
      ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
      ctx.fillStyle = '#6b7280';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(`${this.axes.y} by ${this.axes.x}: press Play or Step`, width / 2, height / 2);
      return;
    }
    const m = { left: 46, right: 10, top: 24, bottom: 34 };
    const pw = width - m.left - m.right;
    const ph = height - m.top - m.bottom;

    // Ranges padded by 5% (a flat series gets ±1), so no point sits on the frame.
    const xs = all.map((p) => p[0]);
    const ys = all.map((p) => p[1]);
    const range = (v: number[], fallback: [number, number]): [number, number] => {
      if (v.length === 0) return fallback;
      const [lo, hi] = [Math.min(...v), Math.max(...v)];
      if (lo === hi) return [lo - 1, hi + 1];
      return [lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)];
    };
    const [x0, x1] = range(xs, [0, 1]);
    const [y0, y1] = range(ys, [0, 1]);
    const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
    const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0)) * ph;

    // Grid, ticks and tick labels.
    ctx.fillStyle = '#555';
    ctx.strokeStyle = '#e6e6e6';
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const t of niceTicks(y0, y1, 4)) {
      ctx.beginPath();
      ctx.moveTo(m.left, sy(t));
      ctx.lineTo(m.left + pw, sy(t));
      ctx.stroke();
      ctx.fillText(format(t), m.left - 4, sy(t));
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const t of niceTicks(x0, x1, 5).filter((t) => Number.isInteger(t))) {
      ctx.fillText(format(t), sx(t), m.top + ph + 4);
    }
    ctx.strokeStyle = '#999';
    ctx.strokeRect(m.left, m.top, pw, ph);

    // Axis titles.
    ctx.fillStyle = '#333';
    ctx.fillText(this.axes.x, m.left + pw / 2, height - 14);
    ctx.save();
    ctx.translate(10, m.top + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'middle';
    ctx.fillText(this.axes.y, 0, 0);
    ctx.restore();

    // Lines (a lone point as a dot), earlier runs faded and tagged, then the legend (top, left to right).
    for (const s of this.series) {
      ctx.save();
      ctx.globalAlpha = s.faded ? 0.45 : 1;
      ctx.setLineDash(s.faded ? [4, 3] : []);
      ctx.strokeStyle = ctx.fillStyle = s.color;
      ctx.lineWidth = s.faded ? 1.25 : 2;
      ctx.beginPath();
      s.points.forEach(([x, y], i) => (i ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
      ctx.stroke();
      for (const [x, y] of s.points.length < 3 ? s.points : []) {
        ctx.beginPath();
        ctx.arc(sx(x), sy(y), 3, 0, 2 * Math.PI);
        ctx.fill();
      }
      const end = s.points[s.points.length - 1];
      if (s.tag && end) {
        ctx.font = TAG_FONT;
        ctx.textAlign = 'right';
        ctx.textBaseline = 'bottom';
        ctx.fillText(s.tag, Math.min(sx(end[0]), m.left + pw - 2) - 3, sy(end[1]) - 2);
      }
      ctx.restore();
    }
    ctx.font = FONT;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    let lx = m.left;
    for (const s of this.series.filter((s) => !s.faded)) {
      ctx.fillStyle = s.color;
      ctx.fillRect(lx, 8, 14, 3);
      ctx.fillStyle = '#333';
      ctx.fillText(s.name, lx + 18, 10);
      lx += 18 + ctx.measureText(s.name).width + 14;
    }
  }
}
