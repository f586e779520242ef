import { contiguousStrides } from '../shape.js';

/**
 * Iteration over several strided views of one shape, a row (the innermost dim) at a time.
 * Dims that are laid out back-to-back in every view are merged first, so a contiguous tensor is a
 * single row and the per-element loop in each kernel stays a plain `for` over typed arrays.
 */
export interface StridedLike {
  readonly strides: readonly number[];
  readonly offset: number;
}

export interface RowPlan {
  /** Shape after merging and dropping size-1 dims (at least one dim). */
  readonly shape: number[];
  /** Per view, strides for `shape`. */
  readonly strides: number[][];
  readonly rowLength: number;
  /** Per view, the stride along a row. */
  readonly inner: number[];
}

export function planRows(shape: readonly number[], views: readonly StridedLike[]): RowPlan {
  const dims: number[] = [];
  const strides: number[][] = views.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = dims.length - 1;
    const mergeable =
      last >= 0 && views.every((v, k) => strides[k][last] === v.strides[d] * shape[d]);
    if (mergeable) {
      dims[last] *= shape[d];
      views.forEach((v, k) => (strides[k][last] = v.strides[d]));
    } else {
      dims.push(shape[d]);
      views.forEach((v, k) => strides[k].push(v.strides[d]));
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    strides.forEach((s) => s.push(0));
  }
  const n = dims.length;
  return { shape: dims, strides, rowLength: dims[n - 1], inner: strides.map((s) => s[n - 1]) };
}

/**
 * The plan of `plan`'s rows: its dims but the innermost, so that each of its rows is a block of
 * `plan`'s rows, for kernels that walk the two innermost dims themselves (the WebAssembly ones).
 */
export function outerPlan(plan: RowPlan): RowPlan {
  const n = plan.shape.length;
  if (n === 1) return { shape: [1], strides: plan.strides.map(() => [0]), rowLength: 1, inner: plan.strides.map(() => 0) };
  const strides = plan.strides.map((s) => s.slice(0, -1));
  return { shape: plan.shape.slice(0, -1), strides, rowLength: plan.shape[n - 2], inner: strides.map((s) => s[n - 2]) };
}

/**
 * Calls `row(bases)` once per row, where `bases[k]` is view k's element offset at the row start.
 * `bases` is reused between calls: read it, do not keep it.
 */
export function forEachRow(plan: RowPlan, views: readonly StridedLike[], row: (bases: number[]) => void): void {
  const nOuter = plan.shape.length - 1;
  const bases = views.map((v) => v.offset);
  if (plan.shape.some((d) => d === 0)) return;
  const counter = new Array<number>(nOuter).fill(0);
  for (;;) {
    row(bases);
    // Increment the outer counter like an odometer, adjusting every view's base.
    let d = nOuter - 1;
    for (; d >= 0; d--) {
      counter[d]++;
      for (let k = 0; k < bases.length; k++) bases[k] += plan.strides[k][d];
      if (counter[d] < plan.shape[d]) break;
      for (let k = 0; k < bases.length; k++) bases[k] -= plan.strides[k][d] * plan.shape[d];
      counter[d] = 0;
    }
    if (d < 0) return;
  }
}

/**
 * Calls `line(start, outStart)` once per line along `axis` of `x` (every coordinate but `axis` fixed):
 * `start` is the line's first element in `x`, `outStart` in a contiguous array of x's shape. Scans
 * and sorts walk each line from there with `x.strides[axis]` and the contiguous stride.
 */
export function forEachLine(x: StridedLike & { shape: readonly number[] }, axis: number, line: (start: number, outStart: number) => void): void {
  if (x.shape.some((d) => d === 0)) return;
  const outStrides = contiguousStrides(x.shape);
  const lines = x.shape.map((d, i) => (i === axis ? 1 : d));
  const views = [x, { strides: outStrides, offset: 0 }];
  const plan = planRows(lines, views);
  const len = plan.rowLength;
  const [sx, so] = plan.inner;
  forEachRow(plan, views, (base) => {
    for (let i = 0, px = base[0], po = base[1]; i < len; i++, px += sx, po += so) line(px, po);
  });
}
