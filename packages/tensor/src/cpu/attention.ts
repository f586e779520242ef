import type { AttentionInputs, AttentionOptions, AttentionSaved, View } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { takeArray } from './buffer-pool.js';

/**
 * The fused attention's reference kernels, in float64 loops over one score row at a time (rounded
 * once, at the store): what the WebAssembly kernels (assembly/attention.ts) are tested against, and
 * their fallback when those cannot run a call (WebAssembly switched off between a forward and its
 * backward, or its memory full). The special values of the Backend contract: a row with no finite
 * score gives zeros and logsumexp −∞; a NaN or +∞ score makes the row NaN.
 */

/** Element [b, h, r, c] of a 4-D view. */
function reader(v: View, data: (v: View) => TypedArray): (b: number, h: number, r: number, c: number) => number {
  const d = data(v);
  const [sb, sh, sr, sc] = v.strides;
  return (b, h, r, c) => d[v.offset + b * sb + h * sh + r * sr + c * sc];
}

/** The masked, scaled scores of query row i of batch b, head h against keys 0..S−1, into `s`. */
function scoreRow(s: Float64Array, at: Readers, [b, h, i]: number[], { scale, isCausal }: AttentionOptions, [E, S]: number[]): void {
  for (let j = 0; j < S; j++) {
    if (isCausal && j > i) {
      s[j] = -Infinity;
      continue;
    }
    let dot = 0;
    for (let e = 0; e < E; e++) dot += at.q(b, h, i, e) * at.k(b, h, j, e);
    s[j] = dot * scale + (at.mask ? at.mask(b, h, i, j) : 0);
  }
}

interface Readers {
  q: ReturnType<typeof reader>;
  k: ReturnType<typeof reader>;
  v: ReturnType<typeof reader>;
  mask: ReturnType<typeof reader> | null;
}

function readers({ query, key, value, mask }: AttentionInputs, data: (v: View) => TypedArray): Readers {
  return { q: reader(query, data), k: reader(key, data), v: reader(value, data), mask: mask ? reader(mask, data) : null };
}

/**
 * softmax(q·kᵀ·scale + mask)·v and each row's logsumexp, as the Backend's `attention` (float32 or
 * float64 results, of the query's dtype).
 * @example
 * const { output, logsumexp } = attentionKernel({ query, key, value, mask: null }, { scale: 0.25, isCausal: true }, dataOf);
 */
export function attentionKernel(inputs: AttentionInputs, opts: AttentionOptions, data: (v: View) => TypedArray): { output: TypedArray; logsumexp: TypedArray } {
  const [B, H, L, E] = inputs.query.shape;
  const [S, Ev] = inputs.value.shape.slice(2);
  const dtype = inputs.query.dtype;
  const output = takeArray(dtype, B * H * L * Ev);
  const logsumexp = takeArray(dtype, B * H * L);
  const at = readers(inputs, data);
  const s = new Float64Array(S);
  for (let b = 0, row = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < L; i++, row++) {
        scoreRow(s, at, [b, h, i], opts, [E, S]);
        const m = s.reduce((a, x) => (Number.isNaN(a) || Number.isNaN(x) ? NaN : Math.max(a, x)), -Infinity);
        if (Number.isNaN(m) || m === Infinity || m === -Infinity) {
          logsumexp[row] = m === -Infinity ? -Infinity : NaN;
          output.fill(m === -Infinity ? 0 : NaN, row * Ev, (row + 1) * Ev);
          continue;
        }
        let l = 0;
        for (let j = 0; j < S; j++) l += s[j] = Math.exp(s[j] - m);
        for (let c = 0; c < Ev; c++) {
          let acc = 0;
          for (let j = 0; j < S; j++) acc += s[j] * at.v(b, h, j, c);
          output[row * Ev + c] = acc / l;
        }
        logsumexp[row] = m + Math.log(l);
      }
    }
  }
  return { output, logsumexp };
}

/**
 * dq, dk, dv of `attentionKernel`, as the Backend's `attentionBackward`: the weights recomputed from
 * the logsumexp, D = rowsum(dO ∘ O), dS = p ∘ (dO·vᵀ − D); dq = dS·k·scale, dk = dSᵀ·q·scale, dv = pᵀ·dO.
 * @example
 * const { query: dq } = attentionBackwardKernel(inputs, { output, logsumexp, gradOutput }, opts, dataOf);
 */
export function attentionBackwardKernel(inputs: AttentionInputs, saved: AttentionSaved, opts: AttentionOptions, data: (v: View) => TypedArray): { query: TypedArray; key: TypedArray; value: TypedArray } {
  const [B, H, L, E] = inputs.query.shape;
  const [S, Ev] = inputs.value.shape.slice(2);
  const at = readers(inputs, data);
  const [o, lse, dO] = [reader(saved.output, data), saved.logsumexp, reader(saved.gradOutput, data)];
  const lseAt = (b: number, h: number, i: number) => data(lse)[lse.offset + b * lse.strides[0] + h * lse.strides[1] + i * lse.strides[2]];
  const [dq, dk, dv] = [new Float64Array(B * H * L * E), new Float64Array(B * H * S * E), new Float64Array(B * H * S * Ev)];
  const s = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let i = 0; i < L; i++) {
        const m = lseAt(b, h, i);
        // A fully masked row is _safe_softmax's zeros: no gradient.
        if (m === -Infinity) continue;
        scoreRow(s, at, [b, h, i], opts, [E, S]);
        let D = 0;
        for (let c = 0; c < Ev; c++) D += dO(b, h, i, c) * o(b, h, i, c);
        // Keys past a causal row take no part (the composed path's `where` passes them no gradient).
        for (let j = 0; j < (opts.isCausal ? Math.min(S, i + 1) : S); j++) {
          const p = Math.exp(s[j] - m);
          let dp = 0;
          for (let c = 0; c < Ev; c++) {
            const g = dO(b, h, i, c);
            dv[(bh * S + j) * Ev + c] += p * g;
            dp += g * at.v(b, h, j, c);
          }
          const ds = p * (dp - D) * opts.scale;
          for (let e = 0; e < E; e++) {
            dq[(bh * L + i) * E + e] += ds * at.k(b, h, j, e);
            dk[(bh * S + j) * E + e] += ds * at.q(b, h, i, e);
          }
        }
      }
    }
  }
  const round = (x: Float64Array) => {
    const out = takeArray(inputs.query.dtype, x.length, { zero: false });
    out.set(x);
    return out;
  };
  return { query: round(dq), key: round(dk), value: round(dv) };
}
