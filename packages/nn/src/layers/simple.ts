import { checkOptionKeys } from '@tsgrad/tensor';
import type { Tensor } from '@tsgrad/autograd';
import { dropout, gelu } from '../functional/activations.js';
import { Module } from '../module.js';
import { pyFloat, pyRepr } from '../repr.js';

/**
 * max(x, 0).
 * @example
 * new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10))
 */
export class ReLU extends Module {
  /**
   * max(x, 0).
   * @example
   * new ReLU().forward(tensor([-1, 2])).tolist() // [0, 2]
   */
  override forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/**
 * Gaussian error linear unit: exact (erf) by default, or `{ approximate: 'tanh' }`.
 * @example
 * new GELU({ approximate: 'tanh' }).forward(tensor([-1, 0, 1]))
 */
export class GELU extends Module {
  constructor(readonly opts: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    checkOptionKeys('GELU', opts, ['approximate']);
    if (opts.approximate !== undefined && opts.approximate !== 'none' && opts.approximate !== 'tanh') {
      throw new Error(`GELU: approximate must be 'none' or 'tanh', got ${String(opts.approximate)}`);
    }
  }
  /**
   * x·Φ(x), exact or tanh-approximated.
   * @example
   * new GELU().forward(tensor([0])).item() // 0
   */
  override forward(x: Tensor): Tensor {
    return gelu(x, this.opts.approximate ?? 'none');
  }
  /**
   * The approximation, as PyTorch prints it.
   * @example
   * new GELU({ approximate: 'tanh' }).extraRepr() // "approximate='tanh'"
   */
  override extraRepr(): string {
    return `approximate=${pyRepr(this.opts.approximate ?? 'none')}`;
  }
}

/**
 * The logistic function 1 / (1 + e^(−x)), as a module.
 * @example
 * new Sigmoid().forward(tensor([0])).item() // 0.5
 */
export class Sigmoid extends Module {
  /**
   * 1 / (1 + e^(−x)).
   * @example
   * new Sigmoid().forward(tensor([0])).item() // 0.5
   */
  override forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/**
 * The hyperbolic tangent, as a module.
 * @example
 * new Tanh().forward(tensor([0, 100])).tolist() // [0, 1]
 */
export class Tanh extends Module {
  /**
   * tanh(x).
   * @example
   * new Tanh().forward(tensor([0])).item() // 0
   */
  override forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/**
 * Zeroes elements with probability `p` in training (seeded by `manualSeed`), scaling the rest by
 * 1/(1−p); the identity in evaluation.
 * @example
 * const drop = new Dropout(0.5);
 * drop.forward(x); // training: half the elements zeroed, the rest ×2
 * drop.eval();
 * drop.forward(x); // evaluation: x unchanged
 */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`dropout probability has to be between 0 and 1, but got ${p}`);
  }
  /**
   * In training, zeroes each element with probability p and scales the rest by 1/(1 − p); in eval, x.
   * @example
   * new Dropout(0.1).eval().forward(x) // x
   */
  override forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
  /**
   * 'p=…', as printed.
   * @example
   * new Dropout(0.1).extraRepr() // 'p=0.1, inplace=False'
   */
  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=False`;
  }
}

/**
 * Flattens dims startDim..endDim (default: all but the batch dim).
 * @example
 * new Flatten().forward(randn([8, 3, 4, 4])).shape // [8, 48]
 */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  /**
   * Dimensions startDim..endDim merged (default: all but the batch).
   * @example
   * new Flatten().forward(randn([2, 3, 4])).shape // [2, 12]
   */
  override forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
  /**
   * The flattened dims, as PyTorch prints them.
   * @example
   * new Flatten().extraRepr() // 'start_dim=1, end_dim=-1'
   */
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}
