/// <reference types="@webgpu/types" />
/**
 * The matmul plan: which kernel computes a product (one thread per element for a tiny C, the vec4
 * kernel with a 32×32 or 64×64 tile, or the scalar tiled kernel), when K is split across workgroups
 * for a skinny product, when an operand is first copied into row-major order, and how a product past
 * the binding limit runs as blocks of A's rows. Separate from the backend because it is a plan over
 * the backend's ops (allocate, copy, reduce, free), which it takes as `MatmulOps`, not a contract method.
 * float16 and bfloat16 operands are read in place (packed, see shaders/matmul.ts): the plan picks for
 * them the route, kernel, split and tile the float32 operands of their widened copies would get, so
 * the sums run in the same order and the bits are the same as through copies, without the copies.
 * A rounding view (`roundsOnRead`, float32 read as half) takes the same route, kernel, split and tile
 * as the half cast it stands for (the caller casts it where its float32 binding would not fit), so the
 * product has the cast's bits. `matmulHalf` writes their C in half (packed by the kernel, or narrowed as blocks are copied in);
 * where it cannot, `matmul` computes a float32 C that the backend rounds into half. (Packed operands take half the binding space, so a
 * product whose widened copies would pass the binding limit, which could not run before, fits more often.)
 */
import { isHalf, roundsOnRead, type DType, type HalfDType, type ReduceOp, type Storage, type View } from '@tsgrad/tensor';
import type { Bindings } from './bindings.js';
import { spanOf } from './half-runs.js';
import type { Recorder } from './recorder.js';
import { operandOf, smallMatmulShader, tiledMatmulShader, vec4Matmul64Shader, vec4MatmulShader, type MatmulOut } from './shaders/matmul.js';

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

/** How `v` is bound: a rounding view (`roundsOnRead`) as the float32 storage it views, any other view as it is. */
function bound(v: View): View {
  return roundsOnRead(v) ? { ...v, dtype: 'float32' } : v;
}

/** The dtype a product's sums are stored in: float32 for half operands (rounded into half by a kernel's store, a copy or the caller). */
function productDtype(a: View, b: View): DType {
  return isHalf(a.dtype) || isHalf(b.dtype) ? 'float32' : a.dtype;
}

export class MatmulPlan {
  constructor(private readonly ops: MatmulOps) {}

  /** A (batched) matrix product of two views, any transposition (the backend's `matmul`). */
  matmul(a: View, b: View): Storage {
    if (a.dtype === 'bool') throw new Error('webgpu: matmul is not defined for bool');
    const dtype = productDtype(a, b);
    const route = this.route(a, b);
    const shape = [a.shape[0], a.shape[1], b.shape[2]];
    switch (route.kind) {
      case 'empty':
        // Zeros (K = 0) or empty; `full` allocates it.
        return this.ops.full(shape[0] * shape[1] * shape[2], 0, dtype);
      case 'splitK':
        return this.matmulSplitK(a, b, route.splits);
      case 'direct': {
        const out = this.ops.fresh(dtype, shape);
        this.matmulDispatch(a, b, out);
        return out.storage;
      }
      case 'blocks':
        return this.inBlocks(a, b, route.rows, dtype);
    }
  }

  /**
   * A product of half operands written into a half C of `dtype` on the route `matmul` takes for the
   * same operands, so the same kernel, sums and rounding, the same bits: directly where the kernel
   * stores pairs of neighbouring columns (the tiled and vec4 kernels, N even), else (past the binding
   * limit) float32 blocks of rows narrowed as they are copied into C, which binds only half the bytes
   * of a float32 C. null where neither applies (a tiny C, split-K, odd N, empty): the caller narrows
   * `matmul`'s float32 C.
   */
  matmulHalf(a: View, b: View, dtype: HalfDType): Storage | null {
    const route = this.route(a, b);
    const [B, M, N] = [a.shape[0], a.shape[1], b.shape[2]];
    if (route.kind === 'blocks') return this.inBlocks(a, b, route.rows, dtype);
    if (route.kind !== 'direct' || M * N < 32 * 32 || N % 2 !== 0) return null;
    const out = this.ops.fresh(dtype, [B, M, N]);
    this.matmulDispatch(a, b, out);
    return out.storage;
  }

  /**
   * How a product runs, from its sizes alone (half operands counted as the float32 copies they would
   * widen into, so that both take one route): nothing to compute; K split across a batch of slices
   * (a skinny product); one dispatch with every operand bound whole; or blocks of A's rows, each a
   * dispatch with B whole, past the binding limit.
   */
  private route(a: View, b: View): { kind: 'empty' } | { kind: 'splitK'; splits: number } | { kind: 'direct' } | { kind: 'blocks'; rows: number } {
    const { bindings } = this.ops;
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    if (B * M * N === 0 || K === 0) return { kind: 'empty' };
    const limit = bindings.limits.maxStorageBufferBindingSize / 4;
    const fits = bindings.span(a) <= limit && bindings.span(b) <= limit && B * M * N <= limit;
    const splits = fits ? splitK(B, M, N, K) : 1;
    if (splits > 1 && splits * M * N <= limit) return { kind: 'splitK', splits };
    if (fits) return { kind: 'direct' };
    if (bindings.span(b) > limit) throw bindings.tooLarge('matmul', b, 'is the right operand, which is bound whole');
    let rows = M;
    const align = bindings.alignment / 4;
    const fitsRows = (r: number) => bindings.extent({ ...a, shape: [B, r, K], offset: 0 }) + align <= limit && B * r * N <= bindings.chunkElements();
    while (rows > 1 && !fitsRows(rows)) rows = Math.ceil(rows / 2);
    if (!fitsRows(rows)) throw bindings.tooLarge('matmul', a, 'a single row of it is past the limit');
    return { kind: 'blocks', rows };
  }

  /** C of `dtype` from blocks of `rows` of A's rows (with B whole), each computed into a temporary copied into C's rows. */
  private inBlocks(a: View, b: View, rows: number, dtype: DType): Storage {
    const [B, M] = a.shape;
    const N = b.shape[2];
    const out = this.ops.fresh(dtype, [B, M, N]);
    for (let first = 0; first < M; first += rows) {
      const count = Math.min(rows, M - first);
      const block = this.ops.fresh(productDtype(a, b), [B, count, N]);
      this.matmulDispatch({ ...a, shape: [B, count, a.shape[2]], offset: a.offset + first * a.strides[1] }, b, block);
      this.ops.copy(block, { ...out, shape: [B, count, N], strides: [M * N, N, 1], offset: first * N });
      this.ops.free(block.storage);
    }
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
    // A rounding view (float32 words read as half) is bound as the float32 storage it is.
    const wa = bindings.window(bound(a));
    const wb = bindings.window(bound(b));
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
      recorder.dispatch('matmul', smallMatmulShader(operandOf(a), operandOf(b)), buffers, meta, recorder.groups(B * M * N));
    } else if (vec4 && big) recorder.dispatch('matmul', vec4Matmul64Shader(operandOf(a), operandOf(b), c), buffers, meta, [Math.ceil(N / 64), Math.ceil(M / 64), B]);
    else if (vec4) recorder.dispatch('matmul', vec4MatmulShader(operandOf(a), operandOf(b), c), buffers, meta, tiles);
    else recorder.dispatch('matmul', tiledMatmulShader(operandOf(a), operandOf(b), c), buffers, meta, tiles);
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
