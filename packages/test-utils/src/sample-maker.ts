import type { Tensor } from '@tsgrad/autograd';
import { Generator, tensor, type DType } from '@tsgrad/autograd';
import { numel } from '@tsgrad/tensor';

export type ValueKind = 'randn' | 'pos' | 'bool' | 'index';

export interface MakeOptions {
  kind?: ValueKind;
  /** Make the tensor a transposed view (last two dims) of its storage. */
  t?: boolean;
  /** Exclusive upper bound of `index` values. */
  high?: number;
  dtype?: DType;
}

/**
 * Seeded sample tensors for op tests: float64 by default, optionally transposed views, so every op
 * is exercised on strided memory. Floating samples are leaves that require grad.
 */
export class SampleMaker {
  readonly gen: Generator;
  constructor(seed = 0) {
    this.gen = new Generator(seed);
  }

  /** A random int in [lo, hi]. */
  size(lo = 1, hi = 4): number {
    return this.gen.int(lo, hi + 1);
  }

  make(shape: number[], opts: MakeOptions = {}): Tensor {
    const { kind = 'randn', t = false, high = 2, dtype = 'float64' } = opts;
    const base = t && shape.length >= 2 ? [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]] : shape;
    const n = numel(base);
    const values = Array.from({ length: n }, () => {
      if (kind === 'pos') return 0.5 + 1.5 * this.gen.random();
      if (kind === 'bool') return this.gen.random() < 0.5 ? 1 : 0;
      if (kind === 'index') return this.gen.int(0, high);
      return this.gen.normal();
    });
    const dt: DType = kind === 'bool' ? 'bool' : kind === 'index' ? 'int32' : dtype;
    let x = tensor(values, { dtype: dt }).reshape(base);
    if (t && shape.length >= 2) x = x.transpose(-1, -2).detach();
    if (dt === 'float64' || dt === 'float32') x.requiresGrad_(true);
    return x;
  }

  /** A shape that broadcasts against `shape`: some dims set to 1, maybe leading dims dropped. */
  broadcastable(shape: number[]): number[] {
    const drop = this.gen.int(0, shape.length);
    return shape.slice(drop).map((d) => (this.gen.random() < 0.4 ? 1 : d));
  }
}
