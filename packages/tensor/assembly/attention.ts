// Fused scaled dot-product attention for one (batch, head), float32: softmax(q·kᵀ·scale + mask)·v
// and its gradients, the CPU's form of the Backend's `attention`/`attentionBackward` (the WebGPU
// kernels' semantics, packages/webgpu/src/shaders/attention.ts).
//
// Queries go in blocks of RB rows; a block's scores against the keys it may see (causal: up to its
// last row) are one RB x S tile in scratch memory, so the [L, S] scores never exist whole. Every
// product (q·kᵀ, p·v, and in the backward dO·vᵀ, dS·k, dSᵀ·q, pᵀ·dO) runs on matmul.ts's packed GEMM,
// whose packing reads any strides (a transposed or broadcast view costs what a dense one does);
// between the products, the softmax (or the backward's dS = p ∘ (dO·vᵀ − D)) is one SIMD sweep over
// each row of the tile, while it is in cache. On a CPU the whole row of a block fits in cache, so the
// softmax is exact two-pass (max, then exp and sum) rather than FlashAttention's online rescaling.
//
// Special values as the composed path (matmul, softmax, matmul): a −∞ score takes no part, a row
// with no finite score gives zeros and logsumexp −∞ (PyTorch ≥ 2.5's `_safe_softmax`), a NaN or +∞
// score makes the row NaN (its logsumexp too).
//
// Operands are described by a table of views in memory, three i32 each: the byte address of the
// (batch, head)'s element [0, 0], then the row and column strides in elements (any sign; 0
// broadcasts). Their order: VIEW_Q, VIEW_K, VIEW_V, VIEW_MASK (address 0: no mask), VIEW_DOUT,
// VIEW_OUT (the forward's output; the backward reads these two), mirrored in src/cpu/wasm/attention.ts.
import { MR, NR, packA, packB, gemmPacked, unpadRows } from './matmul';
import { expv, logv } from './transcendental';

const VIEW_Q = 0, VIEW_K = 1, VIEW_V = 2, VIEW_MASK = 3, VIEW_DOUT = 4, VIEW_OUT = 5;

/** Query rows per block: the scores tile is RB x S floats (S = 1024: 256 KiB, in L2). A multiple of MR. */
const RB: i32 = 64;

@inline
function base(views: usize, v: i32): usize {
  return <usize>load<i32>(views + <usize>(v * 12));
}
@inline
function rowStride(views: usize, v: i32): i32 {
  return load<i32>(views + <usize>(v * 12), 4);
}
@inline
function colStride(views: usize, v: i32): i32 {
  return load<i32>(views + <usize>(v * 12), 8);
}
/** Byte address of row `r` of view `v`. */
@inline
function rowAt(views: usize, v: i32, r: i32): usize {
  return base(views, v) + <usize>(r * rowStride(views, v)) * 4;
}

/** n rounded up to whole NR-wide column panels: the row stride of a GEMM result with n columns. */
@inline
function padN(n: i32): i32 {
  return ((n + NR - 1) / NR) * NR;
}
@inline
function panels(rows: i32): i32 {
  return (rows + MR - 1) / MR;
}

/** Bytes of scratch `attentionForward` (backward false) or `attentionBackward` (true) needs. */
export function attentionScratchBytes(S: i32, E: i32, Ev: i32, backward: bool): i32 {
  const W = max(E, Ev);
  const tile = RB * padN(S) * 4;
  const packed = max(E, Ev) * padN(S) * 4 + S * padN(W) * 4;
  // A packed left operand: RB rows of up to max(W, S) columns, or S (MR-padded) rows of RB.
  const left = max(RB * max(W, S), panels(S) * MR * RB) * 4;
  const right = max(RB, S) * padN(W) * 4;
  const result = max(RB, panels(S) * MR) * padN(W) * 4;
  return (backward ? 2 * tile + 2 * packed : tile + packed) + left + right + result + 64 * 6;
}

/** Carves 16-byte aligned regions off a scratch pointer. */
@inline
function carve(at: usize, bytes: i32): usize {
  return (at + <usize>bytes + 15) & ~(<usize>15);
}

@inline
function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}
@inline
function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * Mask values of columns j..j+3 of a mask row (column stride mc), zeros without a mask. Columns at
 * or past `live` read as 0 (the caller masks those lanes out): a strided row must not be read past
 * its end.
 */
@inline
function maskAt(row: usize, j: i32, mc: i32, live: i32): v128 {
  if (row == 0) return f32x4.splat(0);
  if (mc == 1 && j + 4 <= live) return v128.load(row + <usize>j * 4);
  const at = row + <usize>(j * mc) * 4;
  const step = <usize>mc * 4;
  if (j + 4 <= live) return f32x4(load<f32>(at), load<f32>(at + step), load<f32>(at + 2 * step), load<f32>(at + 3 * step));
  let v = f32x4.splat(0);
  if (j < live) v = f32x4.replace_lane(v, 0, load<f32>(at));
  if (j + 1 < live) v = f32x4.replace_lane(v, 1, load<f32>(at + step));
  if (j + 2 < live) v = f32x4.replace_lane(v, 2, load<f32>(at + 2 * step));
  return v;
}

/** Lanes j..j+3 below `limit` (all ones), the rest zero. */
@inline
function below(j: i32, limit: i32): v128 {
  return i32x4.lt_s(i32x4.add(i32x4.splat(j), i32x4(0, 1, 2, 3)), i32x4.splat(limit));
}

/**
 * One row of a scores tile in place: the n products q·k become the softmax weights, the keys at or
 * past `live` (causal, or padding) weigh 0. Returns the row's logsumexp (−∞: no finite score, the
 * row is zeros; NaN: a NaN or +∞ score, the row is NaN).
 */
function softmaxRow(row: usize, n: i32, live: i32, scale: f32, mask: usize, mc: i32): f32 {
  const end = (live + 3) & ~3;
  const minusInf = f32x4.splat(-Infinity);
  let vmax = minusInf;
  // Past the last vector with a score above -inf (a causal or padding mask's masked keys), every
  // weight is 0 (once the row's max is finite): stored as such below, without their exp.
  let liveEnd = 0;
  for (let j = 0; j < end; j += 4) {
    const p = row + <usize>j * 4;
    let s = f32x4.add(f32x4.mul(v128.load(p), f32x4.splat(scale)), maskAt(mask, j, mc, live));
    if (j + 4 > live) s = v128.bitselect(s, minusInf, below(j, live));
    v128.store(p, s);
    // wasm's max propagates NaN: one NaN score makes vmax NaN.
    vmax = f32x4.max(vmax, s);
    if (v128.any_true(f32x4.ne(s, minusInf))) liveEnd = j + 4;
  }
  const m = hmax(vmax);
  if (isNaN(m) || m == Infinity) {
    fillRow(row, n, <f32>NaN);
    return <f32>NaN;
  }
  if (m == -Infinity) {
    fillRow(row, n, 0);
    return -Infinity;
  }
  // The last vector is peeled off the loop: with exp in two places V8 keeps its constants out of
  // the loop (in one loop it rebuilt most of them on every iteration, three instructions each).
  // (m finite: some score is, so liveEnd >= 4.)
  const last = liveEnd - 4;
  let vsum = f32x4.splat(0);
  for (let j = 0; j < last; j += 4) {
    const p = row + <usize>j * 4;
    const e = expv(f32x4.sub(v128.load(p), f32x4.splat(m)));
    v128.store(p, e);
    vsum = f32x4.add(vsum, e);
  }
  const pl = row + <usize>last * 4;
  const el = expv(f32x4.sub(v128.load(pl), f32x4.splat(m)));
  v128.store(pl, el);
  vsum = f32x4.add(vsum, el);
  const l = hsum(vsum);
  const inv = f32x4.splat(1 / l);
  for (let j = 0; j < liveEnd; j += 4) v128.store(row + <usize>j * 4, f32x4.mul(v128.load(row + <usize>j * 4), inv));
  if (liveEnd < n) memory.fill(row + <usize>liveEnd * 4, 0, <usize>(n - liveEnd) * 4);
  return m + f32x4.extract_lane(logv(f32x4.splat(l)), 0);
}

function fillRow(row: usize, n: i32, value: f32): void {
  for (let j = 0; j < n; j++) store<f32>(row + <usize>j * 4, value);
}

/**
 * Forward for one (batch, head): out (contiguous [L, Ev]) = softmax(q·kᵀ·scale + mask)·v and lse
 * ([L]) = each row's logsumexp of the masked scores. q [L, E], k [S, E], v [S, Ev] as in `views`;
 * `causal`: key j > query i masked out. S >= 1.
 */
export function attentionForward(views: usize, L: i32, S: i32, E: i32, Ev: i32, scale: f32, causal: bool, out: usize, lse: usize, scratch: usize): void {
  const kt = scratch;
  const vp = carve(kt, E * padN(S) * 4);
  const tile = carve(vp, S * padN(Ev) * 4);
  const left = carve(tile, RB * padN(S) * 4);
  const res = carve(left, RB * max(max(E, Ev), S) * 4);
  // kᵀ [E, S] once; v [n, Ev] whenever the keys a block sees (n) change, since packing fixes the depth.
  packB(base(views, VIEW_K), colStride(views, VIEW_K), rowStride(views, VIEW_K), E, S, kt);
  let vRows = -1;
  const mask = base(views, VIEW_MASK);
  for (let i0 = 0; i0 < L; i0 += RB) {
    const rows = min(RB, L - i0);
    const n = causal ? min(S, i0 + rows) : S;
    const ldc = padN(n);
    packA(rowAt(views, VIEW_Q, i0), rowStride(views, VIEW_Q), colStride(views, VIEW_Q), rows, E, left);
    gemmPacked(left, kt, tile, rows, n, E, 0, panels(rows));
    for (let r = 0; r < rows; r++) {
      const i = i0 + r;
      const live = causal ? min(n, i + 1) : n;
      const maskRow: usize = mask == 0 ? 0 : rowAt(views, VIEW_MASK, i);
      store<f32>(lse + <usize>i * 4, softmaxRow(tile + <usize>(r * ldc) * 4, n, live, scale, maskRow, colStride(views, VIEW_MASK)));
    }
    if (vRows != n) {
      packB(base(views, VIEW_V), rowStride(views, VIEW_V), colStride(views, VIEW_V), n, Ev, vp);
      vRows = n;
    }
    packA(tile, ldc, 1, rows, n, left);
    gemmPacked(left, vp, res, rows, Ev, n, 0, panels(rows));
    unpadRows(res, rows, Ev, out + <usize>(i0 * Ev) * 4);
  }
}

/**
 * One row of the backward's tiles: `p` holds q·k, `ds` dO·v (n columns). Recomputes the weights
 * p = e^(s − lse) (0 past `live`, and for a row with no finite score) and sets ds = p ∘ (dO·v − D)·scale.
 */
function gradRow(p: usize, ds: usize, n: i32, live: i32, scale: f32, mask: usize, mc: i32, lse: f32, D: f32): void {
  if (lse == -Infinity) {
    // _safe_softmax's zeros have a zero gradient.
    memory.fill(p, 0, <usize>n * 4);
    memory.fill(ds, 0, <usize>n * 4);
    return;
  }
  const end = (live + 3) & ~3;
  // The last vector, the only one with lanes past `live`, is peeled off the loop (and with exp in
  // two places V8 keeps its constants out of the loop: see softmaxRow).
  const last = end - 4;
  for (let j = 0; j < last; j += 4) gradLanes(p, ds, j, scale, mask, mc, live, lse, D, i32x4.splat(-1));
  gradLanes(p, ds, last, scale, mask, mc, live, lse, D, below(last, live));
  if (end < n) {
    memory.fill(p + <usize>end * 4, 0, <usize>(n - end) * 4);
    memory.fill(ds + <usize>end * 4, 0, <usize>(n - end) * 4);
  }
}

/** gradRow's lanes j..j+3, those outside `keep` set to 0. */
@inline
function gradLanes(p: usize, ds: usize, j: i32, scale: f32, mask: usize, mc: i32, live: i32, lse: f32, D: f32, keep: v128): void {
  const at = <usize>j * 4;
  const s = f32x4.add(f32x4.mul(v128.load(p + at), f32x4.splat(scale)), maskAt(mask, j, mc, live));
  // Four masked-out keys (scores -inf) weigh exactly 0 when lse is finite (for a NaN row, NaN):
  // their exp is skipped, not their product with dO·v (0 times an infinite one is still NaN).
  let w = f32x4.splat(0);
  if (!isFinite(lse) || v128.any_true(f32x4.ne(s, f32x4.splat(-Infinity)))) w = expv(f32x4.sub(s, f32x4.splat(lse)));
  const d = f32x4.mul(f32x4.mul(w, f32x4.sub(v128.load(ds + at), f32x4.splat(D))), f32x4.splat(scale));
  v128.store(p + at, v128.and(w, keep));
  v128.store(ds + at, v128.and(d, keep));
}

/** dst (dense rows of `cols`) += src (rows `ld` floats apart), over `rows` rows. */
function addRows(src: usize, ld: i32, dst: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>(r * ld) * 4;
    const d = dst + <usize>(r * cols) * 4;
    let c = 0;
    for (; c + 4 <= cols; c += 4) v128.store(d + <usize>c * 4, f32x4.add(v128.load(d + <usize>c * 4), v128.load(s + <usize>c * 4)));
    for (; c < cols; c++) store<f32>(d + <usize>c * 4, load<f32>(d + <usize>c * 4) + load<f32>(s + <usize>c * 4));
  }
}

/**
 * Backward for one (batch, head), FlashAttention-2's, the weights recomputed block by block from
 * the saved logsumexp: with D = rowsum(dO ∘ O) and dS = p ∘ (dO·vᵀ − D), dq = dS·k·scale,
 * dk = dSᵀ·q·scale, dv = pᵀ·dO. Writes dq [L, E], dk [S, E], dv [S, Ev], contiguous. S >= 1.
 */
export function attentionBackward(views: usize, L: i32, S: i32, E: i32, Ev: i32, scale: f32, causal: bool, lse: usize, dq: usize, dk: usize, dv: usize, scratch: usize): void {
  const W = max(E, Ev);
  const kt = scratch;
  const vt = carve(kt, E * padN(S) * 4);
  const kp = carve(vt, Ev * padN(S) * 4);
  const p = carve(kp, S * padN(W) * 4);
  const ds = carve(p, RB * padN(S) * 4);
  const left = carve(ds, RB * padN(S) * 4);
  const right = carve(left, max(RB * max(W, S), panels(S) * MR * RB) * 4);
  const res = carve(right, max(RB, S) * padN(W) * 4);
  const mask = base(views, VIEW_MASK);
  const mc = colStride(views, VIEW_MASK);
  // kᵀ [E, S] and vᵀ [Ev, S] for the recomputed scores and dO·vᵀ; k [n, E] for dq, packed per depth n.
  packB(base(views, VIEW_K), colStride(views, VIEW_K), rowStride(views, VIEW_K), E, S, kt);
  packB(base(views, VIEW_V), colStride(views, VIEW_V), rowStride(views, VIEW_V), Ev, S, vt);
  let kRows = -1;
  memory.fill(dk, 0, <usize>(S * E) * 4);
  memory.fill(dv, 0, <usize>(S * Ev) * 4);
  for (let i0 = 0; i0 < L; i0 += RB) {
    const rows = min(RB, L - i0);
    const n = causal ? min(S, i0 + rows) : S;
    const ldc = padN(n);
    const q0 = rowAt(views, VIEW_Q, i0);
    const do0 = rowAt(views, VIEW_DOUT, i0);
    packA(q0, rowStride(views, VIEW_Q), colStride(views, VIEW_Q), rows, E, left);
    gemmPacked(left, kt, p, rows, n, E, 0, panels(rows));
    packA(do0, rowStride(views, VIEW_DOUT), colStride(views, VIEW_DOUT), rows, Ev, left);
    gemmPacked(left, vt, ds, rows, n, Ev, 0, panels(rows));
    for (let r = 0; r < rows; r++) {
      const i = i0 + r;
      // D_i = dO_i · O_i.
      const gRow = rowAt(views, VIEW_DOUT, i);
      const oRow = rowAt(views, VIEW_OUT, i);
      const gc = colStride(views, VIEW_DOUT);
      const oc = colStride(views, VIEW_OUT);
      let D: f32 = 0;
      for (let e = 0; e < Ev; e++) D += load<f32>(gRow + <usize>(e * gc) * 4) * load<f32>(oRow + <usize>(e * oc) * 4);
      const maskRow: usize = mask == 0 ? 0 : rowAt(views, VIEW_MASK, i);
      const at = <usize>(r * ldc) * 4;
      gradRow(p + at, ds + at, n, causal ? min(n, i + 1) : n, scale, maskRow, mc, load<f32>(lse + <usize>i * 4), D);
    }
    // dq rows = dS·k.
    if (kRows != n) {
      packB(base(views, VIEW_K), rowStride(views, VIEW_K), colStride(views, VIEW_K), n, E, kp);
      kRows = n;
    }
    packA(ds, ldc, 1, rows, n, left);
    gemmPacked(left, kp, res, rows, E, n, 0, panels(rows));
    unpadRows(res, rows, E, dq + <usize>(i0 * E) * 4);
    // dk[0..n) += dSᵀ·q_block, dv[0..n) += pᵀ·dO_block.
    packA(ds, 1, ldc, n, rows, left);
    packB(q0, rowStride(views, VIEW_Q), colStride(views, VIEW_Q), rows, E, right);
    gemmPacked(left, right, res, n, E, rows, 0, panels(n));
    addRows(res, padN(E), dk, n, E);
    packA(p, 1, ldc, n, rows, left);
    packB(do0, rowStride(views, VIEW_DOUT), colStride(views, VIEW_DOUT), rows, Ev, right);
    gemmPacked(left, right, res, n, Ev, rows, 0, panels(n));
    addRows(res, padN(Ev), dv, n, Ev);
  }
}

// (batch, head) pairs in a row, for a split across threads (src/cpu/wasm/threads.ts): `count` view
// tables of 72 bytes (six views of three i32) one after another, results advancing per pair.

/** attentionForward for `count` pairs: tables at `views`, outputs of L x Ev and L floats per pair. */
export function attentionForwardRange(views: usize, L: i32, S: i32, E: i32, Ev: i32, scale: f32, causal: bool, out: usize, lse: usize, scratch: usize, count: i32): void {
  for (let i = 0; i < count; i++) {
    attentionForward(views + <usize>i * 72, L, S, E, Ev, scale, causal, out + <usize>(i * L * Ev) * 4, lse + <usize>(i * L) * 4, scratch);
  }
}

/** attentionBackward for `count` pairs: tables at `views`, each pair's lse, dq, dk and dv after the last. */
export function attentionBackwardRange(views: usize, L: i32, S: i32, E: i32, Ev: i32, scale: f32, causal: bool, lse: usize, dq: usize, dk: usize, dv: usize, scratch: usize, count: i32): void {
  for (let i = 0; i < count; i++) {
    const at = <usize>i;
    attentionBackward(views + at * 72, L, S, E, Ev, scale, causal, lse + at * <usize>L * 4, dq + at * <usize>(L * E) * 4, dk + at * <usize>(S * E) * 4, dv + at * <usize>(S * Ev) * 4, scratch);
  }
}
