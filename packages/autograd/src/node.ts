import { creationStack, isAnomalyEnabled } from './anomaly.js';
import type { PrimitiveAttrs, PrimitiveOp } from './primitives.js';
import type { Tensor } from './tensor.js';

/** What a gradient rule may read: the op's inputs and output as they were at forward time. */
export interface SavedContext<K extends PrimitiveOp = PrimitiveOp> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: PrimitiveAttrs[K];
  /** Per input: whether the backward pass needs its gradient (rules may skip the others). */
  readonly needsGrad: readonly boolean[];
}

/**
 * One recorded primitive op: the graph edge from an output back to its inputs (micrograd's `_prev`
 * plus `_backward`, with the rule looked up by `op` in the gradients table).
 * @example
 * const y = x.exp(); // x.requiresGrad
 * y.gradFn?.op // 'exp'
 */
export class Node<K extends PrimitiveOp = PrimitiveOp> {
  /**
   * Inputs that need a gradient, others null: what the backward sweep follows. Emptied with `saved`
   * after a backward pass without `retainGraph`, so that a tensor kept after backward (a loss pushed
   * onto a history) holds only its own small node, not the step's activations (PyTorch frees them too).
   */
  next: readonly (Tensor | null)[];
  /** Dropped after a backward pass without `retainGraph`; a second pass then fails clearly. */
  saved: SavedContext<K> | null;
  private readonly versions: readonly number[];
  private readonly outputVersion: number;
  /** Where the forward op ran, recorded only under anomaly detection (see anomaly.ts). */
  readonly trace: string | null = isAnomalyEnabled() ? creationStack() : null;

  constructor(
    readonly op: K,
    inputs: readonly Tensor[],
    attrs: PrimitiveAttrs[K],
    output: Tensor,
  ) {
    const needsGrad = inputs.map((t) => t.requiresGrad);
    this.next = inputs.map((t, i) => (needsGrad[i] ? t : null));
    this.versions = inputs.map((t) => t._version.value);
    this.outputVersion = output._version.value;
    // The output is checked when a rule reads it (exp, sigmoid, tanh, sqrt, pow, max, ... use their
    // result): an in-place write to it under noGrad would otherwise feed the rule the new values.
    const checkOutput = () => this.checkOutputVersion(output);
    this.saved = {
      inputs,
      attrs,
      needsGrad,
      get output(): Tensor {
        checkOutput();
        return output;
      },
    };
  }

  /**
   * Drops everything the backward pass needed (see `next`).
   * @example
   * // backward() does this for every node unless retainGraph is set:
   * loss.gradFn?.release();
   */
  release(): void {
    this.saved = null;
    this.next = [];
  }

  private checkOutputVersion(output: Tensor): void {
    if (output._version.value !== this.outputVersion) {
      throw new Error(
        `one of the variables needed for gradient computation has been modified by an inplace operation: ` +
          `output 0 of ${this.op} (shape [${output.shape.join(', ')}], dtype ${output.dtype}) is at version ` +
          `${output._version.value}; expected version ${this.outputVersion} instead`,
      );
    }
  }

  /**
   * Throws PyTorch's message when an input was modified in place after this op read it.
   * @example
   * const y = x.exp();
   * noGrad(() => x.add_(1));
   * y.gradFn?.checkVersions(); // Error: ... modified by an inplace operation
   */
  checkVersions(): void {
    const saved = this.saved;
    if (!saved) return;
    saved.inputs.forEach((t, i) => {
      if (t._version.value !== this.versions[i]) {
        throw new Error(
          `one of the variables needed for gradient computation has been modified by an inplace operation: ` +
            `input ${i} of ${this.op} (shape [${t.shape.join(', ')}], dtype ${t.dtype}) is at version ` +
            `${t._version.value}; expected version ${this.versions[i]} instead`,
        );
      }
    });
  }
}
