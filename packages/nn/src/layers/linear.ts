import { empty } from '../empty.js';
import type { Tensor } from '@tsgrad/autograd';
import { formatShape, checkOptionKeys } from '@tsgrad/tensor';
import { linear } from '../functional/index.js';
import { kaimingUniform_, uniform_ } from '../init.js';
import { expectTensor } from '../input.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { pyRepr } from '../repr.js';

/**
 * y = x Wᵀ + b (PyTorch's `nn.Linear`). weight [out, in] from kaiming-uniform with a = √5, which is
 * U(−1/√in, 1/√in), and bias from the same bound.
 * @example new Linear(784, 128).forward(x) // x [N, 784] -> [N, 128]
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  declare bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    checkOptionKeys('Linear', opts, ['bias']);
    for (const [n, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`Linear: Invalid ${n}: ${v} (expected a non-negative integer)`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = new Parameter(empty([outFeatures, inFeatures]));
    this.registerParameter('bias', opts.bias === false ? null : new Parameter(empty([outFeatures]))); // null: declared absent, as PyTorch's
    this.resetParameters();
  }

  /**
   * Re-draws weight and bias as PyTorch's `reset_parameters` does (Kaiming-uniform, bound 1/√in).
   * @example
   * layer.resetParameters();
   */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  /**
   * x · Wᵀ + b over the last dimension.
   * @example
   * new Linear(784, 10).forward(randn([8, 784])).shape // [8, 10]
   */
  override forward(x: Tensor): Tensor {
    expectTensor(x, this.toString());
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(`${this.toString()}: expected input with last dimension ${this.inFeatures}, got shape ${formatShape(x.shape)}`);
    }
    return linear(x, this.weight, this.bias);
  }

  /**
   * 'in_features=…, out_features=…, bias=…', as PyTorch prints it.
   * @example
   * new Linear(3, 2).extraRepr()
   */
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyRepr(this.bias !== null)}`;
  }
}
