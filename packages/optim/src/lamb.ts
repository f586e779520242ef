import { noGrad, where, zeros, type Tensor } from '@tsgrad/autograd';
import { defineProgram, isHalf } from '@tsgrad/tensor';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState, type StateSpec, type StateDtypeOption } from './optimizer.js';
import { programVariants, type ProgramPart } from './program-step.js';
import type { ReferenceStep } from './reference.js';
import { betaPair, boolean, nonNegative } from './validation.js';

export interface LAMBOptions extends StateDtypeOption {
  /**
   * The learning rate γ.
   * @defaultValue `1e-3`
   */
  lr: number;
  /**
   * (β1, β2): decay rates of the running averages of the gradient and of its square.
   * @defaultValue `[0.9, 0.999]`
   */
  betas: [number, number];
  /**
   * ε added to √v̂.
   * @defaultValue `1e-6`
   */
  eps: number;
  /**
   * ε inside the square root, √(v̂ + ε_root) (optax's `eps_root`).
   * @defaultValue `0`
   */
  epsRoot: number;
  /**
   * λ, added to the update before the trust ratio: u ← u + λθ (LAMB's own decay).
   * @defaultValue `0`
   */
  weightDecay: number;
  /**
   * Maximize the objective instead of minimizing it (step along the gradient).
   * @defaultValue `false`
   */
  maximize: boolean;
}

/** optax's defaults (`optax.lamb`: b1 0.9, b2 0.999, eps 1e-6, eps_root 0, weight_decay 0). */
export const LAMB_DEFAULTS: LAMBOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-6, epsRoot: 0, weightDecay: 0, maximize: false };

export type LAMBHyper = { lr: number; beta1: number; beta2: number; eps: number; epsRoot: number; weightDecay: number; maximize: boolean; step: number };

/**
 * LAMB on one tensor (optax's chain: scale_by_adam, add_decayed_weights, scale_by_trust_ratio, −lr): the oracle.
 * @example
 * const p = Float64Array.of(1, -2), g = Float64Array.of(0.5, 0.25);
 * lambReference(p, g, { expAvg: new Float64Array(2), expAvgSq: new Float64Array(2) }, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-6, epsRoot: 0, weightDecay: 0, maximize: false, step: 1 });
 * // the step's norm is lr·‖p‖ (the trust ratio)
 * @internal
 */
export const lambReference: ReferenceStep<'expAvg' | 'expAvgSq', LAMBHyper> = (p, g, { expAvg: m, expAvgSq: v }, h) => {
  if (!m || !v) throw new Error('lambReference: expAvg and expAvgSq are required');
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  const u = new Float64Array(p.length);
  let pn = 0;
  let un = 0;
  for (let i = 0; i < p.length; i++) {
    const d = h.maximize ? -g[i] : g[i];
    m[i] = m[i] * h.beta1 + (1 - h.beta1) * d;
    v[i] = v[i] * h.beta2 + (1 - h.beta2) * d * d;
    u[i] = m[i] / bc1 / (Math.sqrt(v[i] / bc2 + h.epsRoot) + h.eps) + h.weightDecay * p[i];
    pn += p[i] * p[i];
    un += u[i] * u[i];
  }
  const trust = pn === 0 || un === 0 ? 1 : Math.sqrt(pn) / Math.sqrt(un);
  for (let i = 0; i < p.length; i++) p[i] = p[i] - h.lr * trust * u[i];
};

/** LAMB's elementwise part for every backend: the moments and the decayed update u (its trust ratio follows). @internal */
export const lambProgram = programVariants((f: { maximize: boolean }) =>
  defineProgram({
    name: 'lamb',
    read: ['g', 'p'],
    write: ['expAvg', 'expAvgSq', 'update'],
    scalars: ['beta1', 'beta2', 'eps', 'epsRoot', 'bc1', 'bc2', 'weightDecay'],
    body: `let d = ${f.maximize ? '-g' : 'g'}
      expAvg = expAvg * beta1 + (1 - beta1) * d
      expAvgSq = expAvgSq * beta2 + (1 - beta2) * d * d
      update = expAvg / bc1 / (sqrt(expAvgSq / bc2 + epsRoot) + eps) + weightDecay * p`,
  }),
);

/**
 * LAMB (You et al. 2019), following optax's `lamb`: Adam's update u = m̂ / (√(v̂ + ε_root) + ε) plus
 * the decay λθ, then scaled per tensor (layer) by the trust ratio ‖θ‖ / ‖u‖ (1 where either norm is
 * 0), so every layer moves by lr times its own norm, whatever its gradients' scale: large-batch training.
 *
 * ```text
 * m ← 0, v ← 0
 * for t = 1, 2, ...:
 *   g ← ∇f(θ)                                  (−∇f(θ) if maximize)
 *   m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²
 *   u ← m / (1 − β1^t) / (√(v / (1 − β2^t) + ε_root) + ε) + λ θ
 *   θ ← θ − γ · (‖θ‖ / ‖u‖) · u                 (per tensor; ratio 1 where a norm is 0)
 * ```
 * The decay is inside the update, so it is also scaled by the trust ratio (LAMB's own; there is no
 * coupled/decoupled switch). PyTorch has no LAMB; its state is saved as `exp_avg`, `exp_avg_sq`.
 * @example const opt = new LAMB(model.parameters(), { lr: 1e-3, weightDecay: 0.01 });
 */
export class LAMB extends Optimizer<LAMBOptions> {
  protected readonly stateSpec: StateSpec = { step: 'scalar', expAvg: 'tensor', expAvgSq: 'tensor' };
  /** This step's updates u, per parameter, waiting for their trust ratio (see `step`). */
  private readonly pending = new Map<Tensor, { update: Tensor; lr: number }>();

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<LAMBOptions> = {}) {
    super(params, LAMB_DEFAULTS, options);
  }

  protected validate(o: Readonly<LAMBOptions>): void {
    nonNegative('lr', o.lr);
    betaPair(o.betas);
    nonNegative('eps', o.eps);
    nonNegative('epsRoot', o.epsRoot);
    nonNegative('weightDecay', o.weightDecay);
    boolean('maximize', o.maximize);
  }

  protected prepare(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<LAMBOptions>): ProgramPart {
    if (state.step === undefined) Object.assign(state, { step: 0, expAvg: this.zerosState(param, g), expAvgSq: this.zerosState(param, g) });
    const step = (state.step as number) + 1;
    state.step = step;
    const [beta1, beta2] = g.betas;
    // A temporary: float32 for a half parameter, so the trust ratio's norms see the float32 update.
    const update = zeros(param.shape, { dtype: isHalf(param.dtype) ? 'float32' : param.dtype, device: param.device });
    this.pending.set(param, { update, lr: g.lr });
    return {
      program: lambProgram({ maximize: g.maximize }),
      streams: { g: grad, p: param, expAvg: state.expAvg as Tensor, expAvgSq: state.expAvgSq as Tensor, update },
      scalars: { beta1, beta2, eps: g.eps, epsRoot: g.epsRoot, bc1: 1 - beta1 ** step, bc2: 1 - beta2 ** step, weightDecay: g.weightDecay },
    };
  }

  /**
   * The moments in one fused pass per group, then each tensor's trust ratio ‖θ‖ / ‖u‖ and θ ← θ − γ·ratio·u.
   * @example
   * opt.zeroGrad();
   * loss.backward();
   * opt.step(); // each layer's step is scaled to lr·‖θ‖ (the trust ratio)
   */
  override step(closure?: () => Tensor | number): Tensor | number | undefined {
    const loss = super.step(closure);
    noGrad(() => {
      for (const [param, { update, lr }] of this.pending) {
        const pn = param.mul(param).sum().sqrt();
        const un = update.mul(update).sum().sqrt();
        const trust = where(pn.eq(0), 1, where(un.eq(0), 1, pn.div(un)));
        param.sub_(update.mul(trust.mul(lr)));
        update.dispose();
      }
    });
    this.pending.clear();
    return loss;
  }
}
