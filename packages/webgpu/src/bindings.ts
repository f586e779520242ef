/// <reference types="@webgpu/types" />
/**
 * How a strided view becomes a buffer binding within the device's limits: the elements it reaches,
 * its window from an aligned offset, the chunk size when an operand must be split, and the Error for
 * one that cannot be. Every kernel plan (elementwise, reduce, matmul, programs) binds views this way,
 * so the arithmetic lives once, apart from any of them.
 */
import { isHalf, numel, type View } from '@tsgrad/tensor';
import { bufferOf } from './storage.js';

import type { DeviceLimits } from './device-limits.js';

// In its own file so that the public declarations reach it without this file's WebGPU types.
export type { DeviceLimits } from './device-limits.js';

export class Bindings {
  /**
   * `limits`: what the backend checks against (the device's, or lower ones); `alignment`: the
   * device's minStorageBufferOffsetAlignment in bytes (a binding's offset is a multiple of it).
   */
  constructor(
    readonly limits: DeviceLimits,
    readonly alignment: number,
  ) {}

  /** Elements from the start of a view's storage to its last element, inclusive (1 for an empty view). */
  extent(v: { shape: readonly number[]; strides: readonly number[]; offset: number }): number {
    if (numel(v.shape) === 0) return 1;
    return v.offset + v.shape.reduce((e, d, i) => e + (d - 1) * v.strides[i], 0) + 1;
  }

  /**
   * 4-byte words of a view's window (see `window`): what its binding must hold. A float16 or bfloat16
   * view (packed two elements to a word, read in place by kernels that take half operands) counts words.
   */
  span(v: View): number {
    return this.words(v, this.extent(v)) - this.start(v);
  }

  /** A view's binding: its buffer up to its last element (not the pooled buffer's whole size class). */
  whole(v: View): GPUBufferBinding {
    return { buffer: bufferOf(v.storage), offset: 0, size: this.words(v, this.extent(v)) * 4 };
  }

  /**
   * The binding of only the elements a view reaches, from its first one's word rounded down to the
   * binding alignment, and the view's offset (in elements) inside that window.
   */
  window(v: View): { binding: GPUBufferBinding; offset: number } {
    const start = this.start(v);
    const perWord = isHalf(v.dtype) ? 2 : 1;
    return { binding: { buffer: bufferOf(v.storage), offset: start * 4, size: (this.words(v, this.extent(v)) - start) * 4 }, offset: v.offset - start * perWord };
  }

  /** The word a view's window starts at: its first element's, rounded down to the binding alignment. */
  private start(v: View): number {
    const align = this.alignment / 4;
    return Math.floor((isHalf(v.dtype) ? v.offset >> 1 : v.offset) / align) * align;
  }

  /** Words holding a view's first `elements` elements (two half elements to a word). */
  private words(v: View, elements: number): number {
    return isHalf(v.dtype) ? Math.ceil(elements / 2) : elements;
  }

  /** A view's elements as a binding (its own buffer, from its offset). */
  elements(v: View, n: number): GPUBufferBinding {
    return { buffer: bufferOf(v.storage), offset: v.offset * 4, size: n * 4 };
  }

  /** Elements per chunk when an operand is split: a binding's worth, less the alignment slack. */
  chunkElements(): number {
    const align = this.alignment / 4;
    const elements = Math.floor((this.limits.maxStorageBufferBindingSize / 4 - align) / align) * align;
    // WebGPU's minimums never come here; a lowered test limit could, and splitting would never end.
    if (elements <= 0) throw new Error(`webgpu: a maxStorageBufferBindingSize of ${this.limits.maxStorageBufferBindingSize} bytes leaves no room for a chunk past the ${this.alignment}-byte binding alignment`);
    return elements;
  }

  /** The limit error for an operand that cannot be split into bindings. */
  tooLarge(op: string, v: Pick<View, 'dtype' | 'shape'>, why: string): Error {
    const bytes = numel(v.shape) * (isHalf(v.dtype) ? 2 : 4);
    return new Error(
      `${op}: a ${v.dtype} operand of shape [${v.shape.join(', ')}] (${bytes} bytes) exceeds this device's maxStorageBufferBindingSize ` +
        `(${this.limits.maxStorageBufferBindingSize} bytes) and ${why}; split it into smaller tensors or compute this op on the CPU`,
    );
  }
}
