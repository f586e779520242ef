/** A minimal live line chart on a canvas: series of [x, y] points, redrawn on every update. */
export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

export class LineChart {
  readonly series: Series[] = [];
  constructor(private readonly canvas: HTMLCanvasElement) {}

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
    ctx.clearRect(0, 0, width, height);
    const all = this.series.flatMap((s) => s.points);
    this.canvas.dataset.points = String(all.length);
    if (all.length === 0) return;
    const xs = all.map((p) => p[0]);
    const ys = all.map((p) => p[1]);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs) || 1];
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
    const m = 28;
    const sx = (x: number) => m + ((x - x0) / (x1 - x0 || 1)) * (width - m - 8);
    const sy = (y: number) => height - m + -((y - y0) / (y1 - y0)) * (height - m - 8);
    ctx.fillStyle = '#666';
    ctx.font = '10px sans-serif';
    ctx.fillText(y1.toPrecision(3), 2, 12);
    ctx.fillText(y0.toPrecision(3), 2, height - m);
    ctx.fillText(String(x1), width - 30, height - 10);
    this.series.forEach((s, k) => {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      s.points.forEach(([x, y], i) => (i ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
      ctx.stroke();
      ctx.fillStyle = s.color;
      ctx.fillText(s.name, m + 4 + k * 90, 12);
    });
  }
}
