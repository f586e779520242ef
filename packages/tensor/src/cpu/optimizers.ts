import type { OptimizerKernel, OptimizerKernels, OptimizerStepArgs, View } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { isContiguous, numel } from '../shape.js';
import { optimizerStepWasm } from './wasm/optimizers.js';

/**
 * The CPU backend's fused optimizer steps: one pass over contiguous memory, scalars hoisted out of the
 * loop, no temporaries. The readable per-element reference of each lives in @tsgrad/optim, and tests
 * check these against it bit for bit. Arithmetic is float64; every value PyTorch keeps in a tensor
 * (the decayed parameter, each state buffer) is stored and read back, so float32 rounds where
 * PyTorch's float32 does.
 */
type Data = (v: View) => TypedArray;
type Kernel<K extends OptimizerKernel> = (p: TypedArray, g: TypedArray, state: Partial<Record<OptimizerKernels[K]['state'], TypedArray>>, h: OptimizerKernels[K]['hyper']) => void;

const sgd: Kernel<'sgd'> = (p, g, { momentumBuffer: buf }, h) => {
  const { lr, momentum, dampening, weightDecay: wd, nesterov, maximize, firstStep } = h;
  const coupled = h.decoupledWeightDecay ? 0 : wd;
  const shrink = h.decoupledWeightDecay ? 1 - lr * wd : 1;
  const sign = maximize ? -1 : 1;
  const keep = 1 - dampening;
  if (buf && !firstStep && !nesterov && coupled === 0 && sign === 1 && shrink === 1) {
    // The common case (heavy-ball momentum, decay not coupled): a branch-free loop.
    for (let i = 0; i < p.length; i++) {
      buf[i] = buf[i] * momentum + keep * g[i];
      p[i] = p[i] - lr * buf[i];
    }
    return;
  }
  for (let i = 0; i < p.length; i++) {
    if (shrink !== 1) p[i] *= shrink;
    const w = p[i];
    let d = sign * g[i] + coupled * w;
    if (buf) {
      buf[i] = firstStep ? d : buf[i] * momentum + keep * d;
      d = nesterov ? d + momentum * buf[i] : buf[i];
    }
    p[i] = w - lr * d;
  }
};

const adam: Kernel<'adam'> = (p, g, { expAvg: m, expAvgSq: v, maxExpAvgSq: vmax }, h) => {
  const { lr, beta1, beta2, eps, weightDecay: wd, maximize, step } = h;
  const coupled = h.decoupledWeightDecay ? 0 : wd;
  const shrink = h.decoupledWeightDecay ? 1 - lr * wd : 1;
  const sign = maximize ? -1 : 1;
  const stepSize = lr / (1 - beta1 ** step);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
  const a1 = 1 - beta1;
  const a2 = 1 - beta2;
  if (!m || !v) throw new Error('adam: fused step needs expAvg and expAvgSq state');
  if (coupled === 0 && sign === 1 && !vmax) {
    // The common case (Adam, AdamW): no gradient transform, no max buffer; a branch-free loop.
    for (let i = 0; i < p.length; i++) {
      if (shrink !== 1) p[i] *= shrink;
      const d = g[i];
      m[i] = m[i] * beta1 + a1 * d;
      v[i] = v[i] * beta2 + a2 * d * d;
      p[i] = p[i] - stepSize * (m[i] / (Math.sqrt(v[i]) / bc2Sqrt + eps));
    }
    return;
  }
  for (let i = 0; i < p.length; i++) {
    if (shrink !== 1) p[i] *= shrink;
    const w = p[i];
    const d = sign * g[i] + coupled * w;
    m[i] = m[i] * beta1 + a1 * d;
    v[i] = v[i] * beta2 + a2 * d * d;
    let second = v[i];
    if (vmax) {
      if (second > vmax[i] || second !== second) vmax[i] = second; // NaN-propagating, as torch.maximum
      second = vmax[i];
    }
    p[i] = w - stepSize * (m[i] / (Math.sqrt(second) / bc2Sqrt + eps));
  }
};

const adagrad: Kernel<'adagrad'> = (p, g, { sum }, h) => {
  const { lr, lrDecay, eps, weightDecay: wd, maximize, step } = h;
  const coupled = h.decoupledWeightDecay ? 0 : wd;
  const shrink = h.decoupledWeightDecay ? 1 - lr * wd : 1;
  const sign = maximize ? -1 : 1;
  const clr = lr / (1 + (step - 1) * lrDecay);
  if (!sum) throw new Error('adagrad: fused step needs sum state');
  for (let i = 0; i < p.length; i++) {
    if (shrink !== 1) p[i] *= shrink;
    const w = p[i];
    const d = sign * g[i] + coupled * w;
    sum[i] = sum[i] + d * d;
    p[i] = w - clr * (d / (Math.sqrt(sum[i]) + eps));
  }
};

const rmsprop: Kernel<'rmsprop'> = (p, g, { squareAvg: sq, gradAvg: ga, momentumBuffer: buf }, h) => {
  const { lr, alpha, eps, weightDecay: wd, momentum, maximize } = h;
  const coupled = h.decoupledWeightDecay ? 0 : wd;
  const shrink = h.decoupledWeightDecay ? 1 - lr * wd : 1;
  const sign = maximize ? -1 : 1;
  const a = 1 - alpha;
  if (!sq) throw new Error('rmsprop: fused step needs squareAvg state');
  for (let i = 0; i < p.length; i++) {
    if (shrink !== 1) p[i] *= shrink;
    const w = p[i];
    const d = sign * g[i] + coupled * w;
    sq[i] = sq[i] * alpha + a * d * d;
    let avg: number;
    if (ga) {
      ga[i] = ga[i] * alpha + a * d;
      avg = Math.sqrt(sq[i] - ga[i] * ga[i]) + eps;
    } else avg = Math.sqrt(sq[i]) + eps;
    if (buf && momentum > 0) {
      buf[i] = buf[i] * momentum + d / avg;
      p[i] = w - lr * buf[i];
    } else p[i] = w - lr * (d / avg);
  }
};


/** Runs a fused step when every view is contiguous; returns false otherwise (caller falls back). */
export function optimizerStepKernel<K extends OptimizerKernel>(kernel: K, args: OptimizerStepArgs<K>, data: Data): boolean {
  const views = [args.param, args.grad, ...(Object.values(args.state) as View[])];
  if (!views.every((v) => isContiguous(v.shape, v.strides))) return false;
  const n = numel(args.param.shape);
  const slice = (v: View) => {
    const d = data(v);
    return v.offset === 0 && d.length === n ? d : d.subarray(v.offset, v.offset + n);
  };
  const state = Object.fromEntries(Object.entries(args.state).map(([k, v]) => [k, slice(v as View)]));
  const p = slice(args.param);
  const g = slice(args.grad);
  if (optimizerStepWasm(kernel, p, g, state, args)) return true;
  // One call site per kernel keeps each monomorphic (a shared table call made V8 inline them badly).
  switch (kernel) {
    case 'sgd':
      sgd(p, g, state, args.hyper as OptimizerKernels['sgd']['hyper']);
      break;
    case 'adam':
      adam(p, g, state, args.hyper as OptimizerKernels['adam']['hyper']);
      break;
    case 'adagrad':
      adagrad(p, g, state, args.hyper as OptimizerKernels['adagrad']['hyper']);
      break;
    case 'rmsprop':
      rmsprop(p, g, state, args.hyper as OptimizerKernels['rmsprop']['hyper']);
      break;
    default:
      return false;
  }
  return true;
}
