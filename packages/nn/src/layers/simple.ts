import { checkOptionKeys } from '@tsgrad/tensor';
import type { Tensor } from '@tsgrad/autograd';
import { dropout, gelu } from '../functional/activations.js';
import { Module } from '../module.js';

/** max(x, 0). */
export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** Gaussian error linear unit: exact (erf) by default, or `{ approximate: 'tanh' }`. */
export class GELU extends Module {
  constructor(readonly opts: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    checkOptionKeys('GELU', opts, ['approximate']);
    if (opts.approximate !== undefined && opts.approximate !== 'none' && opts.approximate !== 'tanh') {
      throw new Error(`GELU: approximate must be 'none' or 'tanh', got ${String(opts.approximate)}`);
    }
  }
  override forward(x: Tensor): Tensor {
    return gelu(x, this.opts.approximate ?? 'none');
  }
}

export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/**
 * Zeroes elements with probability `p` in training (seeded by `manualSeed`), scaling the rest by
 * 1/(1−p); the identity in evaluation.
 */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`dropout probability has to be between 0 and 1, but got ${p}`);
  }
  override forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Flattens dims startDim..endDim (default: all but the batch dim). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}
