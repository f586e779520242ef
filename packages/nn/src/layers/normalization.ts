import { ones, tensor, zeros, noGrad, type Tensor } from '@tsgrad/autograd';
import { formatShape, checkOptionKeys } from '@tsgrad/tensor';
import { batchNorm, groupNorm, layerNorm, rmsNorm } from '../functional/index.js';
import { expectTensor } from '../input.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { pyFloat, pyRepr } from '../repr.js';

/** Modules that normalize activations: param-groups exempts their parameters from weight decay. */
export interface NormalizationLayer {
  readonly isNormalization: true;
}

export interface BatchNormOptions {
  /**
   * ε added to the variance for numerical stability.
   * @defaultValue `1e-5`
   */
  eps?: number;
  /**
   * Running-average factor; `null` for a cumulative moving average (1 / numBatchesTracked).
   * @defaultValue `0.1`
   */
  momentum?: number | null;
  /**
   * Learnable per-channel scale γ (weight) and shift β (bias).
   * @defaultValue `true`
   */
  affine?: boolean;
  /**
   * Keep running mean and variance (buffers) for eval mode; without them eval mode normalizes with the batch statistics.
   * @defaultValue `true`
   */
  trackRunningStats?: boolean;
}

/**
 * The shared body of BatchNorm1d/2d (PyTorch's `_BatchNorm`). Parameters (learned, decayed only if
 * you choose): `weight` (γ), `bias` (β). Buffers (statistics, never optimized): `runningMean`,
 * `runningVar`, `numBatchesTracked`, saved as `running_mean`, `running_var`, `num_batches_tracked`.
 * @example
 * // BatchNorm1d and BatchNorm2d share it: param-groups exempts every instance from decay.
 * const norms = model.modules().filter((m) => m instanceof BatchNormBase);
 */
export abstract class BatchNormBase extends Module implements NormalizationLayer {
  readonly isNormalization = true as const;
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  declare weight: Parameter | null;
  declare bias: Parameter | null;
  declare runningMean: Tensor | null;
  declare runningVar: Tensor | null;
  declare numBatchesTracked: Tensor | null;

  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    checkOptionKeys(new.target.name, opts, ['eps', 'momentum', 'affine', 'trackRunningStats']);
    if (!Number.isInteger(numFeatures) || numFeatures <= 0) throw new Error(`${new.target.name}: Invalid numFeatures: ${numFeatures}`);
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    this.registerParameter('weight', this.affine ? new Parameter(ones([numFeatures])) : null);
    this.registerParameter('bias', this.affine ? new Parameter(zeros([numFeatures])) : null);
    if (this.trackRunningStats) {
      this.registerBuffer('runningMean', zeros([numFeatures]));
      this.registerBuffer('runningVar', ones([numFeatures]));
      this.registerBuffer('numBatchesTracked', tensor(0, { dtype: 'int32' }));
    } else {
      this.registerBuffer('runningMean', null);
      this.registerBuffer('runningVar', null);
      this.registerBuffer('numBatchesTracked', null);
    }
  }

  /** Throws unless the input's rank is right for this layer. */
  protected abstract checkInput(x: Tensor): void;

  /**
   * Normalizes with batch statistics in training (updating the running ones), with the running statistics in eval.
   * @example
   * new BatchNorm1d(128).forward(randn([64, 128])).shape // [64, 128]
   */
  override forward(x: Tensor): Tensor {
    expectTensor(x, this.toString());
    this.checkInput(x);
    if (x.shape[1] !== this.numFeatures) {
      throw new Error(`${this.toString()}: expected input with ${this.numFeatures} channels (dim 1), got shape ${formatShape(x.shape)}`);
    }
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.numBatchesTracked) {
      const count = this.numBatchesTracked;
      noGrad(() => count.add_(1));
      if (this.momentum === null) factor = 1 / count.item();
    }
    return batchNorm(
      x,
      {
        runningMean: !this.training || this.trackRunningStats ? this.runningMean : null,
        runningVar: !this.training || this.trackRunningStats ? this.runningVar : null,
        weight: this.weight,
        bias: this.bias,
        training: this.training || this.runningMean === null,
        momentum: factor,
        eps: this.eps,
      },
      this.constructor.name,
    );
  }

  /**
   * numFeatures, eps, momentum, affine, trackRunningStats, as printed.
   * @example
   * new BatchNorm1d(8).extraRepr() // '8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True'
   */
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${pyFloat(this.momentum)}, affine=${pyRepr(this.affine)}, track_running_stats=${pyRepr(this.trackRunningStats)}`;
  }
}

/**
 * Batch normalization of [N, C] or [N, C, L] input over N (and L), PyTorch's `nn.BatchNorm1d`.
 * @example const bn = new BatchNorm1d(64, { momentum: 0.1 }); bn.namedBuffers() // runningMean, runningVar, numBatchesTracked
 */
export class BatchNorm1d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new Error(`BatchNorm1d: expected 2D or 3D input (got ${x.ndim}D input of shape ${formatShape(x.shape)})`);
  }
}

/**
 * Batch normalization of [N, C, H, W] input over N, H, W, PyTorch's `nn.BatchNorm2d`.
 * @example
 * const bn = new BatchNorm2d(16);
 * bn.forward(randn([8, 16, 28, 28])).shape // [8, 16, 28, 28]
 */
export class BatchNorm2d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4) throw new Error(`BatchNorm2d: expected 4D input (got ${x.ndim}D input of shape ${formatShape(x.shape)})`);
  }
}

/**
 * Layer normalization over the trailing `normalizedShape` dims, PyTorch's `nn.LayerNorm`.
 * @example new LayerNorm([64]).forward(x) // x [..., 64]
 */
export class LayerNorm extends Module implements NormalizationLayer {
  readonly isNormalization = true as const;
  readonly normalizedShape: number[];
  readonly eps: number;
  declare weight: Parameter | null;
  declare bias: Parameter | null;

  constructor(normalizedShape: number | number[], opts: { eps?: number; elementwiseAffine?: boolean; bias?: boolean } = {}) {
    super();
    checkOptionKeys('LayerNorm', opts, ['eps', 'elementwiseAffine', 'bias']);
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    this.registerParameter('weight', affine ? new Parameter(ones(this.normalizedShape)) : null);
    this.registerParameter('bias', affine && opts.bias !== false ? new Parameter(zeros(this.normalizedShape)) : null);
  }

  /**
   * Normalizes over the trailing `normalizedShape` dimensions, then scales and shifts.
   * @example
   * new LayerNorm([64]).forward(randn([8, 64])).shape // [8, 64]
   */
  override forward(x: Tensor): Tensor {
    expectTensor(x, this.toString());
    return layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  /**
   * normalizedShape, eps and elementwiseAffine, as printed.
   * @example
   * new LayerNorm([64]).extraRepr() // '(64,), eps=1e-05, elementwise_affine=True'
   */
  override extraRepr(): string {
    return `${pyRepr(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyRepr(this.weight !== null)}`;
  }
}

/** `normalizedShape` as an array of non-negative integers, or an Error naming the layer and the value. */
function shapeArg(who: string, normalizedShape: number | number[]): number[] {
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : Array.isArray(normalizedShape) ? [...normalizedShape] : null;
  if (shape === null || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${who}: Invalid normalizedShape: ${JSON.stringify(normalizedShape)} (expected a non-negative integer or an array of them)`);
  }
  return shape;
}

/**
 * Root-mean-square normalization over the trailing `normalizedShape` dims, PyTorch ≥ 2.4's
 * `nn.RMSNorm`: y = x / √(mean(x²) + eps) · weight. No centering and no bias; `weight` starts at
 * ones (`elementwiseAffine: false` drops it). `eps` defaults to null, which means the machine
 * epsilon of the input's dtype (`torch.finfo(x.dtype).eps`). PyTorch 1.13, the reference installed
 * here, has no RMSNorm: its fixtures come from a naive float64 implementation of this formula
 * (scripts/gen_nn_fixtures.py), which torch's own differentiates.
 * @example
 * const norm = new RMSNorm(64);             // as in LLaMA's blocks
 * norm.forward(randn([8, 16, 64])).shape    // [8, 16, 64]
 * [...norm.stateDict().keys()]              // ['weight']
 */
export class RMSNorm extends Module implements NormalizationLayer {
  readonly isNormalization = true as const;
  readonly normalizedShape: number[];
  /** null: the machine epsilon of the input's dtype. */
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;
  declare weight: Parameter | null;

  constructor(normalizedShape: number | number[], opts: { eps?: number | null; elementwiseAffine?: boolean } = {}) {
    super();
    checkOptionKeys('RMSNorm', opts, ['eps', 'elementwiseAffine']);
    this.normalizedShape = shapeArg('RMSNorm', normalizedShape);
    const eps = opts.eps ?? null;
    if (eps !== null && !(typeof eps === 'number' && eps >= 0)) throw new Error(`RMSNorm: Invalid eps: ${String(eps)} (expected a number >= 0, or null for the dtype's machine epsilon)`);
    this.eps = eps;
    this.elementwiseAffine = opts.elementwiseAffine ?? true;
    this.registerParameter('weight', this.elementwiseAffine ? new Parameter(ones(this.normalizedShape)) : null);
  }

  /**
   * Divides by the root mean square over the trailing `normalizedShape` dims, then scales.
   * @example
   * new RMSNorm([4]).forward(tensor([[1, 1, 1, 1]])).tolist() // [[1, 1, 1, 1]] (up to eps)
   */
  override forward(x: Tensor): Tensor {
    expectTensor(x, this.toString());
    return rmsNorm(x, this.normalizedShape, { weight: this.weight, eps: this.eps });
  }

  /**
   * normalizedShape, eps and elementwiseAffine, as printed.
   * @example
   * new RMSNorm(8).extraRepr() // '(8,), eps=None, elementwise_affine=True'
   */
  override extraRepr(): string {
    return `${pyRepr(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyRepr(this.elementwiseAffine)}`;
  }
}

/**
 * Group normalization, PyTorch's `nn.GroupNorm`: the `numChannels` channels (dim 1) of [N, C, *]
 * input are split into `numGroups` groups, and each sample's group is normalized over its channels
 * and positions (biased variance), independently of the batch; then a per-channel `weight` (ones)
 * and `bias` (zeros) scale and shift (`affine: false` drops both).
 * @example
 * const gn = new GroupNorm(4, 16);            // 4 groups of 4 channels
 * gn.forward(randn([2, 16, 8, 8])).shape      // [2, 16, 8, 8]
 */
export class GroupNorm extends Module implements NormalizationLayer {
  readonly isNormalization = true as const;
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  declare weight: Parameter | null;
  declare bias: Parameter | null;

  constructor(numGroups: number, numChannels: number, opts: { eps?: number; affine?: boolean } = {}) {
    super();
    checkOptionKeys('GroupNorm', opts, ['eps', 'affine']);
    for (const [name, v] of [['numGroups', numGroups], ['numChannels', numChannels]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`GroupNorm: Invalid ${name}: ${v} (expected a positive integer)`);
    }
    if (numChannels % numGroups !== 0) throw new Error(`GroupNorm: numChannels must be divisible by numGroups (got numChannels=${numChannels}, numGroups=${numGroups})`);
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = opts.eps ?? 1e-5;
    this.affine = opts.affine ?? true;
    this.registerParameter('weight', this.affine ? new Parameter(ones([numChannels])) : null);
    this.registerParameter('bias', this.affine ? new Parameter(zeros([numChannels])) : null);
  }

  /**
   * Normalizes each sample's channel groups, then scales and shifts each channel.
   * @example
   * new GroupNorm(1, 2).forward(tensor([[[1, 3], [5, 7]]])).tolist() // ≈ [[[-1.34, -0.45], [0.45, 1.34]]]
   */
  override forward(x: Tensor): Tensor {
    expectTensor(x, this.toString());
    return groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  /**
   * numGroups, numChannels, eps and affine, as printed.
   * @example
   * new GroupNorm(2, 4).extraRepr() // '2, 4, eps=1e-05, affine=True'
   */
  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyRepr(this.affine)}`;
  }
}
