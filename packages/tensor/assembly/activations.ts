// GELU and its gradient in one SIMD pass each (float32). The block interpreter (expression.ts) runs
// them too, but as one sweep over a block per operation: 9 sweeps forward and 19 for the gradient,
// about as much time again as their erf and exp. These kernels do the same float32 operations, on the same
// operands in the same order, as the interpreter does for the declared expressions
// (src/ops/elementwise-ops.ts), so the results are the interpreter's bit for bit
// (test/wasm-kernels.test.ts checks it, NaN and infinities included).
import { erfv, expv, gatherLanes, scatterLanes } from './transcendental';

// Operation codes: GELU continues the unary codes (transcendental.ts ends at ERF = 8), GELU_GRAD the
// binary ones (elementwise.ts ends at GE = 11). Declared in src/ops/elementwise-ops.ts (`wasm`, `gradWasm`).
export const GELU = 9;
export const GELU_GRAD = 12;

/** x * 0.5 * (1 + erf(x * 0.7071067811865476)), as `(x * 0.5) * (1 + erf(x * c))`. */
@inline
function gelu(x: v128): v128 {
  const half = f32x4.mul(x, f32x4.splat(0.5));
  const e = erfv(f32x4.mul(x, f32x4.splat(0.7071067811865476)));
  return f32x4.mul(half, f32x4.add(f32x4.splat(1), e));
}

/**
 * g * (cdf + x * pdf), cdf = 0.5 * (1 + erf(x * 0.7071067811865476)), pdf = exp(-0.5 * x * x) *
 * 0.3989422804014327: Φ(x) + x φ(x), PyTorch's GeluBackward.
 */
@inline
function geluGrad(g: v128, x: v128): v128 {
  const cdf = f32x4.mul(f32x4.splat(0.5), f32x4.add(f32x4.splat(1), erfv(f32x4.mul(x, f32x4.splat(0.7071067811865476)))));
  const pdf = f32x4.mul(expv(f32x4.mul(f32x4.mul(f32x4.splat(-0.5), x), x)), f32x4.splat(0.3989422804014327));
  return f32x4.mul(g, f32x4.add(cdf, f32x4.mul(x, pdf)));
}

/**
 * One row of GELU (`x` at element stride sx). A row's tail and strided rows are gathered into
 * vectors and go through the same code, as in transcendental.ts.
 */
export function geluRow(x: usize, sx: i32, out: usize, len: i32): void {
  let i = 0;
  if (sx == 1) {
    for (; i + 4 <= len; i += 4) v128.store(out + <usize>i * 4, gelu(v128.load(x + <usize>i * 4)));
  }
  for (; i < len; i += 4) {
    const n = min(len - i, 4);
    scatterLanes(out + <usize>i * 4, gelu(gatherLanes(x + <usize>(i * sx) * 4, sx, n)), n);
  }
}

/** One row of GELU's gradient from g (stride sg) and x (stride sx). */
export function geluGradRow(g: usize, sg: i32, x: usize, sx: i32, out: usize, len: i32): void {
  let i = 0;
  if (sg == 1 && sx == 1) {
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i * 4;
      v128.store(out + o, geluGrad(v128.load(g + o), v128.load(x + o)));
    }
  }
  for (; i < len; i += 4) {
    const n = min(len - i, 4);
    scatterLanes(out + <usize>i * 4, geluGrad(gatherLanes(g + <usize>(i * sg) * 4, sg, n), gatherLanes(x + <usize>(i * sx) * 4, sx, n)), n);
  }
}
