// float32 GEMM with 128-bit SIMD, in the GotoBLAS/BLIS shape: B is packed once into panels the
// micro-kernel reads with unit stride, A into panels of MR rows unless it is row-major (then the
// micro-kernel reads its rows in place: gemmRowMajorA), and the micro-kernel keeps an MR x NR tile of C
// in registers. Because packing absorbs any strides, every transpose combination runs the same inner loop.
//
// Why 2 x 16: V8's register allocator (x86-64: 16 xmm registers) hoists every broadcast of A out of
// the k step, so taller tiles spill accumulators to the stack; measured on Zen 4 with V8 11.3, 6 x 8
// (XNNPACK's shape) ran at ~24 GFLOP/s, 4 x 8 at 28-45, 2 x 16 at ~44 (8 accumulators, 4 B vectors,
// 2 broadcasts). There is no fused multiply-add in baseline wasm SIMD: mul then add. The relaxed-SIMD
// build of this same source (scripts/build-wasm.mjs, `--enable relaxed-simd`) uses `relaxed_madd`
// instead, chosen at load time where the engine has it (src/cpu/wasm/runtime.ts).

export const MR: i32 = 2;
export const NR: i32 = 16;
// K is walked in blocks of KC so one B micro-panel (KC x NR floats = 16 KiB) stays in L1 while the
// micro-kernel sweeps MC rows of A (MC x KC floats = 64 KiB, in L2).
const KC: i32 = 256;
const MC: i32 = 64;

/**
 * Packs a rows x cols window of float32 `src` (element strides rs, cs) into panels of MR rows:
 * dst[(p * cols + k) * MR + r] = src[(p * MR + r) * rs + k * cs], zero past the last row.
 */
export function packA(src: usize, rs: i32, cs: i32, rows: i32, cols: i32, dst: usize): void {
  const panels = (rows + MR - 1) / MR;
  let p = 0;
  if (rs == 1 && cs != 1) {
    // Aᵀ (a weight gradient's xᵀ): a panel's two elements sit side by side, one 64-bit move per k.
    // Eight k at a time across all panels, so the eight source lines stay in L1 while every panel
    // takes its 64 bytes of them (k-major order missed the cache on every load).
    const full = rows / MR;
    for (let k0 = 0; k0 < cols; k0 += 8) {
      const k1 = min(k0 + 8, cols);
      for (let q = 0; q < full; q++) {
        let out = dst + <usize>((q * cols + k0) * MR) * 4;
        for (let k = k0; k < k1; k++) {
          store<u64>(out, load<u64>(src + <usize>(q * MR + k * cs) * 4));
          out += <usize>MR * 4;
        }
      }
    }
    p = full;
  }
  for (; p < panels; p++) {
    const r0 = p * MR;
    const live = min(MR, rows - r0);
    let out = dst + <usize>(p * cols * MR) * 4;
    let k = 0;
    if (live == MR && cs == 1) {
      // Row-major A: four k of each row in one load, interleaved by two shuffles (the scalar loop
      // below cost as much as a tenth of the product it feeds).
      const row0 = src + <usize>(r0 * rs) * 4;
      const row1 = row0 + <usize>rs * 4;
      for (; k + 4 <= cols; k += 4) {
        const x = v128.load(row0 + <usize>k * 4);
        const y = v128.load(row1 + <usize>k * 4);
        v128.store(out, i32x4.shuffle(x, y, 0, 4, 1, 5));
        v128.store(out, i32x4.shuffle(x, y, 2, 6, 3, 7), 16);
        out += <usize>(4 * MR) * 4;
      }
    }
    for (; k < cols; k++) {
      let at = src + <usize>(r0 * rs + k * cs) * 4;
      let r = 0;
      for (; r < live; r++) {
        store<f32>(out + <usize>r * 4, load<f32>(at));
        at += <usize>rs * 4;
      }
      for (; r < MR; r++) store<f32>(out + <usize>r * 4, 0);
      out += <usize>MR * 4;
    }
  }
}

/**
 * Packs a rows x cols window of float32 `src` (element strides rs, cs) into panels of NR columns:
 * dst[(q * rows + k) * NR + c] = src[k * rs + (q * NR + c) * cs], zero past the last column.
 */
export function packB(src: usize, rs: i32, cs: i32, rows: i32, cols: i32, dst: usize): void {
  packBPanels(src, rs, cs, rows, cols, dst, 0, (cols + NR - 1) / NR);
}

/** packB for the column panels [panelFrom, panelTo) only, so threads can split the packing. */
export function packBPanels(src: usize, rs: i32, cs: i32, rows: i32, cols: i32, dst: usize, panelFrom: i32, panelTo: i32): void {
  for (let q = panelFrom; q < panelTo; q++) {
    const c0 = q * NR;
    const live = min(NR, cols - c0);
    let out = dst + <usize>(q * rows * NR) * 4;
    for (let k = 0; k < rows; k++) {
      const row = src + <usize>(k * rs + c0 * cs) * 4;
      if (live == NR && cs == 1) {
        v128.store(out, v128.load(row));
        v128.store(out, v128.load(row, 16), 16);
        v128.store(out, v128.load(row, 32), 32);
        v128.store(out, v128.load(row, 48), 48);
      } else {
        let c = 0;
        for (; c < live; c++) store<f32>(out + <usize>c * 4, load<f32>(row + <usize>(c * cs) * 4));
        for (; c < NR; c++) store<f32>(out + <usize>c * 4, 0);
      }
      out += <usize>NR * 4;
    }
  }
}

/**
 * acc + s * b, lane by lane: fused (FMA, one rounding) in the relaxed-SIMD build where the engine
 * fuses, else mul then add. Relaxed SIMD leaves fusing to the engine (x86 without FMA may not), so
 * results may differ from the baseline build by float32 rounding, but are deterministic on one engine.
 */
@inline
function madd(s: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(s, b, acc);
  return f32x4.add(acc, f32x4.mul(s, b));
}

/**
 * C[0..2, 0..16] += A (kc x 2) . B panel (kc x 16); C rows are ldc floats apart. A's two rows start at
 * `a` and `a + lda` bytes and move `step` bytes per k: a packed panel (lda 4, step 8), or two rows of
 * a row-major A read in place (lda its row stride, step 4).
 */
@inline
function microKernel(kc: i32, a: usize, lda: usize, step: usize, b: usize, c: usize, ldc: i32): void {
  const c1 = c + <usize>ldc * 4;
  let x00 = v128.load(c), x01 = v128.load(c, 16), x02 = v128.load(c, 32), x03 = v128.load(c, 48);
  let x10 = v128.load(c1), x11 = v128.load(c1, 16), x12 = v128.load(c1, 32), x13 = v128.load(c1, 48);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16), b2 = v128.load(b, 32), b3 = v128.load(b, 48);
    const s0 = v128.load32_splat(a);
    x00 = madd(s0, b0, x00);
    x01 = madd(s0, b1, x01);
    x02 = madd(s0, b2, x02);
    x03 = madd(s0, b3, x03);
    const s1 = v128.load32_splat(a + lda);
    x10 = madd(s1, b0, x10);
    x11 = madd(s1, b1, x11);
    x12 = madd(s1, b2, x12);
    x13 = madd(s1, b3, x13);
    a += step;
    b += 64;
  }
  v128.store(c, x00); v128.store(c, x01, 16); v128.store(c, x02, 32); v128.store(c, x03, 48);
  v128.store(c1, x10); v128.store(c1, x11, 16); v128.store(c1, x12, 32); v128.store(c1, x13, 48);
}

/**
 * C = A . B over packed operands: `a` from packA (M rows), `b` from packB (N columns), both over K.
 * C is written as a zero-padded ceil(M/MR)*MR x ldc row-major tile grid, ldc = ceil(N/NR)*NR; the
 * caller reads back the top-left M x N. Only row panels [panelFrom, panelTo) are computed, so
 * threads can split the rows.
 */
export function gemmPacked(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, panelFrom: i32, panelTo: i32): void {
  gemmPanels(a, 0, false, 0, 0, 0, b, c, N, K, panelFrom, panelTo);
}

/**
 * gemmPacked for the row panels [panelFrom, panelTo) of a row-major A (`src`, M rows `rs` elements
 * apart, unit column stride) read in place: the micro-kernel takes two rows at a time as they are, so
 * A is not packed. Only a last panel of fewer than MR rows is packed (zero-padded), into `scratch`
 * (MR * K floats). Same products in the same order as packing first, so the same bits.
 */
export function gemmRowMajorA(src: usize, rs: i32, b: usize, c: usize, M: i32, N: i32, K: i32, scratch: usize, panelFrom: i32, panelTo: i32): void {
  if (panelFrom >= panelTo) return;
  const full = M / MR;
  if (panelTo > full) packA(src + <usize>(full * MR * rs) * 4, rs, 1, M - full * MR, K, scratch);
  gemmPanels(src, 0, true, rs, full, scratch, b, c, N, K, panelFrom, panelTo);
}

/**
 * gemmPacked for the row panels [panelFrom, panelTo) of an A not yet packed (`src`, M rows, element
 * strides rs and cs): the call packs those panels into `scratch` first, so that packing A splits
 * across the threads with the product instead of running before it on one thread.
 */
export function gemmPackingA(src: usize, rs: i32, cs: i32, b: usize, c: usize, M: i32, N: i32, K: i32, scratch: usize, panelFrom: i32, panelTo: i32): void {
  if (panelFrom >= panelTo) return;
  const r0 = panelFrom * MR;
  packA(src + <usize>(r0 * rs) * 4, rs, cs, min(panelTo * MR, M) - r0, K, scratch);
  gemmPanels(scratch, panelFrom, false, 0, 0, 0, b, c, N, K, panelFrom, panelTo);
}

/**
 * The product over row panels [panelFrom, panelTo). A packed: panel p at `a` + (p − aFirst) panels.
 * `inPlace`: A row-major at `a` (rows rs elements apart, 0 for a broadcast row) for the panels below
 * `packedFrom`, and packed at `tail` from there (gemmRowMajorA's short last panel).
 */
function gemmPanels(a: usize, aFirst: i32, inPlace: bool, rs: i32, packedFrom: i32, tail: usize, b: usize, c: usize, N: i32, K: i32, panelFrom: i32, panelTo: i32): void {
  if (panelFrom >= panelTo) return;
  const ldc = ((N + NR - 1) / NR) * NR;
  const colPanels = ldc / NR;
  const rowStart = panelFrom * MR;
  memory.fill(c + <usize>(rowStart * ldc) * 4, 0, <usize>((panelTo - panelFrom) * MR * ldc) * 4);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    for (let p0 = panelFrom; p0 < panelTo; p0 += MC / MR) {
      const p1 = min(p0 + MC / MR, panelTo);
      for (let q = 0; q < colPanels; q++) {
        const bPanel = b + <usize>((q * K + k0) * NR) * 4;
        for (let p = p0; p < p1; p++) {
          // A's two rows: in place (rows rs apart, 4 bytes per k), or a packed panel (interleaved, 8).
          let at = a + <usize>(((p - aFirst) * K + k0) * MR) * 4;
          let lda: usize = 4;
          let step: usize = 8;
          if (inPlace && p < packedFrom) {
            at = a + <usize>(p * MR * rs + k0) * 4;
            lda = <usize>rs * 4;
            step = 4;
          } else if (inPlace) at = tail + <usize>(k0 * MR) * 4;
          microKernel(kc, at, lda, step, bPanel, c + <usize>((p * MR * ldc) + q * NR) * 4, ldc);
        }
      }
    }
  }
}

/** Moves the M x N result out of the padded grid into dense rows at `dst` (may equal `c`). */
export function unpadRows(c: usize, M: i32, N: i32, dst: usize): void {
  const ldc = ((N + NR - 1) / NR) * NR;
  for (let i = 0; i < M; i++) memory.copy(dst + <usize>(i * N) * 4, c + <usize>(i * ldc) * 4, <usize>N * 4);
}
