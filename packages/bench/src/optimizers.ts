import { manualSeed, randn, type Tensor } from '@tsgrad/autograd';
import { AdamW, Adam, SGD, type Optimizer } from '@tsgrad/optim';
import { timeMedian, type BenchRow, benchRows } from './timing.js';

/**
 * The ceiling a JavaScript optimizer can hope for: Adam written as one fused loop over Float32Arrays,
 * constants hoisted, nothing else (no state bookkeeping, no dispatch).
 */
function plainFusedAdam(p: Float32Array[], g: Float32Array[], m: Float32Array[], v: Float32Array[], step: number): void {
  const lr = 1e-3;
  const b1 = 0.9;
  const b2 = 0.999;
  const stepSize = lr / (1 - b1 ** step);
  const bc2 = Math.sqrt(1 - b2 ** step);
  for (let t = 0; t < p.length; t++) {
    const pt = p[t];
    const gt = g[t];
    const mt = m[t];
    const vt = v[t];
    for (let i = 0; i < pt.length; i++) {
      const gi = gt[i];
      mt[i] = mt[i] * b1 + (1 - b1) * gi;
      vt[i] = vt[i] * b2 + (1 - b2) * gi * gi;
      pt[i] -= stepSize * (mt[i] / (Math.sqrt(vt[i]) / bc2 + 1e-8));
    }
  }
}

/** SGD with momentum as one fused loop (the ceiling for SGD). */
function plainFusedSgdMomentum(p: Float32Array[], g: Float32Array[], buf: Float32Array[]): void {
  const lr = 1e-3;
  const momentum = 0.9;
  for (let t = 0; t < p.length; t++) {
    const pt = p[t];
    const gt = g[t];
    const bt = buf[t];
    for (let i = 0; i < pt.length; i++) {
      bt[i] = bt[i] * momentum + gt[i];
      pt[i] -= lr * bt[i];
    }
  }
}

/** Fused optimizer steps on `total` float32 parameters in `tensors` tensors, beside the plain JS loop. */
export function benchOptimizers(total = 10_000_000, tensors = 100): BenchRow[] {
  manualSeed(0);
  const per = total / tensors;
  const params: Tensor[] = Array.from({ length: tensors }, () => randn([per]).requiresGrad_());
  for (const p of params) p.grad = randn([per]).mul(0.01);
  const rows = benchRows();
  const mparams = (s: number) => total / s / 1e6;
  const cases: [string, () => Optimizer<{ lr: number }>][] = [
    ['Adam', () => new Adam(params, { lr: 1e-3 }) as unknown as Optimizer<{ lr: number }>],
    ['AdamW', () => new AdamW(params, { lr: 1e-3, weightDecay: 0.01 }) as unknown as Optimizer<{ lr: number }>],
    ['SGD momentum', () => new SGD(params, { lr: 1e-3, momentum: 0.9 }) as unknown as Optimizer<{ lr: number }>],
  ];
  for (const [name, make] of cases) {
    const opt = make();
    opt.step(); // allocate state outside the timing
    rows.push({ suite: 'optimizer', case: `${name} 10M f32`, impl: 'tsgrad fused cpu', value: mparams(timeMedian(() => opt.step(), { runs: 5 })), unit: 'Mparam/s' });
  }
  const arrays = (f: () => Float32Array) => Array.from({ length: tensors }, f);
  const p = arrays(() => new Float32Array(per).fill(0.5));
  const g = arrays(() => new Float32Array(per).fill(0.01));
  const m = arrays(() => new Float32Array(per));
  const v = arrays(() => new Float32Array(per));
  let step = 0;
  rows.push({ suite: 'optimizer', case: 'Adam 10M f32', impl: 'plain fused JS loop', value: mparams(timeMedian(() => plainFusedAdam(p, g, m, v, ++step), { runs: 5 })), unit: 'Mparam/s' });
  rows.push({ suite: 'optimizer', case: 'SGD momentum 10M f32', impl: 'plain fused JS loop', value: mparams(timeMedian(() => plainFusedSgdMomentum(p, g, m), { runs: 5 })), unit: 'Mparam/s' });
  return rows;
}
