// Fused optimizer steps over float32 memory: the hand-tuned renderings of @tsgrad/optim's programs
// (sgdProgram, adamProgram, rmspropProgram), which name these exports in their `native` declaration;
// the generated JavaScript of each program is the reference they are tested against.
//
// SGD and RMSprop: two elements per f64x2. Arithmetic is float64, in exactly the order of the programs,
// and every value PyTorch keeps in a tensor is rounded to float32 when stored: IEEE add, mul, div and
// sqrt are correctly rounded in both languages and wasm never contracts to fused multiply-add, so these
// kernels are bit-identical to the reference. Each processes an even count: the caller pads. Adam
// computes in float32 instead (see adamStep).
// Scalars the optimizer derives once per step (bias corrections, signs) come in precomputed.
//
// Each kernel's parameters are also declared by name, in order, in its exported enum `<kernel>Args`
// (AssemblyScript exports every member as a global: `adamStepArgs.beta1` is 6). The TypeScript side
// (src/cpu/wasm/program.ts) places each of a program's named `native.args` at the position the enum
// gives it, so a program cannot pass its arguments in the wrong order; keep each enum in the order of
// its function's parameters, right above it. (The parameters stay wasm parameters: reading them from
// an argument block in memory made the Adam loop twice as slow in V8, measured.)

@inline
function ld(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

@inline
function st(p: usize, x: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(x), 0);
}

@inline
function splat(x: f64): v128 {
  return f64x2.splat(x);
}

/** Multiplies p by `shrink` in place (decoupled weight decay) when shrink != 1, as PyTorch's p.mul_. */
@inline
function decay(p: usize, shrink: v128, on: bool): v128 {
  if (on) st(p, f64x2.mul(ld(p), shrink));
  return ld(p);
}

/** d = sign * g + coupled * w (PyTorch's maximize and coupled weight decay). */
@inline
function direction(g: v128, w: v128, sign: v128, coupled: v128): v128 {
  return f64x2.add(f64x2.mul(sign, g), f64x2.mul(coupled, w));
}

/**
 * SGD. `plain`: heavy-ball momentum without decay or maximize (the TypeScript kernel's branch-free
 * loop: buf = buf * momentum + keep * g; p = p - lr * buf). Otherwise the general step.
 */
export enum sgdStepArgs { p, g, buf, n, lr, momentum, keep, coupled, shrink, sign, plain, firstStep, nesterov, count }

export function sgdStep(
  p: usize, g: usize, buf: usize, n: i32,
  lr: f64, momentum: f64, keep: f64, coupled: f64, shrink: f64, sign: f64,
  plain: bool, firstStep: bool, nesterov: bool,
): void {
  const vlr = splat(lr), vmom = splat(momentum), vkeep = splat(keep);
  const vcoupled = splat(coupled), vshrink = splat(shrink), vsign = splat(sign);
  const decays = shrink != 1;
  for (let i = 0; i < n; i += 2) {
    const o = <usize>i * 4;
    if (plain) {
      st(buf + o, f64x2.add(f64x2.mul(ld(buf + o), vmom), f64x2.mul(vkeep, ld(g + o))));
      st(p + o, f64x2.sub(ld(p + o), f64x2.mul(vlr, ld(buf + o))));
      continue;
    }
    const w = decay(p + o, vshrink, decays);
    let d = direction(ld(g + o), w, vsign, vcoupled);
    if (buf) {
      st(buf + o, firstStep ? d : f64x2.add(f64x2.mul(ld(buf + o), vmom), f64x2.mul(vkeep, d)));
      d = nesterov ? f64x2.add(d, f64x2.mul(vmom, ld(buf + o))) : ld(buf + o);
    }
    st(p + o, f64x2.sub(w, f64x2.mul(vlr, d)));
  }
}

/**
 * Adam and AdamW (AMSGrad when `vmax` != 0), four elements per f32x4 in float32 arithmetic, in the
 * order of PyTorch's single-tensor float32 step (each tensor op rounds to float32):
 *   p *= shrink;  g = sign * g + coupled * p;  m = m * beta1 + (1 - beta1) * g;
 *   v = v * beta2 + (1 - beta2) * g * g;  vmax = max(vmax, v);
 *   p += (-stepSize * m) / (sqrt(vmax or v) / bc2Sqrt + eps)
 * Unlike the kernels above this one is not bit-identical to the float64-arithmetic TypeScript kernel:
 * float64 square roots and divisions made it compute-bound at a third of memory speed. It matches the
 * float64 reference to float32 precision, as PyTorch's float32 Adam does. Processes a multiple of 4.
 */
export enum adamStepArgs { p, g, m, v, vmax, n, beta1, beta2, eps, stepSize, bc2Sqrt, coupled, shrink, sign, plain, count }

export function adamStep(
  p: usize, g: usize, m: usize, v: usize, vmax: usize, n: i32,
  beta1: f64, beta2: f64, eps: f64, stepSize: f64, bc2Sqrt: f64,
  coupled: f64, shrink: f64, sign: f64, plain: bool,
): void {
  const vb1 = f32x4.splat(<f32>beta1), vb2 = f32x4.splat(<f32>beta2);
  const va1 = f32x4.splat(<f32>(1 - beta1)), va2 = f32x4.splat(<f32>(1 - beta2));
  const veps = f32x4.splat(<f32>eps), vstep = f32x4.splat(<f32>-stepSize), vbc2 = f32x4.splat(<f32>bc2Sqrt);
  const vcoupled = f32x4.splat(<f32>coupled), vshrink = f32x4.splat(<f32>shrink), vsign = f32x4.splat(<f32>sign);
  const decays = shrink != 1;
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i * 4;
    let w = v128.load(p + o);
    if (decays) w = f32x4.mul(w, vshrink);
    let d = v128.load(g + o);
    if (!plain) d = f32x4.add(f32x4.mul(vsign, d), f32x4.mul(vcoupled, w));
    const mi = f32x4.add(f32x4.mul(v128.load(m + o), vb1), f32x4.mul(va1, d));
    let vi = f32x4.add(f32x4.mul(v128.load(v + o), vb2), f32x4.mul(f32x4.mul(va2, d), d));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    if (vmax) {
      // NaN-propagating maximum, as torch.maximum: take `vi` where greater or NaN.
      const prev = v128.load(vmax + o);
      vi = v128.bitselect(vi, prev, v128.or(f32x4.gt(vi, prev), f32x4.ne(vi, vi)));
      v128.store(vmax + o, vi);
    }
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vi), vbc2), veps);
    v128.store(p + o, f32x4.add(w, f32x4.div(f32x4.mul(vstep, mi), denom)));
  }
}

/** RMSprop, optionally centered (`ga` != 0) and with momentum (`buf` != 0). */
export enum rmspropStepArgs { p, g, sq, ga, buf, n, lr, alpha, eps, momentum, coupled, shrink, sign, count }

export function rmspropStep(
  p: usize, g: usize, sq: usize, ga: usize, buf: usize, n: i32,
  lr: f64, alpha: f64, eps: f64, momentum: f64, coupled: f64, shrink: f64, sign: f64,
): void {
  const vlr = splat(lr), valpha = splat(alpha), va = splat(1 - alpha), veps = splat(eps), vmom = splat(momentum);
  const vcoupled = splat(coupled), vshrink = splat(shrink), vsign = splat(sign);
  const decays = shrink != 1;
  for (let i = 0; i < n; i += 2) {
    const o = <usize>i * 4;
    const w = decay(p + o, vshrink, decays);
    const d = direction(ld(g + o), w, vsign, vcoupled);
    st(sq + o, f64x2.add(f64x2.mul(ld(sq + o), valpha), f64x2.mul(f64x2.mul(va, d), d)));
    let avg: v128;
    if (ga) {
      st(ga + o, f64x2.add(f64x2.mul(ld(ga + o), valpha), f64x2.mul(va, d)));
      const mean = ld(ga + o);
      avg = f64x2.add(f64x2.sqrt(f64x2.sub(ld(sq + o), f64x2.mul(mean, mean))), veps);
    } else avg = f64x2.add(f64x2.sqrt(ld(sq + o)), veps);
    if (buf && momentum > 0) {
      st(buf + o, f64x2.add(f64x2.mul(ld(buf + o), vmom), f64x2.div(d, avg)));
      st(p + o, f64x2.sub(w, f64x2.mul(vlr, ld(buf + o))));
    } else st(p + o, f64x2.sub(w, f64x2.mul(vlr, f64x2.div(d, avg))));
  }
}
