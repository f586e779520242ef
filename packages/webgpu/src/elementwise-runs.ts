/// <reference types="@webgpu/types" />
/**
 * Elementwise runs: one elementwise WGSL kernel over strided views, bound as windows, and split into
 * chunks of output elements when an operand is past the device's binding limit. Every elementwise op
 * of the backend (declared ops' kernels, where, copy, cast) runs through it; separate from the backend because
 * the chunking is a plan over the recorder and the bindings alone, not a contract method.
 */
import { contiguousStrides, isHalf, numel, type View } from '@tsgrad/tensor';
import type { Bindings } from './bindings.js';
import type { Recorder } from './recorder.js';
import { elementwiseMeta } from './shaders/common.js';
import { elementwiseShader } from './shaders/elementwise.js';

export class ElementwiseRuns {
  constructor(
    private readonly recorder: Recorder,
    private readonly bindings: Bindings,
  ) {}

  /**
   * One elementwise kernel over strided views. Past the device's binding limit it runs in chunks of
   * output elements: operands laid out like the output (element = offset + i) are bound a window per
   * chunk, the others (broadcast scalars, biases) whole; a strided operand past the limit is an Error.
   * A half `out` (fresh and contiguous) is written a word, two elements, per invocation.
   */
  run(label: string, expr: string, inputs: View[], out: View, kernel: { names?: string[]; locals?: string } = {}): void {
    const code = elementwiseShader({ expr, inputs: inputs.map((v) => v.dtype), out: out.dtype, rank: out.shape.length, ...kernel });
    const n = numel(out.shape);
    if (n === 0) return;
    const groups = (count: number) => this.recorder.groups(isHalf(out.dtype) ? Math.ceil(count / 2) : count);
    const views = [...inputs, out];
    const limit = this.bindings.limits.maxStorageBufferBindingSize / 4;
    const fits = views.map((v) => this.bindings.span(v) <= limit);
    if (fits.every(Boolean)) {
      const windows = views.map((v) => this.bindings.window(v));
      const meta = elementwiseMeta(n, 0, out.shape, views.map((v, k) => ({ strides: v.strides, offset: windows[k].offset })));
      this.recorder.dispatch(label, code, windows.map((w) => w.binding), meta, groups(n));
      return;
    }
    const linear = contiguousStrides(out.shape);
    views.forEach((v, k) => {
      if (!fits[k] && !v.strides.every((s, d) => s === linear[d] || out.shape[d] === 1)) throw this.bindings.tooLarge(label, v, 'is a strided view, which cannot be split into bindings');
    });
    const chunk = this.bindings.chunkElements();
    for (let first = 0; first < n; first += chunk) {
      const count = Math.min(chunk, n - first);
      const parts = views.map((v, k) => {
        if (fits[k]) {
          const w = this.bindings.window(v);
          return { binding: w.binding, view: { strides: v.strides, offset: w.offset } };
        }
        // The chunk's elements of a linear view: a window from offset + first, count long.
        const w = this.bindings.window({ ...v, shape: [count], strides: [1], offset: v.offset + first });
        return { binding: w.binding, view: { strides: v.strides, offset: w.offset - first } };
      });
      this.recorder.dispatch(label, code, parts.map((p) => p.binding), elementwiseMeta(count, first, out.shape, parts.map((p) => p.view)), groups(count));
    }
  }
}
