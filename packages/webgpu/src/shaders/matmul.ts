import { isHalf, roundsOnRead, type DType, type HalfDType, type View } from '@tsgrad/tensor';
import { WGSL_TYPE, memoShader } from './common.js';
import { halfReads, type HalfRead } from './half.js';

/** An operand's dtype, or a rounding view's read (`roundsOnRead`: float32 words rounded to a half dtype as they are read). */
export type MatmulOperand = DType | `${HalfDType} of float32`;

/** What the kernels read `v` as: its dtype, or for a rounding view, its float32 words rounded to that dtype. */
export function operandOf(v: View): MatmulOperand {
  return roundsOnRead(v) ? `${v.dtype} of float32` : v.dtype;
}

/** The half read of an operand, if it is read as half (packed, or a rounding view); else undefined. */
function halfRead(d: MatmulOperand): HalfRead | undefined {
  return isHalf(d) || d.endsWith('of float32') ? (d as HalfRead) : undefined;
}

/**
 * C's dtype: the product's, or for half operands float32 (rounded into half afterwards, one
 * invocation per word) or the half dtype itself, written by the tiled and vec4 kernels a word (two
 * neighbouring columns, N even) at a time with `pack2`, rounded by the same integer conversion.
 */
export type MatmulOut = 'float32' | 'int32' | HalfDType;

/**
 * How the kernels bind and read operands `a` and `b`: float32 and int32 as arrays of their type;
 * float16 and bfloat16 packed two to a u32 word and read in place (`load_a(e)` of shaders/half.ts:
 * the exact f32 a widened copy would hold), so a half product needs no float32 copy of its operands
 * and computes in f32; a rounding view as u32 words, each rounded to its half dtype by `load_a(e)` (the
 * f32 its cast's widened copy would hold); with a half `out`, also `pack2(x, y)`, two f32 rounded
 * into one word of C.
 */
function operands(a: MatmulOperand, b: MatmulOperand, out: MatmulOut, wide = (d: DType) => WGSL_TYPE[d]): { T: string; decls: string; readA: (e: string) => string; readB: (e: string) => string } {
  const half: Record<string, HalfRead> = {};
  const [ha, hb] = [halfRead(a), halfRead(b)];
  if (ha) half.a = ha;
  if (hb) half.b = hb;
  const stored = (d: MatmulOperand) => (halfRead(d) ? 'u32' : wide(d as DType));
  const pack = isHalf(out) ? `\nfn pack2(x: f32, y: f32) -> u32 { return narrow_out(bitcast<u32>(x)) | (narrow_out(bitcast<u32>(y)) << 16u); }` : '';
  return {
    T: ha ? 'f32' : WGSL_TYPE[a as DType],
    decls: `@group(0) @binding(0) var<storage, read> a: array<${stored(a)}>;
@group(0) @binding(1) var<storage, read> b: array<${stored(b)}>;
${halfReads(half, isHalf(out) ? out : undefined)}${pack}`,
    readA: (e) => (ha ? `load_a(${e})` : `a[${e}]`),
    readB: (e) => (hb ? `load_b(${e})` : `b[${e}]`),
  };
}

/**
 * The bindings and index helpers of the strided matmul shaders: a, b, c and md = [B, M, K, N, a
 * batch/row/col strides, a offset, b strides, b offset].
 */
function stridedHeader(T: string, decls: string, out: MatmulOut): string {
  return `${decls}
@group(0) @binding(2) var<storage, read_write> c: array<${isHalf(out) ? 'u32' : T}>;
@group(0) @binding(3) var<storage, read> md: array<u32>;
fn aAt(z: u32, r: u32, c: u32) -> u32 { return md[10] + z * md[4] + r * md[5] + c * md[6]; }
fn bAt(z: u32, r: u32, c: u32) -> u32 { return md[11] + z * md[7] + r * md[8] + c * md[9]; }`;
}

/**
 * Tiled batched matmul (tfjs-backend-webgpu's layout): each 8x8 workgroup computes a 32x32 tile of C,
 * 4x4 outputs per thread, staging 32x32 tiles of A and B in workgroup memory. Operands are read
 * through their strides, so transposed views need no copy.
 */
export const tiledMatmulShader = memoShader(function tiledMatmulShader(aType: MatmulOperand, bType: MatmulOperand, out: MatmulOut): string {
  const { T, decls, readA, readB } = operands(aType, bType, out);
  // A half C: a word (columns col, col + 1; N even, so both or neither are inside) per store.
  const [step, store] = isHalf(out) ? [2, 'c[((z * M + r) * N + col) >> 1u] = pack2(acc[i * 4u + j], acc[i * 4u + j + 1u]);'] : [1, 'c[(z * M + r) * N + col] = acc[i * 4u + j];'];
  return `${stridedHeader(T, decls, out)}
var<workgroup> tileA: array<${T}, 1024>;
var<workgroup> tileB: array<${T}, 1024>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
    // An 8x8 grid of threads laid out on a 1-D workgroup.
    let lid = vec2u(li % 8u, li / 8u);
    let M = md[1]; let K = md[2]; let N = md[3];
    let z = wid.z;
    let row0 = wid.y * 32u + lid.y * 4u;
    let col0 = wid.x * 32u + lid.x * 4u;
    var acc: array<${T}, 16>;
    for (var t = 0u; t < K; t = t + 32u) {
        // Each of the 64 threads loads 16 elements of each tile.
        for (var e = 0u; e < 16u; e = e + 1u) {
            let flat = (lid.y * 8u + lid.x) * 16u + e;
            let r = flat / 32u; let k = flat % 32u;
            let ar = wid.y * 32u + r; let ak = t + k;
            // Branches, not select(): select would read out of bounds for the padding of edge tiles.
            var av: ${T} = ${T}(0);
            if (ar < M && ak < K) { av = ${readA('aAt(z, ar, ak)')}; }
            tileA[r * 32u + k] = av;
            let bk = t + r; let bc = wid.x * 32u + k;
            var bv: ${T} = ${T}(0);
            if (bk < K && bc < N) { bv = ${readB('bAt(z, bk, bc)')}; }
            tileB[r * 32u + k] = bv;
        }
        workgroupBarrier();
        for (var k = 0u; k < 32u; k = k + 1u) {
            for (var i = 0u; i < 4u; i = i + 1u) {
                let av = tileA[(lid.y * 4u + i) * 32u + k];
                for (var j = 0u; j < 4u; j = j + 1u) { acc[i * 4u + j] = acc[i * 4u + j] + av * tileB[k * 32u + lid.x * 4u + j]; }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i = i + 1u) {
        for (var j = 0u; j < 4u; j = j + ${step}u) {
            let r = row0 + i; let col = col0 + j;
            if (r < M && col < N) { ${store} }
        }
    }
}`;
});

/** One thread per output: cheaper than tiling for small products (biases, vectors, tiny batches). */
export const smallMatmulShader = memoShader(function smallMatmulShader(aType: MatmulOperand, bType: MatmulOperand): string {
  const { T, decls, readA, readB } = operands(aType, bType, 'float32');
  return `${stridedHeader(T, decls, 'float32')}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
    let i = gid.x + gid.y * nwg.x * 64u;
    let M = md[1]; let K = md[2]; let N = md[3];
    if (i >= md[0] * M * N) { return; }
    let z = i / (M * N); let r = (i / N) % M; let col = i % N;
    var acc: ${T} = ${T}(0);
    for (var k = 0u; k < K; k = k + 1u) { acc = acc + ${readA('aAt(z, r, k)')} * ${readB('bAt(z, k, col)')}; }
    c[i] = acc;
}`;
});

/**
 * What both vec4 kernels share: their bindings (A and B as vec4, C, metadata), two workgroup tiles
 * of 256 vec4, and `loadTiles`: thread li's four vec4 of a k-tile of A (`aPerRow` vec4 along k per row of the
 * tile) and of B (`bPerRow` vec4 along n per k), into registers; unchecked when the tile lies wholly
 * inside the matrices (`full`), zero-padded at the edges otherwise. Both vec4 kernels use it.
 * A half operand is bound packed and its four elements (along k of A, along n of B) are read one by
 * one through the column stride (`load4_a`), so any layout works and the tiles, the fma chain and
 * hence the bits are those of the float32 kernel on a widened copy.
 */
function vec4Preamble(aPerRow: number, bPerRow: number, aType: MatmulOperand, bType: MatmulOperand, out: MatmulOut): string {
  const { decls } = operands(aType, bType, out, () => 'vec4<f32>');
  const load4 = (name: 'a' | 'b') => `fn load4_${name}(e: u32, s: u32) -> vec4<f32> { return vec4<f32>(load_${name}(e), load_${name}(e + s), load_${name}(e + 2u * s), load_${name}(e + 3u * s)); }`;
  const readA = halfRead(aType) ? 'load4_a(aBase + ar * md[5] + ak * md[6], md[6])' : 'a[(aBase + ar * md[5] + ak) / 4u]';
  const readB = halfRead(bType) ? 'load4_b(bBase + bk * md[8] + bc * md[9], md[9])' : 'b[(bBase + bk * md[8] + bc) / 4u]';
  const loads = [halfRead(aType) ? load4('a') : '', halfRead(bType) ? load4('b') : ''].filter(Boolean);
  return `${decls.trimEnd()}
${loads.length ? `${loads.join('\n')}\n` : ''}@group(0) @binding(2) var<storage, read_write> c: array<${isHalf(out) ? 'u32' : 'f32'}>;
@group(0) @binding(3) var<storage, read> md: array<u32>;
var<workgroup> tileA: array<vec4<f32>, 256>;
var<workgroup> tileB: array<vec4<f32>, 256>;
fn loadTiles(t: u32, full: bool, li: u32, rowTile: u32, colTile: u32, aBase: u32, bBase: u32, M: u32, K: u32, N: u32,
             ra: ptr<function, array<vec4<f32>, 4>>, rb: ptr<function, array<vec4<f32>, 4>>) {
    for (var e = 0u; e < 4u; e = e + 1u) {
        let slot = li * 4u + e;
        let ar = rowTile + slot / ${aPerRow}u; let ak = t + (slot % ${aPerRow}u) * 4u;
        let bk = t + slot / ${bPerRow}u; let bc = colTile + (slot % ${bPerRow}u) * 4u;
        if (full) {
            (*ra)[e] = ${readA};
            (*rb)[e] = ${readB};
        } else {
            var av = vec4<f32>(0.0);
            if (ar < M && ak < K) { av = ${readA}; }
            (*ra)[e] = av;
            var bv = vec4<f32>(0.0);
            if (bk < K && bc < N) { bv = ${readB}; }
            (*rb)[e] = bv;
        }
    }
}`;
}

/**
 * WGSL: a vec4 kernel's store of `v`, C's columns col..col + 3 of row r at element `at` (a multiple of
 * 4: N is), unchecked inside a full tile (`inside`), checked at the edges. A half C takes two words.
 */
function storeVec4(at: string, v: string, r: string, col: string, out: MatmulOut): string {
  if (isHalf(out)) {
    return `if (inside || (${r} < M && ${col} < N)) { c[${at} >> 1u] = pack2(${v}.x, ${v}.y); c[(${at} >> 1u) + 1u] = pack2(${v}.z, ${v}.w); }`;
  }
  return `if (inside) {
            c[${at}] = ${v}.x; c[${at} + 1u] = ${v}.y; c[${at} + 2u] = ${v}.z; c[${at} + 3u] = ${v}.w;
        } else {
            for (var j = 0u; j < 4u; j = j + 1u) {
                if (${r} < M && ${col} + j < N) { c[${at} + j] = ${v}[j]; }
            }
        }`;
}

/**
 * The tiled kernel with vec4 loads and accumulators (tfjs-backend-webgpu's packed layout): both
 * operands are read four floats at a time (row-contiguous, with K, N, strides and offsets divisible
 * by 4) into vec4 tiles of 32x32; each of the 64 threads keeps a 4x4 block of C as four vec4 rows and,
 * per four steps of k, reads four vec4 of B and one vec4 of A per row, so workgroup-memory reads are
 * a quarter of the multiply-adds. Tiles wholly inside A, B and C load and store without bounds checks
 * (a branch uniform across the workgroup); only edge tiles check.
 */
export const vec4MatmulShader = memoShader(function vec4MatmulShader(aType: MatmulOperand, bType: MatmulOperand, out: MatmulOut): string {
  // Tiles: 32 rows x 8 vec4 along k of A, 32 k x 8 vec4 along n of B.
  return `${vec4Preamble(8, 8, aType, bType, out)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
    let lid = vec2u(li % 8u, li / 8u);
    let M = md[1]; let K = md[2]; let N = md[3];
    let z = wid.z;
    let aBase = md[10] + z * md[4];
    let bBase = md[11] + z * md[7];
    let rowTile = wid.y * 32u;
    let colTile = wid.x * 32u;
    // Uniform across the workgroup: the tile's rows and columns are all inside C.
    let inside = rowTile + 32u <= M && colTile + 32u <= N;
    var acc: array<vec4<f32>, 4>;
    for (var t = 0u; t < K; t = t + 32u) {
        var ra: array<vec4<f32>, 4>;
        var rb: array<vec4<f32>, 4>;
        loadTiles(t, inside && t + 32u <= K, li, rowTile, colTile, aBase, bBase, M, K, N, &ra, &rb);
        for (var e = 0u; e < 4u; e = e + 1u) {
            tileA[li * 4u + e] = ra[e];
            tileB[li * 4u + e] = rb[e];
        }
        workgroupBarrier();
        for (var k4 = 0u; k4 < 8u; k4 = k4 + 1u) {
            let b0 = tileB[(k4 * 4u) * 8u + lid.x];
            let b1 = tileB[(k4 * 4u + 1u) * 8u + lid.x];
            let b2 = tileB[(k4 * 4u + 2u) * 8u + lid.x];
            let b3 = tileB[(k4 * 4u + 3u) * 8u + lid.x];
            for (var i = 0u; i < 4u; i = i + 1u) {
                let av = tileA[(lid.y * 4u + i) * 8u + k4];
                var sum = acc[i];
                sum = fma(vec4<f32>(av.x), b0, sum);
                sum = fma(vec4<f32>(av.y), b1, sum);
                sum = fma(vec4<f32>(av.z), b2, sum);
                acc[i] = fma(vec4<f32>(av.w), b3, sum);
            }
        }
        workgroupBarrier();
    }
    let row0 = rowTile + lid.y * 4u;
    let col0 = colTile + lid.x * 4u;
    for (var i = 0u; i < 4u; i = i + 1u) {
        let r = row0 + i;
        let at = (z * M + r) * N + col0;
        ${storeVec4('at', 'acc[i]', 'r', 'col0', out)}
    }
}`;
});

/**
 * The vec4 kernel with 64×64 tiles of C: each of the 64 threads computes an 8×8 block (rows
 * 8·ty..8·ty+7, columns 4·tx..4·tx+3 and 32+4·tx..32+4·tx+3, so neighbouring threads read
 * neighbouring vec4 of B), over k-tiles of 16. Per four steps of k a thread reads eight vec4 of B and
 * eight of A for 64 vec4 multiply-adds: twice the arithmetic per workgroup-memory read of the 32×32
 * kernel, for products large enough to fill the GPU with 64×64 tiles. The next k-tile is loaded into
 * registers while the current one is multiplied (double buffering). Same operand rules as it.
 */
export const vec4Matmul64Shader = memoShader(function vec4Matmul64Shader(aType: MatmulOperand, bType: MatmulOperand, out: MatmulOut): string {
  // Tiles: 64 rows x 4 vec4 along k of A, 16 k x 16 vec4 along n of B.
  return `${vec4Preamble(4, 16, aType, bType, out)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
    let tx = li % 8u;
    let ty = li / 8u;
    let M = md[1]; let K = md[2]; let N = md[3];
    let z = wid.z;
    let aBase = md[10] + z * md[4];
    let bBase = md[11] + z * md[7];
    let rowTile = wid.y * 64u;
    let colTile = wid.x * 64u;
    let inside = rowTile + 64u <= M && colTile + 64u <= N;
    var acc: array<vec4<f32>, 16>; // row i: acc[2i] columns 4tx.., acc[2i + 1] columns 32 + 4tx..
    // Register double buffering: the next k-tile's global loads are issued before this tile's
    // multiply-adds, so memory latency hides behind arithmetic; workgroup memory holds one tile.
    var nextA: array<vec4<f32>, 4>;
    var nextB: array<vec4<f32>, 4>;
    loadTiles(0u, inside && 16u <= K, li, rowTile, colTile, aBase, bBase, M, K, N, &nextA, &nextB);
    for (var t = 0u; t < K; t = t + 16u) {
        for (var e = 0u; e < 4u; e = e + 1u) {
            tileA[li * 4u + e] = nextA[e];
            tileB[li * 4u + e] = nextB[e];
        }
        workgroupBarrier();
        if (t + 16u < K) {
            loadTiles(t + 16u, inside && t + 32u <= K, li, rowTile, colTile, aBase, bBase, M, K, N, &nextA, &nextB);
        }
        for (var k4 = 0u; k4 < 4u; k4 = k4 + 1u) {
            var lo: array<vec4<f32>, 4>;
            var hi: array<vec4<f32>, 4>;
            for (var kk = 0u; kk < 4u; kk = kk + 1u) {
                lo[kk] = tileB[(k4 * 4u + kk) * 16u + tx];
                hi[kk] = tileB[(k4 * 4u + kk) * 16u + tx + 8u];
            }
            for (var i = 0u; i < 8u; i = i + 1u) {
                let av = tileA[(ty * 8u + i) * 4u + k4];
                var l = acc[2u * i];
                var h = acc[2u * i + 1u];
                l = fma(vec4<f32>(av.x), lo[0], l); h = fma(vec4<f32>(av.x), hi[0], h);
                l = fma(vec4<f32>(av.y), lo[1], l); h = fma(vec4<f32>(av.y), hi[1], h);
                l = fma(vec4<f32>(av.z), lo[2], l); h = fma(vec4<f32>(av.z), hi[2], h);
                l = fma(vec4<f32>(av.w), lo[3], l); h = fma(vec4<f32>(av.w), hi[3], h);
                acc[2u * i] = l;
                acc[2u * i + 1u] = h;
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 8u; i = i + 1u) {
        let r = rowTile + ty * 8u + i;
        for (var half = 0u; half < 2u; half = half + 1u) {
            let col = colTile + half * 32u + tx * 4u;
            let v = acc[2u * i + half];
            let at = (z * M + r) * N + col;
            ${storeVec4('at', 'v', 'r', 'col', out)}
        }
    }
}`;
});
