import { autocastOp, fusedLayerNorm, fusedLayerNormAvailable, noGrad, where, type Tensor } from '@tsgrad/autograd';
import { checkOptionKeys, finfoEps, formatShape, isHalf, shapesEqual } from '@tsgrad/tensor';

export interface BatchNormArgs {
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  weight: Tensor | null;
  bias: Tensor | null;
  training: boolean;
  /** The running-average factor (PyTorch's `exponential_average_factor`). */
  momentum: number;
  eps: number;
}

/**
 * Batch normalization over every dim but 1 (channels). In training (or without running stats) it
 * normalizes with the batch mean and the *biased* variance and updates the running stats with the
 * *unbiased* variance (PyTorch's rule); in evaluation it uses the running stats.
 * @example
 * const args = { runningMean: null, runningVar: null, weight: null, bias: null, training: true, momentum: 0.1, eps: 0 };
 * F.batchNorm(tensor([[1], [3]]), args).tolist() // [[-1], [1]]
 */
export function batchNorm(x: Tensor, a: BatchNormArgs, who = 'batch_norm'): Tensor {
  checkOptionKeys(who, a, ['runningMean', 'runningVar', 'weight', 'bias', 'training', 'momentum', 'eps']);
  return mixedHalf(x, [a.weight, a.bias, a.runningMean, a.runningVar], (v) => batchNormSameDtype(v, a, who));
}

function batchNormSameDtype(x: Tensor, a: BatchNormArgs, who: string): Tensor {
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const channels = x.shape[1];
  const statShape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const useBatch = a.training || a.runningMean === null || a.runningVar === null;
  if (useBatch) {
    const n = x.numel() / channels;
    if (a.training && n <= 1) {
      throw new Error(`${who}: Expected more than 1 value per channel when training, got input size ${formatShape(x.shape)}`);
    }
    const mean = x.mean(axes, { keepdim: true });
    const centered = x.sub(mean);
    const variance = centered.mul(centered).mean(axes, { keepdim: true });
    if (a.training && a.runningMean && a.runningVar) {
      const rm = a.runningMean;
      const rv = a.runningVar;
      const f = a.momentum;
      noGrad(() => {
        const batchMean = mean.reshape([channels]);
        const unbiased = variance.reshape([channels]).mul(n / (n - 1));
        rm.copy_(batchMean.mul(f).add(rm.mul(1 - f)));
        rv.copy_(unbiased.mul(f).add(rv.mul(1 - f)));
      });
    }
    return affine(a.eps === 0 ? zeroVarianceSafe(centered, variance) : centered.div(variance.add(a.eps).sqrt()), a, statShape);
  }
  const mean = a.runningMean!.reshape(statShape);
  const variance = a.runningVar!.reshape(statShape);
  return affine(x.sub(mean).div(variance.add(a.eps).sqrt()), a, statShape);
}

/**
 * centered / √variance with eps 0, as PyTorch's training-mode `InvStd`: a channel of zero variance gets
 * invstd 0, so its output is the bias and its gradient 0, not 0 / 0 = NaN. The zero channels divide
 * by 1 instead of 0, so no NaN reaches the gradient either.
 */
function zeroVarianceSafe(centered: Tensor, variance: Tensor): Tensor {
  const zero = variance.eq(0);
  return where(zero, 0, centered.div(where(zero, 1, variance).sqrt()));
}

/**
 * A float16/bfloat16 input with float32 parameters (autocast's `Linear -> LayerNorm`) runs `norm` in
 * float32 and returns the input's dtype, as PyTorch 2.x's mixed-dtype CPU norm kernels (1.13 rejects
 * the mix); the casts are differentiable, so the input's gradient comes back in its dtype and the
 * parameters' in float32. Any other mix promotes as the composite's ops do.
 */
function mixedHalf(x: Tensor, params: readonly (Tensor | null | undefined)[], norm: (x: Tensor) => Tensor): Tensor {
  if (!isHalf(x.dtype) || !params.some((p) => p?.dtype === 'float32')) return norm(x);
  return norm(x.to('float32')).to(x.dtype);
}

function affine(normalized: Tensor, a: { weight: Tensor | null; bias: Tensor | null }, shape: number[]): Tensor {
  let y = normalized;
  if (a.weight) y = y.mul(a.weight.reshape(shape));
  if (a.bias) y = y.add(a.bias.reshape(shape));
  return y;
}

/**
 * Throws unless `x` ends in `normalizedShape` (PyTorch's `_check_layer_norm_inputs`, shared by layer_norm
 * and rms_norm); returns the dims to normalize over.
 */
function normalizedAxes(who: string, x: Tensor, normalizedShape: number[]): number[] {
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (x.ndim < k || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new Error(
      `${who}: given normalized_shape=${formatShape(normalizedShape)}, expected input with shape [*, ${normalizedShape.join(', ')}], but got input of size ${formatShape(x.shape)}`,
    );
  }
  return normalizedShape.map((_, i) => x.ndim - k + i);
}

/**
 * Layer normalization over the trailing `normalizedShape` dims (biased variance).
 * @example
 * F.layerNorm(tensor([[1, 3]]), [2], { eps: 0 }).tolist() // [[-1, 1]]
 */
export const layerNorm = autocastOp('layerNorm', function layerNorm(x: Tensor, normalizedShape: number[], opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  checkOptionKeys('layer_norm', opts, ['weight', 'bias', 'eps']);
  const axes = normalizedAxes('layer_norm', x, normalizedShape);
  for (const [name, p] of [['weight', opts.weight], ['bias', opts.bias]] as const) {
    if (p && !shapesEqual(p.shape, normalizedShape)) {
      throw new Error(`layer_norm: Expected ${name} to be of same shape as normalized_shape, but got ${name} of shape ${formatShape(p.shape)} and normalized_shape = ${formatShape(normalizedShape)}`);
    }
  }
  const { weight = null, bias = null } = opts;
  // A half input computes in float32 and is rounded once, half parameters widened too, as ATen's
  // CPU layer norm computes half in float (a composite in half would round every step).
  if (isHalf(x.dtype) && [weight, bias].every((p) => p === null || p.dtype === 'float32' || p.dtype === x.dtype)) {
    const wide = (p: Tensor | null) => (p && isHalf(p.dtype) ? p.to('float32') : p);
    return layerNormSameDtype(x.to('float32'), axes, { ...opts, weight: wide(weight), bias: wide(bias) }).to(x.dtype);
  }
  return layerNormSameDtype(x, axes, opts);
});

/**
 * One primitive (`fusedLayerNorm`: the backend's kernels on the CPU and WebGPU, composed from ops elsewhere;
 * the graph keeps the rows' mean and 1/std, not five row-sized intermediates) whenever x, weight and
 * bias share a dtype; a mix that promotes (a float32 input with float64 parameters) runs the
 * composite below.
 */
function layerNormSameDtype(x: Tensor, axes: number[], opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number }): Tensor {
  if (fusedLayerNormAvailable(x, opts.weight ?? null, opts.bias ?? null)) {
    return fusedLayerNorm(x, axes.reduce((n, a) => n * x.shape[a], 1), { weight: opts.weight ?? null, bias: opts.bias ?? null, eps: opts.eps ?? 1e-5 });
  }
  const mean = x.mean(axes, { keepdim: true });
  const centered = x.sub(mean);
  const variance = centered.mul(centered).mean(axes, { keepdim: true });
  let y = centered.div(variance.add(opts.eps ?? 1e-5).sqrt());
  if (opts.weight) y = y.mul(opts.weight);
  if (opts.bias) y = y.add(opts.bias);
  return y;
}


/**
 * Root-mean-square normalization over the trailing `normalizedShape` dims (PyTorch ≥ 2.4's
 * `F.rms_norm`): y = x / √(mean(x²) + eps) · weight, with no centering and no bias. `eps` defaults to
 * the machine epsilon of x's dtype (`torch.finfo(x.dtype).eps`: 2⁻²³ for float32, 2⁻⁵² for float64).
 * PyTorch 1.13 has no rms_norm: the tests check it against a naive float64 implementation of this formula.
 * @example
 * F.rmsNorm(tensor([[3, 4]]), [2], { eps: 0 }).tolist() // [[0.8485…, 1.1313…]] (rms = √12.5)
 */
export function rmsNorm(x: Tensor, normalizedShape: number[], opts: { weight?: Tensor | null; eps?: number | null } = {}): Tensor {
  checkOptionKeys('rms_norm', opts, ['weight', 'eps']);
  const axes = normalizedAxes('rms_norm', x, normalizedShape);
  // eps defaults to the input's epsilon even when it computes in float32 (torch's rms_norm reads input.dtype).
  const eps = opts.eps ?? finfoEps(x.dtype, 'rms_norm');
  return mixedHalf(x, [opts.weight], (v) => {
    const y = v.mul(v.square().mean(axes, { keepdim: true }).add(eps).rsqrt());
    return opts.weight ? y.mul(opts.weight) : y;
  });
}

/**
 * Group normalization (PyTorch's `F.group_norm`): the channels (dim 1) of [N, C, *] input are split
 * into `numGroups` groups, each sample's group is normalized over its channels and spatial positions
 * (biased variance), then `weight` and `bias` ([C]) scale and shift each channel.
 * @example
 * F.groupNorm(tensor([[1, 3, 5, 9]]), 2, { eps: 0 }).tolist() // [[-1, 1, -1, 1]]
 */
export const groupNorm = autocastOp('groupNorm', function groupNorm(x: Tensor, numGroups: number, opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  checkOptionKeys('group_norm', opts, ['weight', 'bias', 'eps']);
  if (x.ndim < 2) throw new Error(`group_norm: Expected at least 2 dimensions for input tensor but received ${x.ndim}`);
  const channels = x.shape[1];
  if (!Number.isInteger(numGroups) || numGroups <= 0 || channels % numGroups !== 0) {
    throw new Error(`group_norm: Expected number of channels in input to be divisible by num_groups, but got input of shape ${formatShape(x.shape)} and num_groups=${numGroups}`);
  }
  for (const [name, t] of [['weight', opts.weight], ['bias', opts.bias]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== channels)) {
      throw new Error(`group_norm: Expected ${name} to be a vector of size equal to the number of channels in input, but got ${name} of shape ${formatShape(t.shape)} and input of shape ${formatShape(x.shape)}`);
    }
  }
  return mixedHalf(x, [opts.weight, opts.bias], (v) => groupNormSameDtype(v, numGroups, opts));
});

function groupNormSameDtype(x: Tensor, numGroups: number, opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number }): Tensor {
  const [n] = x.shape;
  const perGroup = x.numel() / Math.max(n * numGroups, 1);
  // A group of one sample is a row of [N, G, C/G · spatial]: layer normalization of that row.
  const normalized = layerNorm(x.reshape([n, numGroups, perGroup]), [perGroup], { eps: opts.eps ?? 1e-5 }).reshape(x.shape);
  return affine(normalized, { weight: opts.weight ?? null, bias: opts.bias ?? null }, x.shape.map((d, i) => (i === 1 ? d : 1)));
}
