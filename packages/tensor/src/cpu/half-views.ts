import type { View } from '../backend.js';
import type { ElementwiseProgram, ProgramItem } from '../program.js';
import type { TypedArray } from '../dtype.js';
import { decodeHalf, encodeHalf, isHalf, roundThroughHalf, roundsOnRead, type HalfDType } from '../half.js';
import { giveArray, takeArray } from './buffer-pool.js';
import { isContiguous, numel, storageSpan } from '../shape.js';
import { CpuStorage } from './storage.js';

/**
 * How the CPU computes with float16 and bfloat16: as PyTorch's CPU kernels do, in float32, rounding
 * each result once. A half view is widened into a float32 copy of the storage span it reads (strides
 * and shape kept, offset rebased, so transposes and broadcasts cost no more than the span), the float32
 * kernel runs on that, and a float32 result is rounded to the half dtype. The float32 kernels stay
 * the only arithmetic (WebAssembly SIMD included); half adds one decode and one encode per element.
 */

/**
 * `v` itself, or when it is half, a float32 view over a widened copy of the span it reads (of a
 * rounding view, the values rounded to its dtype); the copy is pushed on `temps` for the caller to
 * give back to the pool.
 */
export function widenView(v: View, data: (v: View) => TypedArray, temps: Float32Array[]): View {
  if (!isHalf(v.dtype)) return v;
  const { lo, length } = storageSpan(v.shape, v.strides, v.offset);
  const empty = length === 0;
  const wide = takeArray('float32', length, { zero: false });
  // A rounding view (autocast reading the float32 batch as half) rounds as it widens.
  if (length > 0 && roundsOnRead(v)) roundThroughHalf(v.dtype, (data(v) as Float32Array).subarray(lo, lo + length), wide);
  else if (length > 0) decodeHalf(v.dtype, (data(v) as Uint16Array).subarray(lo, lo + length), wide);
  temps.push(wide);
  return { storage: new CpuStorage(wide, 'float32'), dtype: 'float32', shape: v.shape, strides: v.strides, offset: empty ? 0 : v.offset - lo };
}

/**
 * Runs `kernel` on `views` widened to float32 and rounds a float32 result to the half dtype of the
 * first half view (other results, bool or int32, are returned as they are; `round: false` returns a
 * float32 result unrounded too).
 */
export function widened(views: readonly View[], kernel: (views: readonly View[]) => TypedArray, data: (v: View) => TypedArray, round = true): TypedArray {
  const dtype = views.find((v) => isHalf(v.dtype))?.dtype as HalfDType;
  const temps: Float32Array[] = [];
  try {
    const out = kernel(views.map((v) => widenView(v, data, temps)));
    if (!(out instanceof Float32Array) || !round) return out;
    const bits = encodeHalf(dtype, out, takeArray(dtype, out.length, { zero: false }));
    giveArray('float32', out);
    return bits;
  } finally {
    for (const t of temps) giveArray('float32', t);
  }
}

/**
 * A fused program (an optimizer step) over items with half streams, as PyTorch's fused CPU optimizers
 * run on half parameters: every half stream is widened to float32, `run` computes the whole step on
 * those (the float32 renderings, WebAssembly included), and each written half stream is rounded back
 * once. So a half parameter and its half state are rounded once per step, not after every operation.
 * Returns false, as `run` does, when a view is not contiguous (the caller runs it on contiguous copies).
 */
export function runHalfProgram(
  program: ElementwiseProgram,
  items: readonly ProgramItem<View>[],
  run: (wide: readonly ProgramItem<View>[]) => boolean,
  data: (v: View) => TypedArray,
): boolean {
  const streams = (item: ProgramItem<View>) => Object.values(item.streams);
  if (items.some((item) => streams(item).some((v) => !isContiguous(v.shape, v.strides)))) return false;
  const temps: Float32Array[] = [];
  try {
    const wide = items.map((item) => ({ ...item, streams: Object.fromEntries(Object.entries(item.streams).map(([name, v]) => [name, widenView(v, data, temps)])) }));
    if (!run(wide)) return false;
    items.forEach((item, k) => {
      for (const name of program.write) {
        const v = item.streams[name];
        if (!isHalf(v.dtype)) continue;
        const n = numel(v.shape);
        const w = wide[k].streams[name];
        encodeHalf(v.dtype, (data(w) as Float32Array).subarray(w.offset, w.offset + n), (data(v) as Uint16Array).subarray(v.offset, v.offset + n));
      }
    });
    return true;
  } finally {
    for (const t of temps) giveArray('float32', t);
  }
}
