import { full, type Tensor } from '@tsgrad/autograd';
import { defineProgram } from '@tsgrad/tensor';
import { decayFlags, decayPrologue, decayScalarNames, decayScalars, type DecayFlags, type DecayHyper, validateDecayScale, type DecayScale } from './decay.js';
import { Optimizer, type StateSpec, type ParamGroup, type ParamGroupInput, type ParamState, type StateDtypeOption } from './optimizer.js';
import { programVariants, type ProgramPart } from './program-step.js';
import type { ReferenceStep } from './reference.js';
import { sparseRows } from './sparse-rows.js';
import { boolean, nonNegative } from './validation.js';

export interface AdagradOptions extends StateDtypeOption {
  /**
   * The learning rate γ.
   * @defaultValue `1e-2`
   */
  lr: number;
  /**
   * Learning-rate decay: step t uses γ / (1 + (t − 1) · lrDecay).
   * @defaultValue `0`
   */
  lrDecay: number;
  /**
   * Weight decay λ: coupled by default (λθ added to the gradient, L2 regularization), decoupled with `decoupledWeightDecay`.
   * @defaultValue `0`
   */
  weightDecay: number;
  /**
   * Starting value of the per-element sum of squared gradients.
   * @defaultValue `0`
   */
  initialAccumulatorValue: number;
  /**
   * ε added to the denominator for numerical stability.
   * @defaultValue `1e-10`
   */
  eps: number;
  /**
   * Maximize the objective instead of minimizing it (step along the gradient).
   * @defaultValue `false`
   */
  maximize: boolean;
  /**
   * Apply the decay as θ ← θ(1 − γλ) before the update instead of adding λθ to the gradient.
   * @defaultValue `false`
   */
  decoupledWeightDecay: boolean;
  /**
   * What multiplies decoupled decay: the lr ('lr', PyTorch) or the schedule multiplier ('schedule', Loshchilov & Hutter); see `DecayScale`.
   * @defaultValue `'lr'`
   */
  decayScale: DecayScale;
}

export const ADAGRAD_DEFAULTS: AdagradOptions = {
  lr: 1e-2,
  lrDecay: 0,
  weightDecay: 0,
  initialAccumulatorValue: 0,
  eps: 1e-10,
  maximize: false,
  decoupledWeightDecay: false, decayScale: 'lr',
};

export type AdagradHyper = DecayHyper & { lrDecay: number; eps: number; step: number };

/**
 * Adagrad's per-element update for every backend; `clr` = γ / (1 + (t − 1) η) per tensor. (A
 * hand-tuned WebAssembly kernel was no faster than the generated loop here, so there is none.)
 * @internal
 */
export const adagradProgram = programVariants((f: DecayFlags) =>
  defineProgram({
    name: 'adagrad',
    read: ['g'],
    write: ['p', 'sum'],
    scalars: ['clr', 'eps', ...decayScalarNames(f)],
    body: `${decayPrologue(f)}
      sum = sum + d * d
      p = p - clr * (d / (sqrt(sum) + eps))`,
  }),
);

/**
 * PyTorch's single-tensor Adagrad, one element at a time.
 * @example
 * const p = Float64Array.of(1, -2), g = Float64Array.of(0.5, 0.25);
 * adagradReference(p, g, { sum: new Float64Array(2) }, { lr: 0.01, lrDecay: 0, eps: 1e-10, step: 1, weightDecay: 0, maximize: false, decoupledWeightDecay: false });
 * @internal
 */
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

/** Adagrad's sparse step (PyTorch's sparse branch): the gradient's rows accumulate and move. */
const adagradSparseProgram = defineProgram({
  name: 'adagrad-sparse',
  read: ['g'],
  write: ['p', 'sum'],
  scalars: ['negClr', 'eps'],
  body: `sum = sum + g * g
    p = p + negClr * (g / (sqrt(sum) + eps))`,
});

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
 * What scales decoupled decay (`decayScale`, the lr by default): see {@link DecayScale}.
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
    validateDecayScale(o);
  }

  protected override initialState(param: Tensor, g: ParamGroup<AdagradOptions>): ParamState {
    const sum = g.initialAccumulatorValue === 0 ? this.zerosState(param, g) : full(param.shape, g.initialAccumulatorValue, { dtype: this.stateDtypeOf(param, g), device: param.device });
    return { step: 0, sum };
  }

  protected prepare(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<AdagradOptions>): ProgramPart {
    if (state.sum === undefined) Object.assign(state, this.initialState(param, g));
    const step = (state.step as number) + 1;
    state.step = step;
    return {
      program: adagradProgram(decayFlags(g)),
      streams: { p: param, g: grad, sum: state.sum as Tensor },
      scalars: { clr: g.lr / (1 + (step - 1) * g.lrDecay), eps: g.eps, ...decayScalars(g) },
    };
  }

  /** PyTorch's sparse branch: only the gradient's rows accumulate and move. */
  protected override prepareSparse(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<AdagradOptions>): ProgramPart {
    if (state.sum === undefined) Object.assign(state, this.initialState(param, g));
    const step = (state.step as number) + 1;
    state.step = step;
    if (g.weightDecay !== 0) throw new Error('weight_decay option is not compatible with sparse gradients (Adagrad weightDecay must be 0)');
    const { index, values, width } = sparseRows(g.maximize ? grad.neg() : grad, 'Adagrad');
    return {
      program: adagradSparseProgram,
      streams: { p: param, g: values, sum: state.sum as Tensor },
      scalars: { negClr: -(g.lr / (1 + (step - 1) * g.lrDecay)), eps: g.eps },
      rows: { index, width, compact: ['g'] },
    };
  }
}
