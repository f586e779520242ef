import { noGrad, zeros, type Tensor } from '@tsgrad/autograd';
import { finfoEps } from '@tsgrad/tensor';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState, type StateSpec, type StateDtypeOption } from './optimizer.js';
import { boolean, nonNegative } from './validation.js';

export interface AdafactorOptions extends StateDtypeOption {
  /**
   * The maximum relative step size ρ_t = min(γ, 1/√t), and the decay's coefficient.
   * @defaultValue `1e-2`
   */
  lr: number;
  /**
   * τ in β̂2_t = 1 − t^τ (≤ 0).
   * @defaultValue `-0.8`
   */
  beta2Decay: number;
  /**
   * (ε1, ε2): ε1 floors the variance estimate (null: the dtype's machine epsilon), ε2 the parameter scale.
   * @defaultValue `[null, 1e-3]`
   */
  eps: [number | null, number];
  /**
   * The update clipping threshold d (≥ 1).
   * @defaultValue `1`
   */
  d: number;
  /**
   * λ, decoupled: θ ← θ(1 − γλ).
   * @defaultValue `0`
   */
  weightDecay: number;
  /**
   * Maximize the objective instead of minimizing it (step along the gradient).
   * @defaultValue `false`
   */
  maximize: boolean;
}

/** PyTorch's defaults (`torch.optim.Adafactor`, PyTorch ≥ 2.5). */
export const ADAFACTOR_DEFAULTS: AdafactorOptions = { lr: 1e-2, beta2Decay: -0.8, eps: [null, 1e-3], d: 1, weightDecay: 0, maximize: false };

/** ATen's lerp (start + w(end − start), or end − (end − start)(1 − w) for w ≥ 0.5), in place into `start`. */
function lerp_(start: Tensor, end: Tensor, w: number): void {
  if (w < 0.5) start.add_(end.sub(start).mul(w));
  else start.copy_(end.sub(end.sub(start).mul(1 - w)));
}

/** ‖x‖₂ along `dim` kept, squared and divided by its size: (g·g).mean(dim), as PyTorch computes it. */
function meanSquare(g: Tensor, dim: number): Tensor {
  const norm = g.mul(g).sum(dim, { keepdim: true }).sqrt();
  return norm.mul(norm).div(g.shape[g.ndim + dim]);
}

/**
 * Adafactor (Shazeer & Stern 2018) as PyTorch ≥ 2.5 implements it (`torch.optim.Adafactor`; Debian's
 * PyTorch 1.13 has none, so it is tested against a naive float64 transcription of PyTorch's
 * `_single_tensor_adafactor`). A matrix (or any tensor of ≥ 2 dims, factored along its last two) keeps
 * only row and column means of the squared gradient, sublinear memory; a vector keeps a full one.
 *
 * ```text
 * R, C, V ← 0
 * for t = 1, 2, ...:
 *   G ← ∇f(θ) (−∇f(θ) if maximize);  β̂ ← 1 − t^τ;  ρ ← min(γ, 1/√t);  α ← max(ε2, RMS(θ)) ρ
 *   θ ← θ(1 − γλ)
 *   matrix: R ← lerp(R, mean_cols(G²), 1 − β̂);  C ← lerp(C, mean_rows(G²), 1 − β̂)
 *           V̂ ← R C / max(mean(R), ε1)
 *   vector: V̂ ← V ← lerp(V, G², 1 − β̂)
 *   U ← G / √max(V̂, ε1²);  θ ← θ − α U / max(1, RMS(U) / d)
 * ```
 * It is not elementwise (norms, factored statistics), so it runs as tensor ops on any device, with no
 * synchronous read. Weight decay is decoupled and multiplied by the lr, as PyTorch's.
 * @example const opt = new Adafactor(model.parameters(), { lr: 1e-2, weightDecay: 1e-2 });
 */
export class Adafactor extends Optimizer<AdafactorOptions> {
  protected readonly stateSpec: StateSpec = { step: 'scalar', rowVar: 'rowFactor', colVar: 'colFactor', variance: 'optional' };

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, options: Partial<AdafactorOptions> = {}) {
    super(params, ADAFACTOR_DEFAULTS, options);
  }

  protected validate(o: Readonly<AdafactorOptions>): void {
    nonNegative('lr', o.lr);
    if (!(typeof o.beta2Decay === 'number' && o.beta2Decay <= 0)) throw new Error(`Invalid beta2Decay: ${String(o.beta2Decay)} (expected a number <= 0)`);
    if (!Array.isArray(o.eps) || o.eps.length !== 2) throw new Error(`Invalid eps: ${JSON.stringify(o.eps)} (expected [eps1 | null, eps2])`);
    if (o.eps[0] !== null) nonNegative('eps[0]', o.eps[0]);
    nonNegative('eps[1]', o.eps[1]);
    if (!(typeof o.d === 'number' && o.d >= 1)) throw new Error(`Invalid d: ${String(o.d)} (expected a clipping threshold >= 1)`);
    nonNegative('weightDecay', o.weightDecay);
    boolean('maximize', o.maximize);
  }

  protected prepare(param: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<AdafactorOptions>): null {
    const factored = param.ndim > 1;
    if (state.step === undefined) {
      state.step = 0;
      if (factored) {
        const shape = param.shape;
        state.rowVar = zeros(shape.map((d, i) => (i === shape.length - 1 ? 1 : d)), { dtype: this.stateDtypeOf(param, g), device: param.device });
        state.colVar = zeros(shape.map((d, i) => (i === shape.length - 2 ? 1 : d)), { dtype: this.stateDtypeOf(param, g), device: param.device });
      } else state.variance = this.zerosState(param, g);
    }
    const step = (state.step as number) + 1;
    state.step = step;
    // torch.finfo(param.dtype).eps: a half parameter's own epsilon, as PyTorch (its state dtype aside).
    const eps1 = g.eps[0] ?? finfoEps(param.dtype);
    const eps2 = g.eps[1];
    const w = step ** g.beta2Decay; // 1 − β̂2_t
    const rho = Math.min(g.lr, 1 / step ** 0.5);
    const rootN = param.numel() ** 0.5;
    noGrad(() => {
      const d = g.maximize ? grad.neg() : grad;
      // α and the clip factor stay on the device (PyTorch reads them with .item()): no synchronous read.
      const alpha = param.mul(param).sum().sqrt().div(rootN).maximum(eps2).mul(rho);
      if (g.weightDecay !== 0) param.mul_(1 - g.lr * g.weightDecay);
      let variance: Tensor;
      if (factored) {
        const row = state.rowVar as Tensor;
        const col = state.colVar as Tensor;
        lerp_(row, meanSquare(d, -1), w);
        lerp_(col, meanSquare(d, -2), w);
        variance = row.matmul(col).div(row.mean(-2, { keepdim: true }).clamp({ min: eps1 }));
      } else {
        const v = state.variance as Tensor;
        lerp_(v, d.mul(d), w);
        variance = v.clone();
      }
      const update = variance.clamp({ min: eps1 * eps1 }).rsqrt().mul(d);
      const denom = update.mul(update).sum().sqrt().div(rootN * g.d).maximum(1);
      param.sub_(update.mul(alpha.div(denom)));
    });
    return null;
  }
}
