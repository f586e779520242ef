/// <reference types="@webgpu/types" />
/**
 * How WebGPU computes with float16 and bfloat16: as PyTorch's CPU and tsgrad's CPU do (cpu/half-views.ts),
 * in float32. A half view is widened into a float32 copy of the storage span it reads (strides and
 * shape kept, offset rebased, so transposes and broadcasts cost no more than the span), the float32
 * kernel runs on it, and a float32 result is rounded once into half storage. Moves and selections
 * (copy between one half dtype, where, gather) carry the raw 16 bits instead, so NaN payloads survive
 * moves as on the CPU. (Widening keeps a NaN's sign and payload, as c10 does; the CPU's decode gives
 * JavaScript's one NaN, so a half NaN's float32 bits can differ between the devices: DEVELOPERS.md.)
 * The conversions are shaders/half.ts. Matmul, the elementwise kernels and reductions
 * skip the copies: they read the packed words in place (`halfReads`), computing the same float32 values.
 */
import { isHalf, numel, storageSpan, type DType, type HalfDType, type Storage, type View } from '@tsgrad/tensor';
import type { Bindings } from './bindings.js';
import type { Recorder } from './recorder.js';
import { packHalfShader, widenShader, writeHalfShader, type WidenMode } from './shaders/half.js';
import { bufferOf } from './storage.js';
import type { HalfPath } from './half-path.js';

/** Bytes a half storage of `size` elements takes: two elements per 4-byte word. */
export function halfBytes(size: number): number {
  return Math.ceil(size / 2) * 4;
}

/** The elements `[lo, lo + length)` of storage that a view reaches (a widened copy holds these, from 0). */
export function spanOf(v: View): { lo: number; length: number } {
  return storageSpan(v.shape, v.strides, v.offset);
}

export class HalfRuns {
  constructor(
    private readonly recorder: Recorder,
    private readonly bindings: Bindings,
    private readonly fresh: (dtype: DType, shape: readonly number[]) => View,
    private readonly free: (storage: Storage) => void,
    readonly path: HalfPath,
  ) {}

  /**
   * `v` itself, or when it is half, a view over a new float32 copy of its span (`'bits'`: an int32
   * copy of the raw 16-bit patterns); copies are pushed on `temps` for the caller to free.
   */
  widen(v: View, temps: Storage[], bits = false): View {
    if (!isHalf(v.dtype)) return v;
    const { lo, length } = spanOf(v);
    const wide = this.fresh(bits ? 'int32' : 'float32', [length]);
    temps.push(wide.storage);
    this.widenSpan(v, lo, length, wide.storage, bits);
    return { storage: wide.storage, dtype: wide.dtype, shape: v.shape, strides: v.strides, offset: length > 0 ? v.offset - lo : 0 };
  }

  /**
   * Widens a contiguous half view into `out`, a float32 storage of its size (its cast to float32: the
   * widened span is the result itself, so no copy of it is made).
   */
  widenInto(v: View, out: Storage): void {
    this.widenSpan(v, v.offset, numel(v.shape), out, false);
  }

  /**
   * Records the widening of `length` half elements of `v`'s storage from element `lo` into `out`: a
   * dispatch per chunk of a binding's worth of float32 results (one unless past the binding limit),
   * each reading the packed words from its first one's aligned word.
   */
  private widenSpan(v: View, lo: number, length: number, out: Storage, bits: boolean): void {
    const mode: WidenMode = bits ? 'bits' : (v.dtype as HalfDType);
    if (length === 0) return;
    const align = this.bindings.alignment / 4;
    const chunk = this.bindings.chunkElements();
    for (let first = 0; first < length; first += chunk) {
      const count = Math.min(chunk, length - first);
      const start = Math.floor((lo + first) / 2 / align) * align;
      const src = { buffer: bufferOf(v.storage), offset: start * 4, size: (Math.ceil((lo + first + count) / 2) - start) * 4 };
      const dst = { buffer: bufferOf(out), offset: first * 4, size: count * 4 };
      this.recorder.dispatch('half widen', widenShader(mode, this.path === 'native'), [src, dst], [count, lo + first - 2 * start], this.recorder.groups(count));
    }
  }

  /**
   * Writes `src` (float32 values, or with `bits` the int32 patterns of `widen(.., true)`) into the half
   * view `dst` of the same shape, rounding each value once; only `dst`'s own 16-bit halves change.
   */
  write(src: View, dst: View, bits = false): void {
    const n = numel(dst.shape);
    if (n === 0) return;
    const { lo, length } = spanOf(dst);
    const s = spanOf(src);
    const mode: WidenMode = bits ? 'bits' : (dst.dtype as HalfDType);
    const buffers = [
      { buffer: bufferOf(src.storage), offset: 0, size: (s.lo + s.length) * 4 },
      { buffer: bufferOf(dst.storage), offset: 0, size: Math.ceil((lo + length) / 2) * 4 },
    ];
    const meta = [n, ...dst.shape, ...src.strides, src.offset, ...dst.strides, dst.offset];
    this.recorder.dispatch('half write', writeHalfShader(mode, dst.shape.length), buffers, meta, this.recorder.groups(n));
  }

  /** A new half storage holding `values` (a float32, or with `bits` int32, storage of `shape`, contiguous) rounded; frees `values`. */
  narrow(values: Storage, shape: readonly number[], dtype: HalfDType, bits = false): Storage {
    const out = this.fresh(dtype, shape);
    this.packInto(values, 0, numel(shape), out.storage, bits ? 'bits' : dtype);
    this.free(values);
    return out.storage;
  }

  /**
   * Rounds `n` contiguous 32-bit values of `values` from element `offset` into the half storage `out`
   * from element 0: a dispatch per chunk of a binding's worth of float32 values (one unless past the
   * binding limit), each writing whole words.
   */
  packInto(values: Storage, offset: number, n: number, out: Storage, mode: WidenMode): void {
    const align = this.bindings.alignment / 4;
    // Words per chunk: their float32 values (two a word) within one binding, and a multiple of the
    // alignment so that each chunk's half words start at an aligned offset.
    const perWords = Math.max(align, Math.floor(this.bindings.chunkElements() / 2 / align) * align);
    const words = Math.ceil(n / 2);
    for (let w = 0; w < words; w += perWords) {
      const k = Math.min(perWords, words - w);
      const count = Math.min(2 * k, n - 2 * w);
      const start = Math.floor((offset + 2 * w) / align) * align;
      const src = { buffer: bufferOf(values), offset: start * 4, size: (offset + 2 * w + count - start) * 4 };
      const dst = { buffer: bufferOf(out), offset: w * 4, size: k * 4 };
      this.recorder.dispatch('half narrow', packHalfShader(mode), [src, dst], [count, offset + 2 * w - start], this.recorder.groups(k));
    }
  }

  /**
   * Runs `kernel` on `views` with their half members widened (float32 values, or raw bits for moves),
   * frees the copies, and narrows a float32 (int32 with `bits`) result of `shape` into the first half
   * view's dtype; other results (bool, int32 indices) are returned as they are.
   */
  run(views: readonly View[], shape: readonly number[], kernel: (wide: View[]) => Storage, bits = false): Storage {
    const dtype = views.find((v) => isHalf(v.dtype))!.dtype as HalfDType;
    const temps: Storage[] = [];
    let out: Storage;
    try {
      out = kernel(views.map((v) => this.widen(v, temps, bits)));
    } finally {
      // Freed before the result is narrowed (the kernel that reads them is recorded already, and
      // the pool hands buffers out in recording order): the wide copies and the half result are
      // never live together, which lowers the peak of a step.
      for (const t of temps) this.free(t);
    }
    return out.dtype === (bits ? 'int32' : 'float32') ? this.narrow(out, shape, dtype, bits) : out;
  }
}
