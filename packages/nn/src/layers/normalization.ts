import { ones, tensor, zeros, noGrad, type Tensor } from '@tsgrad/autograd';
import { formatShape, checkOptionKeys } from '@tsgrad/tensor';
import { batchNorm, layerNorm } from '../functional/index.js';
import { expectTensor } from '../input.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';

/** Modules that normalize activations: param-groups exempts their parameters from weight decay. */
export interface NormalizationLayer {
  readonly isNormalization: true;
}

export interface BatchNormOptions {
  eps?: number;
  /** Running-average factor; `null` for a cumulative moving average (1 / numBatchesTracked). */
  momentum?: number | null;
  affine?: boolean;
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
   * new BatchNorm1d(8).extraRepr()
   */
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, track_running_stats=${this.trackRunningStats}`;
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
   * new LayerNorm([64]).extraRepr()
   */
  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwise_affine=${this.weight !== null}`;
  }
}
