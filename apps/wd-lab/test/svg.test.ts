import { describe, expect, it } from 'vitest';
import { curvesOverlap, lineChart, logTicks, type Series } from '../src/svg.js';

/** The plot frame and every drawn point of an SVG from lineChart. */
function geometry(svg: string) {
  const frame = /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none"/.exec(svg)!.slice(1).map(Number);
  const points = [...svg.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
  return { left: frame[0], top: frame[1], right: frame[0] + frame[2], bottom: frame[1] + frame[3], points, width };
}

const falling = (scale: number, shift = 0): [number, number][] => Array.from({ length: 200 }, (_, i) => [i + 1, 2.3 * Math.exp(-i / 30) * scale + 0.05 + shift]);

describe('wd-lab SVG charts', () => {
  it('pads both axes: no point sits on the frame', () => {
    const g = geometry(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points: falling(1) }] }));
    expect(g.points.length).toBe(200);
    for (const [x, y] of g.points) {
      expect(x).toBeGreaterThan(g.left + 5);
      expect(x).toBeLessThan(g.right - 5);
      expect(y).toBeGreaterThan(g.top + 5);
      expect(y).toBeLessThan(g.bottom - 5);
    }
  });

  it('keeps its width with long series names: the legend wraps into rows under the plot', () => {
    const series: Series[] = ['decay everything (weight decay 5e-3)', 'exclude norm & bias (weight decay 5e-3)', 'no decay at all, for comparison'].map((name, i) => ({ name, points: falling(1, i) }));
    const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series });
    const g = geometry(svg);
    expect(g.width).toBe(640);
    expect(g.right).toBeGreaterThan(600); // the plot takes the width, not the legend
    const legend = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)">([^<]*)<\/text>/g)].filter((m) => series.some((s) => s.name.replace(/&/g, '&amp;') === m[3]));
    expect(legend).toHaveLength(3);
    for (const m of legend) expect(Number(m[2])).toBeGreaterThan(g.bottom);
    expect(new Set(legend.map((m) => m[2])).size).toBeGreaterThan(1); // more than one row
  });

  it("'auto' picks a log axis when the curves overlap on a linear one, linear when they are apart", () => {
    const close: Series[] = [{ name: 'a', points: falling(1) }, { name: 'b', points: falling(1.02) }];
    const apart: Series[] = [{ name: 'a', points: falling(1) }, { name: 'b', points: falling(1, 1) }];
    expect(curvesOverlap(close)).toBe(true);
    expect(curvesOverlap(apart)).toBe(false);
    expect(lineChart({ title: 't', xLabel: 'x', yLabel: 'loss', series: close, yScale: 'auto' })).toContain('loss (log scale)');
    expect(lineChart({ title: 't', xLabel: 'x', yLabel: 'loss', series: apart, yScale: 'auto' })).not.toContain('log scale');
    // On the log axis, the late-training gap between the two close curves is drawn larger.
    const gap = (scale: 'log' | 'linear') => {
      const g = geometry(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: close, yScale: scale }));
      return Math.abs(g.points[199][1] - g.points[399][1]);
    };
    expect(gap('log')).toBeGreaterThan(2 * gap('linear'));
  });

  it('log ticks are 1-2-5 values inside the range (powers of ten over wide ranges); a log axis refuses values <= 0', () => {
    expect(logTicks(0.04, 2.5)).toEqual([0.05, 0.1, 0.2, 0.5, 1, 2]);
    expect(logTicks(1e-4, 3)).toEqual([1e-4, 1e-3, 0.01, 0.1, 1]);
    expect(() => lineChart({ title: 'bad', xLabel: 'x', yLabel: 'y', yScale: 'log', series: [{ name: 'a', points: [[1, 0], [2, 1]] }] })).toThrow(/'bad': a log y axis needs values > 0/);
  });
});
