import type { Tensor } from '@tsgrad/autograd';
import { defineProgram } from '@tsgrad/tensor';
import { decayFlags, decayPrologue, decayScalarNames, decayScalars, type DecayFlags, type DecayHyper, validateDecayScale, type DecayScale } from './decay.js';
import { Optimizer, type StateSpec, type ParamGroup, type ParamGroupInput, type ParamState, type StateDtypeOption } from './optimizer.js';
import { programVariants, type ProgramPart } from './program-step.js';
import type { ReferenceStep } from './reference.js';
import { boolean, nonNegative } from './validation.js';

export interface RMSpropOptions extends StateDtypeOption {
  /**
   * The learning rate γ.
   * @defaultValue `1e-2`
   */
  lr: number;
  /**
   * Smoothing constant α of the running average of squared gradients.
   * @defaultValue `0.99`
   */
  alpha: number;
  /**
   * ε added to the denominator for numerical stability.
   * @defaultValue `1e-8`
   */
  eps: number;
  /**
   * Weight decay λ: coupled by default (λθ added to the gradient, L2 regularization), decoupled with `decoupledWeightDecay`.
   * @defaultValue `0`
   */
  weightDecay: number;
  /**
   * Momentum factor of the step (0: none).
   * @defaultValue `0`
   */
  momentum: number;
  /**
   * Normalize by an estimate of the gradient's variance (square average minus squared average) instead of its uncentered second moment.
   * @defaultValue `false`
   */
  centered: boolean;
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

export const RMSPROP_DEFAULTS: RMSpropOptions = {
  lr: 1e-2,
  alpha: 0.99,
  eps: 1e-8,
  weightDecay: 0,
  momentum: 0,
  centered: false,
  maximize: false,
  decoupledWeightDecay: false, decayScale: 'lr',
};

export type RMSpropHyper = DecayHyper & { alpha: number; eps: number; momentum: number; centered: boolean };

/**
 * RMSprop's per-element update for every backend (centered or not, with momentum or not). Float32 on
 * the CPU runs the WebAssembly `rmspropStep` (float64 arithmetic, bit-identical to the generated loop).
 * @internal
 */
export const rmspropProgram = programVariants((f: DecayFlags & { centered: boolean; momentum: boolean }) =>
  defineProgram({
    name: 'rmsprop',
    read: ['g'],
    write: ['p', 'squareAvg', ...(f.centered ? ['gradAvg'] : []), ...(f.momentum ? ['momentumBuffer'] : [])],
    scalars: ['lr', 'alpha', 'eps', ...(f.momentum ? ['momentum'] : []), ...decayScalarNames(f)],
    body: `${decayPrologue(f)}
      squareAvg = squareAvg * alpha + (1 - alpha) * d * d
      ${f.centered ? 'gradAvg = gradAvg * alpha + (1 - alpha) * d' : ''}
      let avg = sqrt(${f.centered ? 'squareAvg - gradAvg * gradAvg' : 'squareAvg'}) + eps
      ${f.momentum ? 'momentumBuffer = momentumBuffer * momentum + d / avg' : ''}
      p = p - lr * ${f.momentum ? 'momentumBuffer' : '(d / avg)'}`,
    native: {
      kernel: 'rmspropStep',
      args: {
        p: '@p', g: '@g', sq: '@squareAvg', ga: f.centered ? '@gradAvg' : 0, buf: f.momentum ? '@momentumBuffer' : 0, n: '#n', lr: 'lr', alpha: 'alpha', eps: 'eps',
        momentum: f.momentum ? 'momentum' : 0, coupled: f.coupled ? 'coupled' : 0, shrink: f.decoupled ? 'shrink' : 1, sign: f.maximize ? -1 : 1,
      },
    },
  }),
);

/**
 * PyTorch's single-tensor RMSprop, one element at a time.
 * @example
 * const p = Float64Array.of(1, -2), g = Float64Array.of(0.5, 0.25);
 * rmspropReference(p, g, { squareAvg: new Float64Array(2) }, { lr: 0.01, alpha: 0.99, eps: 1e-8, momentum: 0, centered: false, weightDecay: 0, maximize: false, decoupledWeightDecay: false });
 * @internal
 */
export const rmspropReference: ReferenceStep<'squareAvg' | 'gradAvg' | 'momentumBuffer', RMSpropHyper> = (p, g, s, h) => {
  const { squareAvg, gradAvg, momentumBuffer } = s;
  if (!squareAvg) throw new Error('rmspropReference: squareAvg is required');
  for (let i = 0; i < p.length; i++) {
    let grad = h.maximize ? -g[i] : g[i];
    if (h.weightDecay !== 0) {
      if (h.decoupledWeightDecay) p[i] = p[i] * (1 - h.lr * h.weightDecay);
      else grad = grad + h.weightDecay * p[i];
    }
    squareAvg[i] = squareAvg[i] * h.alpha + (1 - h.alpha) * grad * grad;
    let avg: number;
    if (h.centered && gradAvg) {
      gradAvg[i] = gradAvg[i] * h.alpha + (1 - h.alpha) * grad;
      avg = Math.sqrt(squareAvg[i] + -1 * gradAvg[i] * gradAvg[i]) + h.eps;
    } else {
      avg = Math.sqrt(squareAvg[i]) + h.eps;
    }
    if (h.momentum > 0 && momentumBuffer) {
      momentumBuffer[i] = momentumBuffer[i] * h.momentum + grad / avg;
      p[i] = p[i] - h.lr * momentumBuffer[i];
    } else {
      p[i] = p[i] - h.lr * (grad / avg);
    }
  }
};

/**
 * RMSprop, PyTorch's `torch.optim.RMSprop`.
 *
 * ```text
 * input: lr γ, alpha α, eps ε, weight decay λ, momentum μ, centered, maximize
 * v ← 0, b ← 0, ḡ ← 0
 * for t = 1, 2, ...:
 *   g ← ∇f(θ)                          (−∇f(θ) if maximize)
 *   if λ ≠ 0:  g ← g + λ θ              (coupled) or θ ← θ (1 − γ λ) (decoupledWeightDecay)
 *   v ← α v + (1 − α) g²
 *   ṽ ← v − ḡ², with ḡ ← α ḡ + (1 − α) g   if centered, else v
 *   if μ > 0:  b ← μ b + g / (√ṽ + ε);  θ ← θ − γ b
 *   else:      θ ← θ − γ g / (√ṽ + ε)
 * ```
 *
 * Coupled decay is normalized by √ṽ like the gradient (so it is not a uniform shrink); the
 * decoupled form is.
 *
 * What scales decoupled decay (`decayScale`, the lr by default): see {@link DecayScale}.
 * @example const opt = new RMSprop(model.parameters(), { lr: 1e-3, centered: true, momentum: 0.9 });
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  protected readonly stateSpec: StateSpec = { step: 'scalar', squareAvg: 'tensor', momentumBuffer: 'optional', gradAvg: 'optional' };
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<RMSpropOptions> = {}) {
    super(params, RMSPROP_DEFAULTS, options);
  }

  protected validate(o: Readonly<RMSpropOptions>): void {
    nonNegative('lr', o.lr);
    nonNegative('eps', o.eps);
    nonNegative('momentum', o.momentum);
    nonNegative('weightDecay', o.weightDecay);
    nonNegative('alpha', o.alpha);
    boolean('centered', o.centered);
    boolean('maximize', o.maximize);
    boolean('decoupledWeightDecay', o.decoupledWeightDecay);
    validateDecayScale(o);
  }

  protected prepare(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<RMSpropOptions>): ProgramPart {
    if (state.step === undefined) Object.assign(state, { step: 0, squareAvg: this.zerosState(param, g) });
    const momentum = g.momentum > 0;
    if (momentum && state.momentumBuffer === undefined) state.momentumBuffer = this.zerosState(param, g);
    if (g.centered && state.gradAvg === undefined) state.gradAvg = this.zerosState(param, g);
    state.step = (state.step as number) + 1;
    return {
      program: rmspropProgram({ ...decayFlags(g), centered: g.centered, momentum }),
      streams: {
        p: param,
        g: grad,
        squareAvg: state.squareAvg as Tensor,
        ...(g.centered ? { gradAvg: state.gradAvg as Tensor } : {}),
        ...(momentum ? { momentumBuffer: state.momentumBuffer as Tensor } : {}),
      },
      scalars: { lr: g.lr, alpha: g.alpha, eps: g.eps, momentum: g.momentum, ...decayScalars(g) },
    };
  }
}
