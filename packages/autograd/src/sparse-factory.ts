import type { Tensor } from './tensor.js';

/**
 * Breaks an import cycle: `SparseTensor extends Tensor` (so its module needs tensor.ts evaluated),
 * while gradient rules, loaded by tensor.ts, must create sparse gradients. sparse.ts registers its
 * constructor here when it loads (the package entry loads it before any user code runs).
 */
type SparseFactory = (indices: Tensor, values: Tensor, shape: readonly number[]) => Tensor;
let factory: SparseFactory | null = null;

export function registerSparseFactory(f: SparseFactory): void {
  factory = f;
}

export function makeSparse(indices: Tensor, values: Tensor, shape: readonly number[]): Tensor {
  if (!factory) throw new Error('SparseTensor is not loaded: import it from @tsgrad/autograd');
  return factory(indices, values, shape);
}
