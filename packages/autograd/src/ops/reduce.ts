import { formatShape, isFloating, isHalf, normalizeDim } from '@tsgrad/tensor';
import { autocastOp } from '../autocast.js';
import { getDefaultDtype } from '../defaults.js';
import { apply } from '../primitives.js';
import type { Tensor } from '../tensor.js';
import { where } from './elementwise.js';
import { zeros } from '../creation.js';

/**
 * Normalizes a `dim` argument: undefined/null, and an empty list too, mean every dim. PyTorch 2.x's
 * `make_dim_mask` reduces over all dims for `dim=[]` (only `all`/`any` opt out); read as "no dims",
 * `x.sum([])` returned `x` unreduced and `x.var([])` all NaN.
 */
export function normAxes(dim: number | readonly number[] | null | undefined, ndim: number, op: string): number[] {
  if (dim === undefined || dim === null || (typeof dim !== 'number' && dim.length === 0)) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dim === 'number' ? [dim] : [...dim];
  const axes = list.map((d) => normalizeDim(d, ndim, op));
  if (new Set(axes).size !== axes.length) throw new Error(`${op}: dim ${formatShape(list)} appears multiple times in the list of dims`);
  return ndim === 0 ? [] : axes.sort((a, b) => a - b);
}

function floatInput(x: Tensor, op: string): Tensor {
  if (isFloating(x.dtype)) return x;
  throw new Error(`${op}(): could not infer output dtype. Input dtype must be a floating point dtype, got ${x.dtype}`);
}

export function sum(x: Tensor, dim: number | readonly number[] | null | undefined, keepdim: boolean): Tensor {
  const input = x.dtype === 'bool' ? x.to('int32') : x;
  return apply('sum', [input], { axes: normAxes(dim, x.ndim, 'sum'), keepdim });
}

/**
 * sum / count. A float16 or bfloat16 input is summed into float32, divided in float32 and rounded
 * once, as PyTorch 2.x's CPU `mean_out` ("cast_fp32 -> sum -> div -> cast"): a half sum rounded before
 * the division would round twice (bfloat16 `full([257], 3).mean()` gave 3.015625) and can overflow or
 * underflow on the way (float16's 70,000 as a divisor is inf). No float32 copy of x is made, and the
 * graph saves nothing: the gradient is g / count in x's dtype, expanded.
 */
export function mean(x: Tensor, dim: number | readonly number[] | null | undefined, keepdim: boolean): Tensor {
  floatInput(x, 'mean');
  const axes = normAxes(dim, x.ndim, 'mean');
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  if (isHalf(x.dtype)) return apply('sum', [x], { axes, keepdim, float32: true }).div(n).to(x.dtype);
  return sum(x, axes, keepdim).div(n);
}

export function extreme(op: 'max' | 'min', x: Tensor, dim: number | readonly number[] | null | undefined, keepdim: boolean): Tensor {
  const axes = normAxes(dim, x.ndim, op);
  for (const a of axes) {
    if (x.shape[a] === 0) {
      throw new Error(`${op}(): expected reduction dim ${a} to have non-zero size (input shape ${formatShape(x.shape)})`);
    }
  }
  return apply(op, [x], { axes, keepdim });
}

/**
 * `fn(x)` computed in float32 and rounded once when `x` is float16 or bfloat16, as PyTorch's fused CPU
 * kernels compute softmax, logsumexp and var of half tensors: a composite rounding every step in half
 * would lose the bits PyTorch keeps. The casts are differentiable, so gradients arrive in x's dtype.
 */
function inFloat32(x: Tensor, fn: (x: Tensor) => Tensor): Tensor {
  return isHalf(x.dtype) ? fn(x.to('float32')).to(x.dtype) : fn(x);
}

export function variance(x: Tensor, dim: number | readonly number[] | null | undefined, correction: number, keepdim: boolean): Tensor {
  floatInput(x, 'var');
  const axes = normAxes(dim, x.ndim, 'var');
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  return inFloat32(x, (x) => {
    const centered = x.sub(mean(x, axes, true));
    return sum(centered.mul(centered), axes, keepdim).div(Math.max(n - correction, 0));
  });
}

/**
 * The standard deviation, sqrt(var), with PyTorch's gradient at zero spread: 0, not the NaN of
 * sqrt'(0) · 0. The inner `where` keeps sqrt away from 0 so no inf reaches the chain rule; a NaN
 * variance is not 0 and stays NaN.
 */
export function std(x: Tensor, dim: number | readonly number[] | null | undefined, correction: number, keepdim: boolean): Tensor {
  return inFloat32(x, (x) => {
    const v = variance(x, dim, correction, keepdim);
    const flat = v.eq(0);
    return where(flat, 0, where(flat, 1, v).sqrt());
  });
}

export function argExtreme(op: 'argmax' | 'argmin', x: Tensor, dim: number | null | undefined, keepdim: boolean): Tensor {
  // PyTorch: "argmax_cpu" not implemented for 'Bool'.
  if (x.dtype === 'bool') throw new Error(`${op}(): not implemented for a bool tensor (convert it first, e.g. x.to('int32'))`);
  if (dim === undefined || dim === null) {
    if (x.numel() === 0) throw new Error(`${op}(): expected a non-empty tensor`);
    const flat = x.reshape([-1]);
    const out = apply(op, [flat], { axis: 0, keepdim: false });
    return keepdim ? out.reshape(x.shape.map(() => 1)) : out;
  }
  if (x.ndim === 0) return apply(op, [x.reshape([1])], { axis: 0, keepdim: false });
  return apply(op, [x], { axis: normalizeDim(dim, x.ndim, op), keepdim });
}

/**
 * A per-slice shift that makes exp() safe: the slice's max. Its value cancels, so it carries no
 * gradient. An infinite max is kept for softmax, as PyTorch's: x − max is then NaN where x = max = +inf
 * and −inf − (−inf) = NaN for an all −inf slice, so such a row is NaN. logsumexp (`finite`) shifts by
 * 0 instead, as PyTorch's does: logsumexp of a row holding +inf is +inf, of an all −inf row −inf.
 */
function stabilizer(x: Tensor, axes: number[], finite: boolean): Tensor {
  // Over an empty dim there is nothing to shift (and no max): logsumexp is then log 0 = -inf.
  if (axes.some((a) => x.shape[a] === 0)) return zeros(x.shape.map((d, i) => (axes.includes(i) ? 1 : d)), { dtype: x.dtype, device: x.device });
  const m = extreme('max', x, axes, true).detach();
  return finite ? where(m.abs().eq(Infinity), 0, m) : m;
}

function floatOrDefault(x: Tensor): Tensor {
  return isFloating(x.dtype) ? x : x.to(getDefaultDtype());
}

export function logsumexp(x: Tensor, dim: number | readonly number[], keepdim: boolean): Tensor {
  const input = floatOrDefault(x);
  const axes = normAxes(dim, x.ndim, 'logsumexp');
  return inFloat32(input, (input) => {
    const m = stabilizer(input, axes, true);
    const out = sum(input.sub(m).exp(), axes, true).log().add(m);
    return keepdim ? out : sum(out, axes, false);
  });
}

// softmax and logSoftmax of an integer or bool tensor are Errors, as PyTorch's ("softmax_lastdim_kernel_impl"
// not implemented for 'Long'): a silent cast would hide a tensor of class indices passed by mistake.
export function softmax(x: Tensor, dim: number): Tensor {
  const input = floatInput(x, 'softmax');
  const axes = normAxes(dim, x.ndim, 'softmax');
  return inFloat32(input, (input) => {
    const e = input.sub(stabilizer(input, axes, false)).exp();
    return e.div(sum(e, axes, true));
  });
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  const input = floatInput(x, 'logSoftmax');
  const axes = normAxes(dim, x.ndim, 'logSoftmax');
  return inFloat32(input, (input) => {
    const shifted = input.sub(stabilizer(input, axes, false));
    return shifted.sub(sum(shifted.exp(), axes, true).log());
  });
}

/**
 * Tensor's `sum`, `logsumexp`, `softmax` and `logSoftmax` with their autocast policies (on WebGPU,
 * CUDA's: a half input runs in float32 and gives float32). The composites of this file call the plain
 * functions, as a fused aten op does not re-enter autocast.
 */
export const Autocast = {
  sum: autocastOp('sum', sum),
  logsumexp: autocastOp('logsumexp', logsumexp),
  softmax: autocastOp('softmax', softmax),
  logSoftmax: autocastOp('logSoftmax', logSoftmax),
};
