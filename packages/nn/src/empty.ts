import { zeros, type Tensor } from '@tsgrad/autograd';

/** A tensor to be filled by an initializer (PyTorch's `torch.empty`; zeros here, never garbage). */
export function empty(shape: number[]): Tensor {
  return zeros(shape);
}
