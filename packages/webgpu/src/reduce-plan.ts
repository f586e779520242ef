/// <reference types="@webgpu/types" />
/**
 * The reduce plan: sum, max and min over a set of axes (a thread per output for short reductions, a
 * workgroup per output for long ones, blocks of rows past the binding limit), and argmax/argmin over
 * one axis. Separate from the backend because, like the matmul plan, it is a plan over the backend's
 * ops (allocate, copy, free), which it takes as `ReduceOps`, not a contract method.
 */
import { contiguousStrides, isContiguous, isHalf, numel, type ArgReduceOp, type DType, type ReduceOp, type Storage, type View } from '@tsgrad/tensor';
import type { Bindings } from './bindings.js';
import type { Recorder } from './recorder.js';
import { argReduceShader, reduceShader } from './shaders/reduce.js';

/** Reductions of at most this many elements per output run a thread per output (see reduceShader). */
const REDUCE_PER_THREAD_UP_TO = 256;

/** What the plan needs of the backend (passed in, so this module does not import the backend class). */
export interface ReduceOps {
  readonly recorder: Recorder;
  readonly bindings: Bindings;
  /** The buffer a kernel flags an error in (an int32 sum's overflow), checked at the next read. */
  readonly errorFlag: GPUBuffer;
  /** A new contiguous view of `shape`. */
  fresh(dtype: DType, shape: readonly number[]): View;
  free(storage: Storage): void;
  copy(src: View, dst: View): void;
}

export class ReducePlan {
  constructor(private readonly ops: ReduceOps) {}

  /**
   * sum, max or min over `axes`, keeping them as size 1 (the backend's `reduce`). Short reductions run
   * a thread per output, long ones a workgroup per output; past the binding limit, blocks of rows.
   */
  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage {
    const { recorder, bindings } = this.ops;
    const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const nOut = numel(outShape);
    const reduceSize = axes.reduce((p, a) => p * x.shape[a], 1);
    if (reduceSize === 0 && op !== 'sum') throw new Error(`${op}: cannot reduce an empty tensor of shape [${x.shape.join(', ')}] (no identity)`);
    if (nOut > 0 && bindings.span(x) > bindings.limits.maxStorageBufferBindingSize / 4) return this.inBlocks(op, x, axes, outShape);
    // A half input is read in place and reduced in float32 (the caller rounds the result).
    const out = this.ops.fresh(isHalf(x.dtype) ? 'float32' : x.dtype, outShape);
    if (nOut === 0) return out.storage;
    const wx = bindings.window(x);
    const meta = [nOut, reduceSize, ...kept.map((d) => x.shape[d]), ...kept.map((d) => x.strides[d]), ...axes.map((d) => x.shape[d]), ...axes.map((d) => x.strides[d]), wx.offset];
    const buffers = [wx.binding, bindings.whole(out), ...(op === 'sum' && x.dtype === 'int32' ? [this.ops.errorFlag] : [])];
    // Short reductions: a thread per output; long ones: a workgroup per output.
    const perThread = reduceSize <= REDUCE_PER_THREAD_UP_TO;
    recorder.dispatch(op, reduceShader(op, x.dtype, kept.length, axes.length, perThread), buffers, meta, perThread ? recorder.groups(nOut) : recorder.groups(nOut, 1));
    return out.storage;
  }

  /**
   * A reduction whose input is past the binding limit, in blocks of rows of its first dimension:
   * each block is reduced alone; when dim 0 is kept the blocks' results are the output's rows, when it
   * is reduced they are stacked and reduced once more (so an int32 sum still reports overflow).
   */
  private inBlocks(op: ReduceOp, x: View, axes: readonly number[], outShape: number[]): Storage {
    const { bindings } = this.ops;
    if (!isContiguous(x.shape, x.strides)) throw bindings.tooLarge(op, x, 'is a strided view, which cannot be split into bindings');
    const rowElems = numel(x.shape.slice(1));
    const wide = isHalf(x.dtype) ? 'float32' : x.dtype;
    const rows = Math.max(1, Math.floor(bindings.chunkElements() / Math.max(rowElems, 1)));
    if (rowElems > bindings.chunkElements()) throw bindings.tooLarge(op, x, `one row of its first dimension (${rowElems * 4} bytes) is past the limit alone`);
    const blocks: { first: number; count: number; part: View }[] = [];
    for (let first = 0; first < x.shape[0]; first += rows) {
      const count = Math.min(rows, x.shape[0] - first);
      const block: View = { ...x, shape: [count, ...x.shape.slice(1)], offset: x.offset + first * rowElems };
      const shape = axes.includes(0) ? [1, ...outShape.slice(1)] : [count, ...outShape.slice(1)];
      blocks.push({ first, count, part: { storage: this.reduce(op, block, axes), dtype: wide, shape, strides: contiguousStrides(shape), offset: 0 } });
    }
    const restElems = numel(outShape.slice(1));
    const target = this.ops.fresh(wide, axes.includes(0) ? [blocks.length, ...outShape.slice(1)] : outShape);
    blocks.forEach(({ first, part }, k) => {
      const at = (axes.includes(0) ? k : first) * restElems;
      this.ops.copy(part, { ...target, shape: part.shape, strides: contiguousStrides(part.shape), offset: at });
      this.ops.free(part.storage);
    });
    if (!axes.includes(0)) return target.storage;
    const result = this.reduce(op, target, [0]);
    this.ops.free(target.storage);
    return result;
  }

  /** argmax or argmin over one axis, as int32 (the backend's `argReduce`). */
  argReduce(op: ArgReduceOp, x: View, axis: number): Storage {
    const { recorder, bindings } = this.ops;
    const size = x.shape[axis];
    if (size === 0) throw new Error(`${op}: cannot take ${op} of an empty dimension ${axis} of shape [${x.shape.join(', ')}]`);
    const kept = x.shape.map((_, i) => i).filter((i) => i !== axis);
    const out = this.ops.fresh('int32', x.shape.map((d, i) => (i === axis ? 1 : d)));
    const nOut = numel(kept.map((d) => x.shape[d]));
    if (nOut === 0) return out.storage;
    const wx = bindings.window(x);
    const meta = [nOut, size, x.strides[axis], kept.length, ...kept.map((d) => x.shape[d]), ...kept.map((d) => x.strides[d]), wx.offset];
    recorder.dispatch(op, argReduceShader(op, x.dtype, kept.length), [wx.binding, bindings.whole(out)], meta, recorder.groups(nOut));
    return out.storage;
  }
}
