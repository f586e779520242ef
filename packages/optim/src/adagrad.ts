import { full, zerosLike, type Tensor } from '@tsgrad/autograd';
import type { OptimizerKernels } from '@tsgrad/tensor';
import { Optimizer, type StateSpec, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';
import { cpuData, sparseRows } from './sparse-rows.js';
import { applyUpdate, type ReferenceStep } from './update.js';
import { boolean, nonNegative } from './validation.js';

export interface AdagradOptions {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
  decoupledWeightDecay: boolean;
}

export const ADAGRAD_DEFAULTS: AdagradOptions = {
  lr: 1e-2,
  lrDecay: 0,
  weightDecay: 0,
  initialAccumulatorValue: 0,
  eps: 1e-10,
  maximize: false,
  decoupledWeightDecay: false,
};

export type AdagradHyper = OptimizerKernels['adagrad']['hyper'];

/** PyTorch's single-tensor Adagrad, one element at a time. */
export const adagradReference: ReferenceStep<'sum', AdagradHyper> = (p, g, { sum }, h) => {
  if (!sum) throw new Error('adagradReference: sum is required');
  const clr = h.lr / (1 + (h.step - 1) * h.lrDecay);
  for (let i = 0; i < p.length; i++) {
    let grad = h.maximize ? -g[i] : g[i];
    if (h.weightDecay !== 0) {
      if (h.decoupledWeightDecay) p[i] = p[i] * (1 - h.lr * h.weightDecay);
      else grad = grad + h.weightDecay * p[i];
    }
    sum[i] = sum[i] + grad * grad;
    p[i] = p[i] - clr * (grad / (Math.sqrt(sum[i]) + h.eps));
  }
};

/**
 * Adagrad, PyTorch's `torch.optim.Adagrad`.
 *
 * ```text
 * input: lr γ, lr decay η, weight decay λ, initial accumulator value s0, eps ε, maximize
 * s ← s0
 * for t = 1, 2, ...:
 *   g ← ∇f(θ)                          (−∇f(θ) if maximize)
 *   γ̃ ← γ / (1 + (t − 1) η)
 *   if λ ≠ 0:  g ← g + λ θ              (coupled) or θ ← θ (1 − γ λ) (decoupledWeightDecay)
 *   s ← s + g²
 *   θ ← θ − γ̃ g / (√s + ε)
 * ```
 *
 * Coupled decay λθ is also accumulated into s, so it shrinks the step of every later update; the
 * decoupled form does not touch s. State (`step`, `sum`) exists from construction, as in PyTorch.
 * Unlike PyTorch, which seeds `sum` from the constructor's `initial_accumulator_value` for every
 * group, each group's own `initialAccumulatorValue` is used.
 * Sparse gradients are not supported (tsgrad has no sparse tensors).
 *
 * @example const opt = new Adagrad(model.parameters(), { lr: 0.01, lrDecay: 1e-4 });
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  protected readonly stateSpec: StateSpec = { step: 'scalar', sum: 'tensor' };
  protected override readonly sparseGradients = 'accept' as const;

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<AdagradOptions> = {}) {
    super(params, ADAGRAD_DEFAULTS, options);
  }

  protected validate(o: Readonly<AdagradOptions>): void {
    nonNegative('lr', o.lr);
    nonNegative('lrDecay', o.lrDecay);
    nonNegative('weightDecay', o.weightDecay);
    nonNegative('initialAccumulatorValue', o.initialAccumulatorValue);
    nonNegative('eps', o.eps);
    boolean('maximize', o.maximize);
    boolean('decoupledWeightDecay', o.decoupledWeightDecay);
  }

  protected override initialState(param: Tensor, g: ParamGroup<AdagradOptions>): ParamState {
    const sum = g.initialAccumulatorValue === 0 ? zerosLike(param) : full(param.shape, g.initialAccumulatorValue, { dtype: param.dtype, device: param.device });
    return { step: 0, sum };
  }

  protected updateParameter(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<AdagradOptions>): void {
    if (state.sum === undefined) Object.assign(state, this.initialState(param, g));
    state.step = (state.step as number) + 1;
    if (grad.isSparse) {
      this.sparseUpdate(param, grad, state, g);
      return;
    }
    applyUpdate({
      optimizer: 'Adagrad',
      kernel: 'adagrad',
      param,
      grad,
      state: { sum: state.sum as Tensor },
      hyper: {
        lr: g.lr,
        lrDecay: g.lrDecay,
        eps: g.eps,
        weightDecay: g.weightDecay,
        maximize: g.maximize,
        decoupledWeightDecay: g.decoupledWeightDecay,
        step: state.step,
      },
      reference: adagradReference,
    });
  }

  /** PyTorch's sparse branch: only the gradient's rows accumulate and move. */
  private sparseUpdate(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<AdagradOptions>): void {
    if (g.weightDecay !== 0) throw new Error('weight_decay option is not compatible with sparse gradients (Adagrad weightDecay must be 0)');
    const clr = g.lr / (1 + ((state.step as number) - 1) * g.lrDecay);
    const { rows, values, width } = sparseRows(g.maximize ? grad.neg() : grad, 'Adagrad');
    const p = cpuData(param, 'Adagrad');
    const sum = cpuData(state.sum as Tensor, 'Adagrad');
    rows.forEach((row, k) => {
      for (let j = 0; j < width; j++) {
        const at = row * width + j;
        const gv = values[k * width + j];
        sum[at] = sum[at] + gv * gv;
        p[at] = p[at] + -clr * (gv / (Math.sqrt(sum[at]) + g.eps));
      }
    });
    param.markDirty();
  }
}
