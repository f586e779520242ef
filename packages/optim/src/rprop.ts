import { full, type Tensor } from '@tsgrad/autograd';
import { defineProgram } from '@tsgrad/tensor';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState, type StateSpec, type StateDtypeOption } from './optimizer.js';
import { programVariants, type ProgramPart } from './program-step.js';
import type { ReferenceStep } from './reference.js';
import { boolean, nonNegative } from './validation.js';

export interface RpropOptions extends StateDtypeOption {
  /**
   * The learning rate γ.
   * @defaultValue `1e-2`
   */
  lr: number;
  /**
   * (η−, η+): the step size shrinks by η− when the gradient's sign flips and grows by η+ when it holds.
   * @defaultValue `[0.5, 1.2]`
   */
  etas: [number, number];
  /**
   * (min, max) of the per-element step sizes.
   * @defaultValue `[1e-6, 50]`
   */
  stepSizes: [number, number];
  /**
   * Maximize the objective instead of minimizing it (step along the gradient).
   * @defaultValue `false`
   */
  maximize: boolean;
}

export const RPROP_DEFAULTS: RpropOptions = { lr: 1e-2, etas: [0.5, 1.2], stepSizes: [1e-6, 50], maximize: false };

export type RpropHyper = { etaminus: number; etaplus: number; stepMin: number; stepMax: number; maximize: boolean };

/**
 * PyTorch's single-tensor Rprop, one element at a time: the oracle of `rpropProgram`.
 * @example
 * const p = Float64Array.of(1, -2), g = Float64Array.of(0.5, -0.25);
 * const state = { prev: new Float64Array(2), stepSize: Float64Array.of(0.01, 0.01) };
 * rpropReference(p, g, state, { etaminus: 0.5, etaplus: 1.2, stepMin: 1e-6, stepMax: 50, maximize: false });
 * // p = [0.99, -1.99]: each element moves by its step size against its gradient's sign
 * @internal
 */
export const rpropReference: ReferenceStep<'prev' | 'stepSize', RpropHyper> = (p, g, { prev, stepSize }, h) => {
  if (!prev || !stepSize) throw new Error('rpropReference: prev and stepSize are required');
  for (let i = 0; i < p.length; i++) {
    let grad = h.maximize ? -g[i] : g[i];
    const s = grad * prev[i];
    const factor = s > 0 ? h.etaplus : s < 0 ? h.etaminus : 1;
    const grown = stepSize[i] * factor;
    stepSize[i] = grown < h.stepMin ? h.stepMin : grown > h.stepMax ? h.stepMax : grown;
    if (factor === h.etaminus) grad = 0; // PyTorch: grad[sign.eq(etaminus)] = 0
    // torch.sign: a NaN gradient has sign 0, so PyTorch leaves that element where it was.
    p[i] = p[i] - (grad > 0 ? 1 : grad < 0 ? -1 : 0) * stepSize[i];
    prev[i] = grad;
  }
};

/** Rprop's per-element update for every backend (sign agreement, clamped step sizes). @internal */
export const rpropProgram = programVariants((f: { maximize: boolean }) =>
  defineProgram({
    name: 'rprop',
    read: ['g'],
    write: ['p', 'prev', 'stepSize'],
    scalars: ['etaminus', 'etaplus', 'stepMin', 'stepMax'],
    body: `let d = ${f.maximize ? '-g' : 'g'}
      let s = d * prev
      let factor = select(s > 0, etaplus, select(s < 0, etaminus, 1))
      let grown = stepSize * factor
      stepSize = select(grown < stepMin, stepMin, select(grown > stepMax, stepMax, grown))
      let kept = select(factor == etaminus, 0, d)
      p = p - sign(kept) * stepSize
      prev = kept`,
  }),
);

/**
 * Rprop (resilient backpropagation, Riedmiller & Braun 1993), PyTorch's `torch.optim.Rprop`: each
 * element keeps its own step size, grown by η+ while the gradient keeps its sign and shrunk by η− when
 * it flips (that step then skips the element), clamped to `stepSizes`; only the gradient's sign moves
 * the parameter. Full-batch training is its setting; it has no weight decay, as in PyTorch.
 *
 * ```text
 * Δ ← γ (every element), g_prev ← 0
 * for t = 1, 2, ...:
 *   g ← ∇f(θ)                     (−∇f(θ) if maximize)
 *   Δ ← clamp(Δ η+, Δmin, Δmax)    where g g_prev > 0
 *   Δ ← clamp(Δ η−, Δmin, Δmax);  g ← 0    where g g_prev < 0
 *   θ ← θ − sign(g) Δ;  g_prev ← g
 * ```
 * The step sizes start at the group's lr when a parameter first steps (later lr changes do not touch
 * them, as in PyTorch).
 * @example const opt = new Rprop(model.parameters(), { lr: 1e-2, etas: [0.5, 1.2] });
 */
export class Rprop extends Optimizer<RpropOptions> {
  protected readonly stateSpec: StateSpec = { step: 'scalar', prev: 'tensor', stepSize: 'tensor' };

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<RpropOptions> = {}) {
    super(params, RPROP_DEFAULTS, options);
  }

  protected validate(o: Readonly<RpropOptions>): void {
    nonNegative('lr', o.lr);
    const [etaminus, etaplus] = Array.isArray(o.etas) ? o.etas : [NaN, NaN];
    if (!(etaminus > 0 && etaminus < 1 && etaplus > 1)) throw new Error(`Invalid eta values: ${JSON.stringify(o.etas)} (expected 0 < etas[0] < 1 < etas[1])`);
    const [min, max] = Array.isArray(o.stepSizes) ? o.stepSizes : [NaN, NaN];
    if (!(min >= 0 && max >= min)) throw new Error(`Invalid stepSizes: ${JSON.stringify(o.stepSizes)} (expected 0 <= min <= max)`);
    boolean('maximize', o.maximize);
  }

  protected prepare(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<RpropOptions>): ProgramPart {
    if (state.step === undefined) {
      Object.assign(state, { step: 0, prev: this.zerosState(param, g), stepSize: full(param.shape, g.lr, { dtype: this.stateDtypeOf(param, g), device: param.device }) });
    }
    state.step = (state.step as number) + 1;
    return {
      program: rpropProgram({ maximize: g.maximize }),
      streams: { p: param, g: grad, prev: state.prev as Tensor, stepSize: state.stepSize as Tensor },
      scalars: { etaminus: g.etas[0], etaplus: g.etas[1], stepMin: g.stepSizes[0], stepMax: g.stepSizes[1] },
    };
  }
}
