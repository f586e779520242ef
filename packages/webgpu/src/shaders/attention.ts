/**
 * FlashAttention-style kernels (Dao et al.; the backward is FlashAttention-2's), computing in float32
 * on float32 operands or half ones read in place (`load_<name>`: shaders/half.ts's exact widening,
 * so the same values as on widened copies; the results stay float32). Every
 * kernel gives one thread one row (a query, or a key in the backward's key pass) and stages tiles of
 * the other side's rows in workgroup memory; the [L, S] scores exist only one tile at a time, in
 * registers. The head dims are compiled in (a row lives in private arrays).
 *
 * Metadata (u32 words, shared by all three): [H, L, S, scale bits, causal, has mask, then offset and
 * the four strides (batch, head, row, column) of query, key, value, mask and the output's gradient].
 *
 * Special values as the composed path (softmax over the masked scores): a −∞ score takes no part, a
 * row with no finite score gives zeros (PyTorch's `_safe_softmax`) and logsumexp −∞; a NaN or +∞
 * score makes the row NaN. Tests of them go through common.ts's bit-level helpers.
 */
import type { HalfDType } from '@tsgrad/tensor';
import { helpersFor, memoShader } from './common.js';
import { halfReads } from './half.js';

/** Rows per workgroup: one thread each. */
export const ATTENTION_ROWS = 64;

/** The staged tile's rows: a power of two up to 32 whose tile (`width` floats a row) fits 16 KiB of workgroup memory. */
export function tileRows(width: number): number {
  let rows = 32;
  while (rows > 1 && rows * width > 4096) rows /= 2;
  return rows;
}

/** The dtype of each operand a kernel reads (`q`, `k`, `v`, `mask`, `dout`, `o`): float32 when absent. */
export type AttentionDTypes = Readonly<Partial<Record<string, 'float32' | HalfDType>>>;

const BINDINGS: Record<'forward' | 'query' | 'key', string[]> = {
  forward: ['q', 'k', 'v', 'mask', 'out:rw', 'lse:rw'],
  // stats: per query row (logsumexp, D = rowsum(dO∘O)), written by the stats kernel.
  query: ['q', 'k', 'v', 'mask', 'dout', 'stats', 'dq:rw'],
  // dkv: per key row, dk then dv (one buffer: a stage may bind at most 8 storage buffers).
  key: ['q', 'k', 'v', 'mask', 'dout', 'stats', 'dkv:rw'],
};

/** WGSL: element (b, h, r, c) of view `view`: md holds 6 sizes, then offset and 4 strides per view. */
const AT_FN = `fn at(view: u32, b: u32, h: u32, r: u32, c: u32) -> u32 {
    let m = 6u + view * 5u;
    return md[m] + b * md[m + 1u] + h * md[m + 2u] + r * md[m + 3u] + c * md[m + 4u];
}`;

/**
 * WGSL: the storage bindings `names` ('name' read, 'name:rw' written), then `md`; each read one with a
 * `load_<name>(e)` giving element e as f32 (a half one's packed words hold two elements each).
 */
function declare(names: readonly string[], dtypes: AttentionDTypes): string {
  const half: Record<string, HalfDType> = {};
  const decls = names.map((n, i) => {
    const [name, rw] = n.split(':');
    const dtype = rw ? 'float32' : (dtypes[name] ?? 'float32');
    if (dtype !== 'float32') half[name] = dtype;
    return `@group(0) @binding(${i}) var<storage, ${rw ? 'read_write' : 'read'}> ${name}: array<${dtype === 'float32' ? 'f32' : 'u32'}>;`;
  });
  const plain = names.filter((n) => !n.includes(':') && !(n in half)).map((name) => `fn load_${name}(e: u32) -> f32 { return ${name}[e]; }`);
  return `${decls.join('\n')}
@group(0) @binding(${names.length}) var<storage, read> md: array<u32>;
${plain.join('\n')}
${halfReads(half)}`;
}

function header(kind: keyof typeof BINDINGS, dtypes: AttentionDTypes): string {
  return `${declare(BINDINGS[kind], dtypes)}
${AT_FN}
// The score of query i and key j from the dot product (mask added): −∞ when masked out.
fn score(dot: f32, b: u32, h: u32, i: u32, j: u32) -> f32 {
    var s = dot * bitcast<f32>(md[3]);
    if (md[5] != 0u) { s = s + load_mask(at(3u, b, h, i, j)); }
    return s;
}
fn is_minus_inf(x: f32) -> bool { return bitcast<u32>(x) == 0xff800000u; }
fn is_bad(x: f32) -> bool { return is_nan_f32(x) || bitcast<u32>(x) == 0x7f800000u; }`;
}

/**
 * WGSL: the workgroup's threads copy `rows` rows of `width` floats, rows `first` on, into the
 * workgroup array `tile` (zeros from row `limit` on); `read(r, c)` reads row r, column c.
 */
function loadTile(tile: { name: string; rows: number; width: number }, first: string, limit: string, read: (r: string, c: string) => string): string {
  const { name, rows, width } = tile;
  return `for (var x = t; x < ${rows * width}u; x += ${ATTENTION_ROWS}u) {
            let r = ${first} + x / ${width}u; var val = 0.0;
            if (r < ${limit}) { val = ${read('r', `x % ${width}u`)}; }
            ${name}[x] = val;
        }`;
}

/** The views' indices in the metadata (`at(view, ...)`). */
const Q = 0;
const K = 1;
const V = 2;
const DOUT = 4;

/**
 * Forward: each workgroup owns 64 query rows of one (batch, head) and sweeps the key/value tiles
 * (causal: only those up to its last row) with the online softmax: per tile, the running max m is
 * raised to the tile's, the accumulator and the running sum l scaled by e^(m_old − m_new), then each
 * key adds e^(s − m)·v. Writes out = acc / l and logsumexp = m + log l.
 */
export const attentionForwardShader = memoShader((E: number, Ev: number, dtypes: AttentionDTypes): string => {
  const BC = tileRows(E + Ev);
  const body = `${header('forward', dtypes)}
var<workgroup> kt: array<f32, ${BC * E}>;
var<workgroup> vt: array<f32, ${BC * Ev}>;
@compute @workgroup_size(${ATTENTION_ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
    let H = md[0]; let L = md[1]; let S = md[2]; let causal = md[4] != 0u;
    let b = wid.y / H; let h = wid.y % H;
    let i = wid.x * ${ATTENTION_ROWS}u + t;
    let live = i < L;
    var qr: array<f32, ${E}>;
    var acc: array<f32, ${Ev}>;
    if (live) { for (var e = 0u; e < ${E}u; e++) { qr[e] = load_q(at(${Q}u, b, h, i, e)); } }
    var m = 0.0; var l = 0.0; var bad = false;
    var end = S;
    if (causal) { end = min(S, min(L, (wid.x + 1u) * ${ATTENTION_ROWS}u)); }
    for (var j0 = 0u; j0 < end; j0 += ${BC}u) {
        ${loadTile({ name: 'kt', rows: BC, width: E }, 'j0', 'S', (r, c) => `load_k(at(${K}u, b, h, ${r}, ${c}))`)}
        ${loadTile({ name: 'vt', rows: BC, width: Ev }, 'j0', 'S', (r, c) => `load_v(at(${V}u, b, h, ${r}, ${c}))`)}
        workgroupBarrier();
        if (live) {
            var sc: array<f32, ${BC}>;
            var alive = 0u; var tmax = 0.0;
            for (var c = 0u; c < ${BC}u; c++) {
                let j = j0 + c;
                if (j >= S || (causal && j > i)) { continue; }
                var dot = 0.0;
                for (var e = 0u; e < ${E}u; e++) { dot += qr[e] * kt[c * ${E}u + e]; }
                let s = score(dot, b, h, i, j);
                if (is_bad(s)) { bad = true; continue; }
                if (is_minus_inf(s)) { continue; }
                sc[c] = s;
                if (alive == 0u || s > tmax) { tmax = s; }
                alive |= 1u << c;
            }
            if (alive != 0u) {
                let seen = l > 0.0;
                let mNew = select(tmax, max(m, tmax), seen);
                let alpha = select(0.0, exp_f32(m - mNew), seen);
                l *= alpha;
                for (var e = 0u; e < ${Ev}u; e++) { acc[e] *= alpha; }
                for (var c = 0u; c < ${BC}u; c++) {
                    if (((alive >> c) & 1u) == 0u) { continue; }
                    let p = exp_f32(sc[c] - mNew);
                    l += p;
                    for (var e = 0u; e < ${Ev}u; e++) { acc[e] += p * vt[c * ${Ev}u + e]; }
                }
                m = mNew;
            }
        }
        workgroupBarrier();
    }
    if (live) {
        let row = wid.y * L + i;
        let empty = l == 0.0;
        for (var e = 0u; e < ${Ev}u; e++) { out[row * ${Ev}u + e] = select(select(acc[e] / l, 0.0, empty), nan_f32(), bad); }
        lse[row] = select(select(m + log_f32(l), -inf_f32(), empty), nan_f32(), bad);
    }
}`;
  return `${helpersFor(body)}\n${body}`;
});

/**
 * Backward, first step: per query row, (logsumexp, D = rowsum(dO∘O)) into `stats`. md as the
 * others'; the output O is contiguous [B·H, L, Ev].
 */
export const attentionStatsShader = memoShader((Ev: number, dtypes: AttentionDTypes): string => `${declare(['o', 'dout', 'lse', 'stats:rw'], dtypes)}
${AT_FN}
@compute @workgroup_size(${ATTENTION_ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
    let H = md[0]; let L = md[1];
    let i = wid.x * ${ATTENTION_ROWS}u + t;
    if (i >= L) { return; }
    let b = wid.y / H; let h = wid.y % H;
    let row = wid.y * L + i;
    var d = 0.0;
    for (var e = 0u; e < ${Ev}u; e++) { d += load_dout(at(${DOUT}u, b, h, i, e)) * load_o(row * ${Ev}u + e); }
    stats[2u * row] = lse[row];
    stats[2u * row + 1u] = d;
}`);

/**
 * Backward, dq: per query row, over the key tiles (causal: up to its block's last row), each key's
 * weight recomputed as p = e^(s − logsumexp), dS = p·(dO·v − D), dq += dS·k; times scale at the end.
 */
export const attentionQueryGradShader = memoShader((E: number, Ev: number, dtypes: AttentionDTypes): string => {
  const BC = tileRows(E + Ev);
  const body = `${header('query', dtypes)}
var<workgroup> kt: array<f32, ${BC * E}>;
var<workgroup> vt: array<f32, ${BC * Ev}>;
@compute @workgroup_size(${ATTENTION_ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
    let H = md[0]; let L = md[1]; let S = md[2]; let causal = md[4] != 0u;
    let b = wid.y / H; let h = wid.y % H;
    let i = wid.x * ${ATTENTION_ROWS}u + t;
    let live = i < L;
    let row = wid.y * L + i;
    var qr: array<f32, ${E}>;
    var dor: array<f32, ${Ev}>;
    var gq: array<f32, ${E}>;
    var lse = 0.0; var D = 0.0;
    if (live) {
        for (var e = 0u; e < ${E}u; e++) { qr[e] = load_q(at(${Q}u, b, h, i, e)); }
        for (var e = 0u; e < ${Ev}u; e++) { dor[e] = load_dout(at(${DOUT}u, b, h, i, e)); }
        lse = stats[2u * row]; D = stats[2u * row + 1u];
    }
    var end = S;
    if (causal) { end = min(S, min(L, (wid.x + 1u) * ${ATTENTION_ROWS}u)); }
    for (var j0 = 0u; j0 < end; j0 += ${BC}u) {
        ${loadTile({ name: 'kt', rows: BC, width: E }, 'j0', 'S', (r, c) => `load_k(at(${K}u, b, h, ${r}, ${c}))`)}
        ${loadTile({ name: 'vt', rows: BC, width: Ev }, 'j0', 'S', (r, c) => `load_v(at(${V}u, b, h, ${r}, ${c}))`)}
        workgroupBarrier();
        if (live) {
            for (var c = 0u; c < ${BC}u; c++) {
                let j = j0 + c;
                if (j >= S || (causal && j > i)) { continue; }
                var dot = 0.0;
                for (var e = 0u; e < ${E}u; e++) { dot += qr[e] * kt[c * ${E}u + e]; }
                let s = score(dot, b, h, i, j);
                if (is_minus_inf(s)) { continue; }
                let p = exp_f32(s - lse);
                var dp = 0.0;
                for (var e = 0u; e < ${Ev}u; e++) { dp += dor[e] * vt[c * ${Ev}u + e]; }
                let ds = p * (dp - D);
                for (var e = 0u; e < ${E}u; e++) { gq[e] += ds * kt[c * ${E}u + e]; }
            }
        }
        workgroupBarrier();
    }
    if (live) {
        let scale = bitcast<f32>(md[3]);
        for (var e = 0u; e < ${E}u; e++) { dq[row * ${E}u + e] = gq[e] * scale; }
    }
}`;
  return `${helpersFor(body)}\n${body}`;
});

/**
 * Backward, dk and dv: per key row, over the query tiles (causal: from its block's first row), with
 * p = e^(s − logsumexp_i): dv += p·dO_i, dS = p·(dO_i·v − D_i), dk += dS·q_i; dk times scale. Writes
 * dk then dv per key row into one buffer [B·H, S, E + Ev].
 */
export const attentionKeyGradShader = memoShader((E: number, Ev: number, dtypes: AttentionDTypes): string => {
  const BC = tileRows(E + Ev + 2);
  const body = `${header('key', dtypes)}
var<workgroup> qt: array<f32, ${BC * E}>;
var<workgroup> dot_: array<f32, ${BC * Ev}>;
var<workgroup> st: array<f32, ${BC * 2}>;
@compute @workgroup_size(${ATTENTION_ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
    let H = md[0]; let L = md[1]; let S = md[2]; let causal = md[4] != 0u;
    let b = wid.y / H; let h = wid.y % H;
    let j = wid.x * ${ATTENTION_ROWS}u + t;
    let live = j < S;
    var kr: array<f32, ${E}>;
    var vr: array<f32, ${Ev}>;
    var dk: array<f32, ${E}>;
    var dv: array<f32, ${Ev}>;
    if (live) {
        for (var e = 0u; e < ${E}u; e++) { kr[e] = load_k(at(${K}u, b, h, j, e)); }
        for (var e = 0u; e < ${Ev}u; e++) { vr[e] = load_v(at(${V}u, b, h, j, e)); }
    }
    var start = 0u;
    if (causal) { start = (wid.x * ${ATTENTION_ROWS}u / ${BC}u) * ${BC}u; }
    for (var i0 = start; i0 < L; i0 += ${BC}u) {
        ${loadTile({ name: 'qt', rows: BC, width: E }, 'i0', 'L', (r, c) => `load_q(at(${Q}u, b, h, ${r}, ${c}))`)}
        ${loadTile({ name: 'dot_', rows: BC, width: Ev }, 'i0', 'L', (r, c) => `load_dout(at(${DOUT}u, b, h, ${r}, ${c}))`)}
        ${loadTile({ name: 'st', rows: BC, width: 2 }, 'i0', 'L', (r, c) => `stats[2u * (wid.y * L + ${r}) + ${c}]`)}
        workgroupBarrier();
        if (live) {
            for (var c = 0u; c < ${BC}u; c++) {
                let i = i0 + c;
                if (i >= L || (causal && j > i)) { continue; }
                var dot = 0.0;
                for (var e = 0u; e < ${E}u; e++) { dot += qt[c * ${E}u + e] * kr[e]; }
                let s = score(dot, b, h, i, j);
                if (is_minus_inf(s)) { continue; }
                let p = exp_f32(s - st[2u * c]);
                var dp = 0.0;
                for (var e = 0u; e < ${Ev}u; e++) {
                    let g = dot_[c * ${Ev}u + e];
                    dv[e] += p * g;
                    dp += g * vr[e];
                }
                let ds = p * (dp - st[2u * c + 1u]);
                for (var e = 0u; e < ${E}u; e++) { dk[e] += ds * qt[c * ${E}u + e]; }
            }
        }
        workgroupBarrier();
    }
    if (live) {
        let scale = bitcast<f32>(md[3]);
        let base = (wid.y * S + j) * ${E + Ev}u;
        for (var e = 0u; e < ${E}u; e++) { dkv[base + e] = dk[e] * scale; }
        for (var e = 0u; e < ${Ev}u; e++) { dkv[base + ${E}u + e] = dv[e]; }
    }
}`;
  return `${helpersFor(body)}\n${body}`;
});
