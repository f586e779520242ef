import { Tensor, unscope } from '@tsgrad/autograd';

/**
 * A tensor that is a module's learnable state (PyTorch's `nn.Parameter`). Assigning one to a field of
 * a `Module` registers it; it requires grad by default and shares memory with the tensor it wraps.
 * @example this.scale = new Parameter(ones([4]));
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    if (!(data instanceof Tensor)) throw new Error(`Parameter: expected a Tensor, got ${typeof data}`);
    super(data.toView(), data._version);
    // A module's state is never a scope's: a Parameter made inside a scope outlives it.
    unscope(this);
    if (requiresGrad) this.requiresGrad_(true);
  }

  /**
   * Printed as PyTorch prints a parameter: `Parameter containing:` and the tensor.
   * @example
   * console.log(String(new Linear(2, 1).weight));
   */
  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }
}
