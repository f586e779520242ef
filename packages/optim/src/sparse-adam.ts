import { zerosLike, type Tensor } from '@tsgrad/autograd';
import { Optimizer, type StateSpec, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';
import { cpuData, sparseRows } from './sparse-rows.js';
import { betaPair, boolean, nonNegative } from './validation.js';

export interface SparseAdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  maximize: boolean;
}

export const SPARSE_ADAM_DEFAULTS: SparseAdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, maximize: false };

/**
 * Lazy Adam for sparse gradients, PyTorch's `torch.optim.SparseAdam`: only the rows present in the
 * gradient update their moments and values (so rare embeddings are not decayed by absent steps).
 *
 * ```text
 * for each row r of the coalesced gradient g (−g if maximize):
 *   m_r ← m_r + (1 − β1)(g_r − m_r);  v_r ← v_r + (1 − β2)(g_r² − v_r)
 *   θ_r ← θ_r − γ √(1 − β2^t) / (1 − β1^t) · m_r / (√v_r + ε)
 * ```
 * Dense gradients are an error (use Adam). No weight decay, as in PyTorch.
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

  protected updateParameter(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<SparseAdamOptions>): void {
    if (state.step === undefined) Object.assign(state, { step: 0, expAvg: zerosLike(param), expAvgSq: zerosLike(param) });
    const step = (state.step as number) + 1;
    state.step = step;
    const [beta1, beta2] = g.betas;
    const { rows, values, width } = sparseRows(g.maximize ? grad.neg() : grad, 'SparseAdam');
    const p = cpuData(param, 'SparseAdam');
    const m = cpuData(state.expAvg as Tensor, 'SparseAdam');
    const v = cpuData(state.expAvgSq as Tensor, 'SparseAdam');
    const stepSize = (g.lr * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
    rows.forEach((row, k) => {
      for (let j = 0; j < width; j++) {
        const at = row * width + j;
        const gv = values[k * width + j];
        const oldM = m[at];
        const updM = (gv - oldM) * (1 - beta1);
        m[at] = oldM + updM;
        const oldV = v[at];
        const updV = (gv * gv - oldV) * (1 - beta2);
        v[at] = oldV + updV;
        const numer = updM + oldM;
        const denom = Math.sqrt(updV + oldV) + g.eps;
        p[at] = p[at] + -stepSize * (numer / denom);
      }
    });
    param.markDirty();
  }
}
