import { zerosLike, type Tensor } from '@tsgrad/autograd';
import type { OptimizerKernels } from '@tsgrad/tensor';
import { Optimizer, type StateSpec, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';
import { cpuData, sparseRows } from './sparse-rows.js';
import { applyUpdate, type ReferenceStep } from './update.js';
import { boolean, nonNegative } from './validation.js';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
  /** Apply `p *= 1 - lr * weightDecay` before the update instead of adding `weightDecay * p` to the gradient. */
  decoupledWeightDecay: boolean;
}

export const SGD_DEFAULTS: SGDOptions = {
  lr: 1e-3,
  momentum: 0,
  dampening: 0,
  weightDecay: 0,
  nesterov: false,
  maximize: false,
  decoupledWeightDecay: false,
};

export type SGDHyper = OptimizerKernels['sgd']['hyper'];

/**
 * PyTorch's single-tensor SGD, one element at a time (the reference the fused kernels are tested against).
 */
export const sgdReference: ReferenceStep<'momentumBuffer', SGDHyper> = (p, g, { momentumBuffer: buf }, h) => {
  for (let i = 0; i < p.length; i++) {
    let d = h.maximize ? -g[i] : g[i];
    if (h.weightDecay !== 0) {
      if (h.decoupledWeightDecay) p[i] = p[i] * (1 - h.lr * h.weightDecay);
      else d = d + h.weightDecay * p[i]; // L2: grad + lambda * w
    }
    if (buf) {
      buf[i] = h.firstStep ? d : buf[i] * h.momentum + (1 - h.dampening) * d;
      d = h.nesterov ? d + h.momentum * buf[i] : buf[i];
    }
    p[i] = p[i] - h.lr * d;
  }
};

/**
 * Stochastic gradient descent with momentum, PyTorch's `torch.optim.SGD`.
 *
 * ```text
 * input: lr γ, params θ, objective f, weight decay λ, momentum μ, dampening τ, nesterov, maximize
 * for t = 1, 2, ...:
 *   g ← ∇f(θ)                       (−∇f(θ) if maximize)
 *   if λ ≠ 0:  g ← g + λ θ           (coupled: the gradient of λ/2 ‖θ‖²)
 *              or θ ← θ (1 − γ λ)    (decoupledWeightDecay)
 *   if μ ≠ 0:  b ← g at t = 1, else μ b + (1 − τ) g
 *              g ← g + μ b (nesterov) or b
 *   θ ← θ − γ g
 * ```
 *
 * Weight decay λ here is *not* a 2λ: `weightDecay: λ` equals adding λ/2·‖θ‖² to the loss, exactly, for
 * plain SGD (the gradient of λ/2·‖θ‖² is λθ). With momentum, coupled decay enters the momentum
 * buffer while decoupled decay does not, so the two differ. The gradient `p.grad` is never modified
 * (old PyTorch added λθ into `p.grad` in place; seed 000's forum thread printed that).
 *
 * @example
 * ```ts
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
 * opt.zeroGrad(); loss.backward(); opt.step();
 * ```
 */
export class SGD extends Optimizer<SGDOptions> {
  protected readonly stateSpec: StateSpec = { momentumBuffer: 'optional' };
  protected override readonly sparseGradients = 'accept' as const;

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<SGDOptions> = {}) {
    super(params, SGD_DEFAULTS, options);
  }

  protected validate(o: Readonly<SGDOptions>): void {
    nonNegative('lr', o.lr);
    nonNegative('momentum', o.momentum);
    nonNegative('dampening', o.dampening);
    nonNegative('weightDecay', o.weightDecay);
    boolean('nesterov', o.nesterov);
    boolean('maximize', o.maximize);
    boolean('decoupledWeightDecay', o.decoupledWeightDecay);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new Error(`Invalid nesterov: true requires momentum > 0 and dampening = 0 (got momentum ${o.momentum}, dampening ${o.dampening})`);
    }
  }

  protected updateParameter(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<SGDOptions>): void {
    if (grad.isSparse) {
      // Sparse gradients (Embedding({ sparse: true })): θ_r ← θ_r − γ g_r for the rows present.
      if (g.momentum !== 0 || g.weightDecay !== 0) {
        throw new Error(`SGD supports sparse gradients only without momentum and weight decay (got momentum ${g.momentum}, weightDecay ${g.weightDecay})`);
      }
      const { rows, values, width } = sparseRows(g.maximize ? grad.neg() : grad, 'SGD');
      const p = cpuData(param, 'SGD');
      rows.forEach((row, k) => {
        for (let j = 0; j < width; j++) p[row * width + j] = p[row * width + j] - g.lr * values[k * width + j];
      });
      param.markDirty();
      return;
    }
    const useMomentum = g.momentum !== 0;
    const firstStep = useMomentum && state.momentumBuffer === undefined;
    if (firstStep) state.momentumBuffer = zerosLike(param);
    applyUpdate({
      optimizer: 'SGD',
      kernel: 'sgd',
      param,
      grad,
      state: useMomentum ? { momentumBuffer: state.momentumBuffer as Tensor } : {},
      hyper: {
        lr: g.lr,
        momentum: g.momentum,
        dampening: g.dampening,
        weightDecay: g.weightDecay,
        nesterov: g.nesterov,
        maximize: g.maximize,
        decoupledWeightDecay: g.decoupledWeightDecay,
        firstStep,
      },
      reference: sgdReference,
    });
  }
}
