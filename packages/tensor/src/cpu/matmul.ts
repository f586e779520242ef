import type { View } from '../backend.js';
import { allocTyped, type TypedArray } from '../dtype.js';
import { takeArray } from './buffer-pool.js';

/**
 * Batched matmul [B, M, K] x [B, K, N] -> [B, M, N], blocked for cache.
 *
 * Both operands are first packed into contiguous row-major panels (so a transposed or otherwise strided
 * operand costs one O(MK) copy, not O(MNK) strided loads), then multiplied in the i-k-j order, whose
 * innermost loop streams one row of B and one row of C. Blocking K and N keeps the B panel in cache.
 * Products accumulate in an array of the output dtype, so float32 is computed in float32.
 */
const KC = 128; // rows of the B panel kept hot
const NC = 512; // columns of the B panel kept hot

export function matmulKernel(a: View, b: View, data: (v: View) => TypedArray): TypedArray {
  const [B, M, K] = a.shape;
  const N = b.shape[2];
  const dtype = a.dtype;
  const out = takeArray(dtype, B * M * N);
  const da = data(a);
  const db = data(b);
  const pa = allocTyped(dtype, M * K);
  const pb = allocTyped(dtype, K * N);
  for (let batch = 0; batch < B; batch++) {
    pack({ src: da, offset: a.offset + batch * a.strides[0], rows: M, cols: K, rowStride: a.strides[1], colStride: a.strides[2] }, pa);
    pack({ src: db, offset: b.offset + batch * b.strides[0], rows: K, cols: N, rowStride: b.strides[1], colStride: b.strides[2] }, pb);
    gemmPacked(pa, pb, { c: out, offset: batch * M * N, M, N, K });
  }
  return out;
}

/** One batch's operand: a strided rows x cols window of `src`. */
interface Window {
  src: TypedArray;
  offset: number;
  rows: number;
  cols: number;
  rowStride: number;
  colStride: number;
}

/** Copies a strided window into `dst` row-major. */
function pack(w: Window, dst: TypedArray): void {
  const { src, rows, cols, rowStride, colStride } = w;
  let o = 0;
  for (let i = 0; i < rows; i++) {
    let p = w.offset + i * rowStride;
    for (let j = 0; j < cols; j++, p += colStride) dst[o++] = src[p];
  }
}

/** C[offset + i*N + j] += sum_k A[i*K + k] * B[k*N + j] over packed A (M x K) and B (K x N). */
function gemmPacked(a: TypedArray, b: TypedArray, target: { c: TypedArray; offset: number; M: number; N: number; K: number }): void {
  const { c, offset: cOff, M, N, K } = target;
  for (let j0 = 0; j0 < N; j0 += NC) {
    const j1 = Math.min(j0 + NC, N);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const k1 = Math.min(k0 + KC, K);
      for (let i = 0; i < M; i++) {
        const cRow = cOff + i * N;
        const aRow = i * K;
        // Two rows of B per pass halves the loads and stores of the C row.
        let k = k0;
        for (; k + 1 < k1; k += 2) {
          const a0 = a[aRow + k];
          const a1 = a[aRow + k + 1];
          const b0 = k * N;
          const b1 = b0 + N;
          for (let j = j0; j < j1; j++) c[cRow + j] += a0 * b[b0 + j] + a1 * b[b1 + j];
        }
        if (k < k1) {
          const a0 = a[aRow + k];
          const b0 = k * N;
          for (let j = j0; j < j1; j++) c[cRow + j] += a0 * b[b0 + j];
        }
      }
    }
  }
}

