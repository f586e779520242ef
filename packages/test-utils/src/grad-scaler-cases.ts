/**
 * A naive float64 GradScaler (PyTorch 2.x's torch/amp/grad_scaler.py and the CPU `_amp_update_scale_`,
 * written out independently of the implementation) driving SGD with momentum on the loss
 * sum(a_t ⊙ w ⊙ w), whose gradient is 2 a_t ⊙ w. torch 1.13 (the installed reference) has no CPU
 * GradScaler and no CPU `_amp_update_scale_`/`_amp_foreach_non_finite_check_and_unscale_` kernels
 * (NotImplementedError on CPU tensors), so this float64 reference stands in for fixtures.
 */
export interface ScalerCase {
  name: string;
  options: { initScale: number; growthFactor: number; backoffFactor: number; growthInterval: number };
  w0: number[];
  /** Per step, the coefficients a_t; an entry of 1e305 overflows once scaled, NaN poisons the gradient. */
  coefficients: number[][];
  lr: number;
  momentum: number;
}

export interface ScalerTrajectory {
  /** getScale() after each update. */
  scales: number[];
  /** The steps (0-based) whose optimizer step was skipped. */
  skipped: number[];
  /** The parameters after each step. */
  params: number[][];
}

const f32 = new Float32Array(1);
function toFloat32(x: number): number {
  f32[0] = x;
  return f32[0];
}

export function referenceTrajectory(c: ScalerCase): ScalerTrajectory {
  let scale = toFloat32(c.options.initScale);
  let tracker = 0;
  const w = [...c.w0];
  const buf: (number | null)[] = w.map(() => null);
  const out: ScalerTrajectory = { scales: [], skipped: [], params: [] };
  c.coefficients.forEach((a, step) => {
    const grads = w.map((wi, i) => scale * 2 * a[i] * wi);
    const inv = toFloat32(1 / scale);
    const found = grads.some((g) => !Number.isFinite(g));
    const unscaled = grads.map((g) => g * inv);
    if (found) out.skipped.push(step);
    else {
      w.forEach((wi, i) => {
        const b = buf[i] === null ? unscaled[i] : c.momentum * buf[i] + unscaled[i];
        buf[i] = b;
        w[i] = wi - c.lr * b;
      });
    }
    if (found) {
      scale = toFloat32(scale * c.options.backoffFactor);
      tracker = 0;
    } else if (tracker + 1 === c.options.growthInterval) {
      const grown = toFloat32(scale * c.options.growthFactor);
      if (Number.isFinite(grown)) scale = grown;
      tracker = 0;
    } else tracker += 1;
    out.scales.push(scale);
    out.params.push([...w]);
  });
  return out;
}

const clean = (k: number) => [0.5, -1.25, 2, 0.75].map((x) => x * (1 + 0.1 * k));

/** Overflows (1e305 × scale is inf in float64 and float32) and a NaN, with growthInterval 3. */
export const SCALER_CASES: ScalerCase[] = [
  {
    name: 'overflows, NaN and growth every 3 clean steps',
    options: { initScale: 2 ** 16, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3 },
    w0: [1, -2, 0.5, 3],
    coefficients: Array.from({ length: 16 }, (_, k) => {
      const a = clean(k);
      if (k === 1 || k === 2) a[1] = 1e305;
      if (k === 9) a[3] = Number.NaN;
      if (k === 10) a[0] = -1e305;
      return a;
    }),
    lr: 0.01,
    momentum: 0.9,
  },
  {
    name: 'growth that would overflow float32 keeps the scale; odd factors round to float32',
    options: { initScale: 2 ** 125 * 1.5, growthFactor: 3, backoffFactor: 0.3, growthInterval: 1 },
    w0: [0.25, 1, -1, 2],
    coefficients: Array.from({ length: 8 }, (_, k) => {
      const a = clean(k);
      if (k === 4) a[2] = 1e305;
      return a;
    }),
    lr: 0.05,
    momentum: 0,
  },
];
