/**
 * A small live line chart on a canvas: axis titles, 1-2-5 ticks on both axes, a legend, padded
 * ranges. Hand-drawn (about 100 lines) rather than a charting library: it is redrawn every few
 * training steps and needs nothing else.
 */
export interface Series {
  name: string;
  color: string;
  points: [number, number][];
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

const format = (t: number) => (Math.abs(t) >= 1e4 ? t.toExponential(0) : String(Number(t.toPrecision(4))));

export class LineChart {
  readonly series: Series[] = [];
  /**
   * @param canvas where to draw (its width/height attributes are the drawing size)
   * @param axes the x and y axis titles
   */
  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly axes: { x: string; y: string },
  ) {}

  add(name: string, color: string): Series {
    const s = { name, color, points: [] };
    this.series.push(s);
    return s;
  }

  clear(): void {
    for (const s of this.series) s.points.length = 0;
    this.draw();
  }

  draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const { width, height } = this.canvas;
    const all = this.series.flatMap((s) => s.points);
    this.canvas.dataset.points = String(all.length);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '11px system-ui, sans-serif';
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
    const [x0, x1] = range(xs, [0, 100]);
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
    for (const t of niceTicks(x0, x1, 5).filter((t) => xs.length === 0 || Number.isInteger(t))) {
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

    // Lines, then the legend (top, left to right).
    ctx.lineWidth = 1.5;
    for (const s of this.series) {
      ctx.strokeStyle = s.color;
      ctx.beginPath();
      s.points.forEach(([x, y], i) => (i ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
      ctx.stroke();
    }
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    let lx = m.left;
    for (const s of this.series) {
      ctx.fillStyle = s.color;
      ctx.fillRect(lx, 8, 14, 3);
      ctx.fillStyle = '#333';
      ctx.fillText(s.name, lx + 18, 10);
      lx += 18 + ctx.measureText(s.name).width + 14;
    }
  }
}
