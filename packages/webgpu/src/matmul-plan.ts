/// <reference types="@webgpu/types" />
/**
 * The matmul plan: which kernel computes a product (one thread per element for a tiny C, the vec4
 * kernel with a 32×32 or 64×64 tile, or the scalar tiled kernel), when K is split across workgroups
 * for a skinny product, when an operand is first copied into row-major order, and how a product past
 * the binding limit runs as blocks of A's rows. Separate from the backend because it is a plan over
 * the backend's ops (allocate, copy, reduce, free), which it takes as `MatmulOps`, not a contract method.
 * float16 and bfloat16 operands are read in place (packed, see shaders/matmul.ts) into a float32 C
 * that the backend rounds into half: the plan picks for them the kernel, split and tile the float32
 * operands of their widened copies would get, so the sums run in the same order and the bits are the
 * same as through copies, without the copies. (Packed operands take half the binding space, so a
 * product whose widened copies would pass the binding limit, which could not run before, fits more often.)
 */
import { isHalf, type DType, type HalfDType, type ReduceOp, type Storage, type View } from '@tsgrad/tensor';
import type { Bindings } from './bindings.js';
import { spanOf } from './half-runs.js';
import type { Recorder } from './recorder.js';
import { smallMatmulShader, tiledMatmulShader, vec4Matmul64Shader, vec4MatmulShader, type MatmulOut } from './shaders/matmul.js';

/** Products with at least this many 64×64 tiles of C use the 64×64 kernel (when the tile is 'auto': software adapters). */
const MATMUL_64_FROM_TILES = 64;
/** Split-K aims at this many workgroups for a skinny product, with slices of K at least SPLIT_K_MIN_SLICE long. */
const SPLIT_K_TARGET_TILES = 256;
const SPLIT_K_MIN_SLICE = 256;
/** Multiply-adds from which a matmul copies an operand into row-major order to run the vec4 kernel. */
const MATMUL_COPY_ABOVE = 1 << 22;

/** What the plan needs of the backend (passed in, so this module does not import the backend class). */
export interface MatmulOps {
  readonly recorder: Recorder;
  readonly bindings: Bindings;
  /** The backend's `matmulTile`, read at each product. */
  tile(): 'auto' | 32 | 64;
  /** A new contiguous view of `shape`. */
  fresh(dtype: DType, shape: readonly number[]): View;
  free(storage: Storage): void;
  copy(src: View, dst: View): void;
  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage;
  full(size: number, value: number, dtype: DType): Storage;
}

/** The dtype a product's C is computed in: float32 for half operands (rounded into half by the caller). */
function productDtype(a: View, b: View): DType {
  return isHalf(a.dtype) || isHalf(b.dtype) ? 'float32' : a.dtype;
}

export class MatmulPlan {
  constructor(private readonly ops: MatmulOps) {}

  /** A (batched) matrix product of two views, any transposition (the backend's `matmul`). */
  matmul(a: View, b: View): Storage {
    const { bindings } = this.ops;
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    if (a.dtype === 'bool') throw new Error('webgpu: matmul is not defined for bool');
    // An empty product is zeros (K = 0) or empty; `full` allocates it.
    const dtype = productDtype(a, b);
    if (B * M * N === 0 || K === 0) return this.ops.full(B * M * N, 0, dtype);
    const limit = bindings.limits.maxStorageBufferBindingSize / 4;
    const fits = bindings.span(a) <= limit && bindings.span(b) <= limit && B * M * N <= limit;
    const splits = fits ? splitK(B, M, N, K) : 1;
    if (splits > 1 && splits * M * N <= limit) return this.matmulSplitK(a, b, splits);
    if (fits) {
      const out = this.ops.fresh(dtype, [B, M, N]);
      this.matmulDispatch(a, b, out);
      return out.storage;
    }
    // Past the binding limit: blocks of A's rows (with B whole), each into a temporary copied into
    // the output's rows.
    if (bindings.span(b) > limit) throw bindings.tooLarge('matmul', b, 'is the right operand, which is bound whole');
    let rows = M;
    const align = bindings.alignment / 4;
    const fitsRows = (r: number) => bindings.extent({ ...a, shape: [B, r, K], offset: 0 }) + align <= limit && B * r * N <= bindings.chunkElements();
    while (rows > 1 && !fitsRows(rows)) rows = Math.ceil(rows / 2);
    if (!fitsRows(rows)) throw bindings.tooLarge('matmul', a, 'a single row of it is past the limit');
    const out = this.ops.fresh(dtype, [B, M, N]);
    for (let first = 0; first < M; first += rows) {
      const count = Math.min(rows, M - first);
      const block = this.ops.fresh(dtype, [B, count, N]);
      this.matmulDispatch({ ...a, shape: [B, count, K], offset: a.offset + first * a.strides[1] }, b, block);
      this.ops.copy(block, { ...out, shape: [B, count, N], offset: first * N });
      this.ops.free(block.storage);
    }
    return out.storage;
  }

  /**
   * A product of half operands written straight into a half C of `dtype` (no float32 C, no narrowing
   * pass), where the kernel the float32 route picks stores pairs of neighbouring columns: the tiled
   * and vec4 kernels with N even; the same kernel, sums and rounding, so the same bits. null where it
   * does not (a tiny C, split-K, odd N, past the binding limit): the caller narrows `matmul`'s C.
   */
  matmulHalf(a: View, b: View, dtype: HalfDType): Storage | null {
    const { bindings } = this.ops;
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    if (B * M * N === 0 || K === 0 || M * N < 32 * 32 || N % 2 !== 0) return null;
    const limit = bindings.limits.maxStorageBufferBindingSize / 4;
    if (bindings.span(a) > limit || bindings.span(b) > limit || B * M * N > limit || splitK(B, M, N, K) > 1) return null;
    const out = this.ops.fresh(dtype, [B, M, N]);
    this.matmulDispatch(a, b, out);
    return out.storage;
  }

  /**
   * C = Σ_s A[:, K_s]·B[K_s, :]: the slices of K as a batch of one kernel (A's slice s is a batch
   * entry `s·K/S` elements along its rows, B's `s·K/S` rows down), then one sum over the batch.
   */
  private matmulSplitK(a: View, b: View, splits: number): Storage {
    const [, M, K] = a.shape;
    const N = b.shape[2];
    const slice = K / splits;
    const partial = this.ops.fresh(productDtype(a, b), [splits, M, N]);
    this.matmulDispatch(
      { ...a, shape: [splits, M, slice], strides: [slice * a.strides[2], a.strides[1], a.strides[2]] },
      { ...b, shape: [splits, slice, N], strides: [slice * b.strides[1], b.strides[1], b.strides[2]] },
      partial,
    );
    const sum = this.ops.reduce('sum', partial, [0]);
    this.ops.free(partial.storage);
    return sum;
  }

  /**
   * One matmul kernel: A and B bound from their first element (windows), C whole. A large product
   * whose operand is laid out for the scalar kernel only (a transposed view, a misaligned offset)
   * copies that operand into row-major order first: the copy moves K·M (or K·N) elements, the product
   * does B·M·N·K multiply-adds on the vec4 kernel, several times faster. A half `out` (from
   * `matmulHalf`) is written packed by the tiled and vec4 kernels.
   */
  private matmulDispatch(a: View, b: View, out: View): void {
    const { recorder, bindings } = this.ops;
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    const vec4Ready = (v: View) => v.strides[2] === 1 && v.strides[1] % 4 === 0 && v.strides[0] % 4 === 0 && v.offset % 4 === 0;
    const packed = isHalf(a.dtype) || isHalf(b.dtype);
    if (!packed && a.dtype === 'float32' && K % 4 === 0 && N % 4 === 0 && B * M * N * K >= MATMUL_COPY_ABOVE && !(vec4Ready(a) && vec4Ready(b))) {
      const temps: View[] = [];
      const rowMajor = (v: View): View => {
        if (vec4Ready(v)) return v;
        const [rows, cols] = [v.shape[1], v.shape[2]];
        const shape = [v.strides[0] === 0 ? 1 : v.shape[0], rows, cols];
        const copy = this.ops.fresh(v.dtype, shape);
        this.ops.copy({ ...v, shape }, copy);
        temps.push(copy);
        return { ...copy, shape: v.shape, strides: [v.strides[0] === 0 ? 0 : rows * cols, cols, 1] };
      };
      this.matmulDispatch(rowMajor(a), rowMajor(b), out);
      for (const t of temps) this.ops.free(t.storage);
      return;
    }
    const wa = bindings.window(a);
    const wb = bindings.window(b);
    const meta = [B, M, K, N, ...a.strides, ...b.strides, wa.offset, wb.offset];
    const buffers = [wa.binding, wb.binding, bindings.whole(out)];
    const tiles: [number, number, number] = [Math.ceil(N / 32), Math.ceil(M / 32), B];
    const by4 = (...xs: number[]) => xs.every((x) => x % 4 === 0);
    // Half operands read any layout into the vec4 kernels: they take them exactly where the widened
    // copies (offset rebased to their span) would run them, directly or after the row-major copy.
    const widened = (v: View): View => (isHalf(v.dtype) ? { ...v, offset: v.offset - spanOf(v).lo } : v);
    const vec4 = packed
      ? by4(K, N) && (B * M * N * K >= MATMUL_COPY_ABOVE || (vec4Ready(widened(a)) && vec4Ready(widened(b))))
      : a.dtype === 'float32' && a.strides[2] === 1 && b.strides[2] === 1 && by4(K, N, a.strides[0], a.strides[1], wa.offset, b.strides[0], b.strides[1], wb.offset);
    const tile = this.ops.tile();
    const big = tile === 64 || (tile === 'auto' && B * Math.ceil(M / 64) * Math.ceil(N / 64) >= MATMUL_64_FROM_TILES);
    const c = out.dtype as MatmulOut;
    if (M * N < 32 * 32) {
      if (isHalf(c)) throw new Error('webgpu: internal: the one-thread-per-element matmul writes no half C');
      recorder.dispatch('matmul', smallMatmulShader(a.dtype, b.dtype), buffers, meta, recorder.groups(B * M * N));
    } else if (vec4 && big) recorder.dispatch('matmul', vec4Matmul64Shader(a.dtype, b.dtype, c), buffers, meta, [Math.ceil(N / 64), Math.ceil(M / 64), B]);
    else if (vec4) recorder.dispatch('matmul', vec4MatmulShader(a.dtype, b.dtype, c), buffers, meta, tiles);
    else recorder.dispatch('matmul', tiledMatmulShader(a.dtype, b.dtype, c), buffers, meta, tiles);
  }
}

/**
 * Split-K for skinny products (few 32×32 tiles of C, a long K: a classifier layer, 1024×4096 by
 * 4096×10): how many slices of K give the GPU enough workgroups, 1 when the product has enough
 * already. Slices stay at least SPLIT_K_MIN_SLICE long and a multiple of 4 (vec4 loads).
 */
function splitK(B: number, M: number, N: number, K: number): number {
  const tiles = B * Math.ceil(M / 32) * Math.ceil(N / 32);
  if (B !== 1 || M * N < 32 * 32 || tiles >= SPLIT_K_TARGET_TILES / 2) return 1;
  let splits = 1;
  while (tiles * splits * 2 <= SPLIT_K_TARGET_TILES && K % (splits * 2 * 4) === 0 && K / (splits * 2) >= SPLIT_K_MIN_SLICE) splits *= 2;
  return splits;
}
