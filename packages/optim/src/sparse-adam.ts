import type { Tensor } from '@tsgrad/autograd';
import type { ProgramPart } from './program-step.js';
import { Optimizer, type StateSpec, type ParamGroup, type ParamGroupInput, type ParamState, type StateDtypeOption } from './optimizer.js';
import { sparseRows } from './sparse-rows.js';
import { defineProgram } from '@tsgrad/tensor';
import { betaPair, boolean, nonNegative } from './validation.js';

export interface SparseAdamOptions extends StateDtypeOption {
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
   * ε added to the denominator for numerical stability.
   * @defaultValue `1e-8`
   */
  eps: number;
  /**
   * Maximize the objective instead of minimizing it (step along the gradient).
   * @defaultValue `false`
   */
  maximize: boolean;
}

export const SPARSE_ADAM_DEFAULTS: SparseAdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, maximize: false };

/** PyTorch's SparseAdam update of the gradient's rows (its operation order, for float64 parity). */
const sparseAdamProgram = defineProgram({
  name: 'sparse-adam',
  read: ['g'],
  write: ['p', 'expAvg', 'expAvgSq'],
  scalars: ['beta1', 'beta2', 'eps', 'negStepSize'],
  body: `let oldM = expAvg
    let updM = (g - oldM) * (1 - beta1)
    expAvg = oldM + updM
    let oldV = expAvgSq
    let updV = (g * g - oldV) * (1 - beta2)
    expAvgSq = oldV + updV
    p = p + negStepSize * ((updM + oldM) / (sqrt(updV + oldV) + eps))`,
});

/**
 * Lazy Adam for sparse gradients, PyTorch's `torch.optim.SparseAdam`: only the rows present in the
 * gradient update their moments and values (so rare embeddings are not decayed by absent steps).
 *
 * ```text
 * for each row r of the coalesced gradient g (−g if maximize):
 *   m_r ← m_r + (1 − β1)(g_r − m_r);  v_r ← v_r + (1 − β2)(g_r² − v_r)
 *   θ_r ← θ_r − γ √(1 − β2^t) / (1 − β1^t) · m_r / (√v_r + ε)
 * ```
 * Dense gradients are an error (use Adam). No weight decay, as in PyTorch. Sparse gradients live on
 * the CPU (Embedding's sparse gradient is CPU only): on another device the step is an Error.
 * @example const opt = new SparseAdam([embedding.weight], { lr: 1e-2 });
 */
export class SparseAdam extends Optimizer<SparseAdamOptions> {
  protected readonly stateSpec: StateSpec = { step: 'scalar', expAvg: 'tensor', expAvgSq: 'tensor' };
  protected override readonly sparseGradients = 'require' as const;

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<SparseAdamOptions> = {}) {
    super(params, SPARSE_ADAM_DEFAULTS, options);
  }

  protected validate(o: Readonly<SparseAdamOptions>): void {
    nonNegative('lr', o.lr);
    nonNegative('eps', o.eps);
    betaPair(o.betas);
    boolean('maximize', o.maximize);
  }

  /** Never called: dense gradients are rejected before (SparseAdam takes sparse ones only). */
  protected prepare(): ProgramPart {
    throw new Error('SparseAdam does not support dense gradients, please consider Adam instead');
  }

  protected override prepareSparse(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<SparseAdamOptions>): ProgramPart {
    // The rows first: a gradient they refuse (not on the CPU) leaves the state as it was.
    const { index, values, width } = sparseRows(g.maximize ? grad.neg() : grad, 'SparseAdam');
    if (state.step === undefined) Object.assign(state, { step: 0, expAvg: this.zerosState(param, g), expAvgSq: this.zerosState(param, g) });
    const step = (state.step as number) + 1;
    state.step = step;
    const [beta1, beta2] = g.betas;
    return {
      program: sparseAdamProgram,
      streams: { p: param, g: values, expAvg: state.expAvg as Tensor, expAvgSq: state.expAvgSq as Tensor },
      scalars: { beta1, beta2, eps: g.eps, negStepSize: -((g.lr * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step)) },
      rows: { index, width, compact: ['g'] },
    };
  }
}
