import type { Tensor } from '@tsgrad/autograd';
import { defineProgram } from '@tsgrad/tensor';
import { decayFlags, decayPrologue, decayScalarNames, decayScalars, type DecayFlags, type DecayHyper, validateDecayScale, type DecayScale } from './decay.js';
import { Optimizer, type StateSpec, type ParamGroup, type ParamGroupInput, type ParamState, type StateDtypeOption } from './optimizer.js';
import { programVariants, type ProgramPart } from './program-step.js';
import type { ReferenceStep } from './reference.js';
import { sparseRows } from './sparse-rows.js';
import { boolean, nonNegative } from './validation.js';

export interface SGDOptions extends StateDtypeOption {
  /**
   * The learning rate γ.
   * @defaultValue `1e-3`
   */
  lr: number;
  /**
   * Momentum factor μ: the step follows the buffer b ← μb + (1 − dampening) g (0: plain SGD).
   * @defaultValue `0`
   */
  momentum: number;
  /**
   * Dampening for momentum: each gradient enters the buffer scaled by 1 − dampening.
   * @defaultValue `0`
   */
  dampening: number;
  /**
   * Weight decay λ: coupled by default (λθ added to the gradient, L2 regularization), decoupled with `decoupledWeightDecay`.
   * @defaultValue `0`
   */
  weightDecay: number;
  /**
   * Nesterov momentum: step along g + μb instead of the buffer b (needs momentum > 0 and dampening 0).
   * @defaultValue `false`
   */
  nesterov: boolean;
  /**
   * Maximize the objective instead of minimizing it (step along the gradient).
   * @defaultValue `false`
   */
  maximize: boolean;
  /**
   * Apply `p *= 1 - lr * weightDecay` before the update instead of adding `weightDecay * p` to the gradient.
   * @defaultValue `false`
   */
  decoupledWeightDecay: boolean;
  /**
   * What multiplies decoupled decay: the lr ('lr', PyTorch) or the schedule multiplier ('schedule', Loshchilov & Hutter); see `DecayScale`.
   * @defaultValue `'lr'`
   */
  decayScale: DecayScale;
}

export const SGD_DEFAULTS: SGDOptions = {
  lr: 1e-3,
  momentum: 0,
  dampening: 0,
  weightDecay: 0,
  nesterov: false,
  maximize: false,
  decoupledWeightDecay: false, decayScale: 'lr',
};

export type SGDHyper = DecayHyper & { momentum: number; dampening: number; nesterov: boolean; firstStep: boolean };

/**
 * SGD's per-element update for every backend. Variants: with a momentum buffer or not, its first step
 * (the buffer starts as the gradient), Nesterov. Float32 on the CPU runs the WebAssembly `sgdStep`
 * (float64 arithmetic, bit-identical to the generated loop).
 * @internal
 */
export const sgdProgram = programVariants((f: DecayFlags & { buffer: boolean; firstStep: boolean; nesterov: boolean }) =>
  defineProgram({
    name: 'sgd',
    read: ['g'],
    write: ['p', ...(f.buffer ? ['momentumBuffer'] : [])],
    scalars: ['lr', ...(f.buffer ? ['momentum', 'keep'] : []), ...decayScalarNames(f)],
    body: `${decayPrologue(f)}
      ${!f.buffer ? 'p = p - lr * d' : f.firstStep ? 'momentumBuffer = d' : 'momentumBuffer = momentumBuffer * momentum + keep * d'}
      ${!f.buffer ? '' : f.nesterov ? 'p = p - lr * (d + momentum * momentumBuffer)' : 'p = p - lr * momentumBuffer'}`,
    native: {
      kernel: 'sgdStep',
      args: {
        p: '@p', g: '@g', buf: f.buffer ? '@momentumBuffer' : 0, n: '#n', lr: 'lr', momentum: f.buffer ? 'momentum' : 0, keep: f.buffer ? 'keep' : 1,
        coupled: f.coupled ? 'coupled' : 0, shrink: f.decoupled ? 'shrink' : 1, sign: f.maximize ? -1 : 1,
        plain: +(f.buffer && !f.firstStep && !f.nesterov && !f.coupled && !f.maximize && !f.decoupled), firstStep: +f.firstStep, nesterov: +f.nesterov,
      },
    },
  }),
);

/**
 * PyTorch's single-tensor SGD, one element at a time (the reference the fused kernels are tested against).
 * @example
 * // One SGD-momentum step on float64 numbers, by hand:
 * const p = Float64Array.of(1, -2), g = Float64Array.of(0.5, 0.25);
 * const momentumBuffer = new Float64Array(2);
 * sgdReference(p, g, { momentumBuffer }, { lr: 0.1, momentum: 0.9, dampening: 0, nesterov: false, firstStep: true, weightDecay: 0, maximize: false, decoupledWeightDecay: false });
 * // p = [0.95, -2.025]
 * @internal
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

/** SGD's sparse step: the gradient's rows only (no momentum, no decay, as PyTorch). */
const sgdSparseProgram = defineProgram({ name: 'sgd-sparse', read: ['g'], write: ['p'], scalars: ['lr'], body: 'p = p - lr * g' });

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
 * What scales decoupled decay (`decayScale`, the lr by default): see {@link DecayScale}.
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
    validateDecayScale(o);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new Error(`Invalid nesterov: true requires momentum > 0 and dampening = 0 (got momentum ${o.momentum}, dampening ${o.dampening})`);
    }
  }

  /** Sparse gradients (Embedding({ sparse: true })): θ_r ← θ_r − γ g_r for the rows present. */
  protected override prepareSparse(param: Tensor, grad: Tensor, _state: ParamState, g: ParamGroup<SGDOptions>): ProgramPart {
    if (g.momentum !== 0 || g.weightDecay !== 0) {
      throw new Error(`SGD supports sparse gradients only without momentum and weight decay (got momentum ${g.momentum}, weightDecay ${g.weightDecay})`);
    }
    const { index, values, width } = sparseRows(g.maximize ? grad.neg() : grad, 'SGD');
    return { program: sgdSparseProgram, streams: { p: param, g: values }, scalars: { lr: g.lr }, rows: { index, width, compact: ['g'] } };
  }

  protected prepare(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<SGDOptions>): ProgramPart {
    const buffer = g.momentum !== 0;
    const firstStep = buffer && state.momentumBuffer === undefined;
    if (firstStep) state.momentumBuffer = this.zerosState(param, g);
    return {
      program: sgdProgram({ ...decayFlags(g), buffer, firstStep, nesterov: g.nesterov }),
      streams: { p: param, g: grad, ...(buffer ? { momentumBuffer: state.momentumBuffer as Tensor } : {}) },
      scalars: { lr: g.lr, momentum: g.momentum, keep: 1 - g.dampening, ...decayScalars(g) },
    };
  }
}
