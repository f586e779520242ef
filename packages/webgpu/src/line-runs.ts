import { contiguousStrides, numel, type View } from '@tsgrad/tensor';
import type { Bindings } from './bindings.js';
import type { Recorder } from './recorder.js';
import { cumsumShader } from './shaders/scan.js';
import { sortShader } from './shaders/sort.js';

/**
 * The kernels that work along one axis a line at a time, cumsum and sort: both address a line by
 * the same metadata (the shape with the axis collapsed, x's and the contiguous output's strides,
 * then the line's length and both strides along it, and a direction flag).
 */
export class LineRuns {
  constructor(
    private readonly recorder: Recorder,
    private readonly bindings: Bindings,
  ) {}

  /** Prefix sums of `x` along `axis` into `out` (contiguous, x's shape and dtype). */
  cumsum(x: View, axis: number, reverse: boolean, out: View): void {
    const lines = numel(x.shape) / x.shape[axis];
    if (lines === 0 || x.shape[axis] === 0) return;
    const meta = this.meta(lines, x, axis, reverse);
    this.recorder.dispatch('cumsum', cumsumShader(x.dtype, x.shape.length), [this.bindings.whole(x), this.bindings.whole(out)], meta, this.recorder.groups(lines));
  }

  /** The int32 indices sorting `x` along `axis` into `out` (contiguous, x's shape). */
  sort(x: View, axis: number, descending: boolean, out: View): void {
    const n = numel(x.shape);
    if (n === 0) return;
    const meta = this.meta(n, x, axis, descending);
    this.recorder.dispatch('sort', sortShader(x.dtype, x.shape.length), [this.bindings.whole(x), this.bindings.whole(out)], meta, this.recorder.groups(n));
  }

  private meta(count: number, x: View, axis: number, flag: boolean): number[] {
    const outStrides = contiguousStrides(x.shape);
    const lineShape = x.shape.map((d, i) => (i === axis ? 1 : d));
    return [count, ...lineShape, ...x.strides, x.offset, ...outStrides, 0, x.shape[axis], x.strides[axis], outStrides[axis], flag ? 1 : 0];
  }
}
