import { noGrad, stack, tensor, type Tensor } from '@tsgrad/autograd';
import { checkOptionKeys } from '@tsgrad/tensor';

/** A tensor or an iterable of them (PyTorch's `parameters` argument), as a list. */
function paramList(parameters: Iterable<Tensor> | Tensor, who: string): Tensor[] {
  const list = typeof (parameters as Tensor).toView === 'function' ? [parameters as Tensor] : [...(parameters as Iterable<Tensor>)];
  list.forEach((p, i) => {
    if (typeof p?.toView !== 'function') throw new Error(`${who}: parameters[${i}] is not a Tensor`);
  });
  return list;
}

function gradsOf(params: Tensor[], who: string): Tensor[] {
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
  for (const g of grads) if (g.isSparse) throw new Error(`${who}: sparse gradients are not supported; clip them densely with toDense()`);
  return grads;
}

/** ‖g‖_p of one tensor as a 0-d tensor on its device (p = ∞: max |g|), computed as torch.norm does. */
function norm(g: Tensor, p: number): Tensor {
  if (p === Infinity) return g.abs().max();
  if (p === 2) return g.mul(g).sum().sqrt();
  if (p === 1) return g.abs().sum();
  return g.abs().pow(p).sum().pow(1 / p);
}

export interface ClipGradNormOptions {
  /**
   * The order of the norm: 2, 1, Infinity or any p > 0.
   * @defaultValue `2`
   */
  normType?: number;
  /**
   * Throw when the total norm is NaN or infinite instead of scaling by it (CPU only: a GPU norm is read asynchronously).
   * @defaultValue `false` (PyTorch's default)
   */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of `parameters` in place so that their total norm (the norm of the vector of
 * every gradient's norm) is at most `maxNorm`, PyTorch's `torch.nn.utils.clip_grad_norm_`: each
 * gradient is multiplied by min(1, maxNorm / (total + 1e-6)). Returns the total norm before clipping,
 * a 0-d tensor on the gradients' device (read it with `.item()` on the CPU, `await .data()` on a GPU).
 * Parameters without a gradient are skipped; none at all gives 0.
 * @example
 * loss.backward();
 * const total = clipGradNorm_(model.parameters(), 1.0);
 * opt.step();
 */
export function clipGradNorm_(parameters: Iterable<Tensor> | Tensor, maxNorm: number, opts: ClipGradNormOptions = {}): Tensor {
  const who = 'clipGradNorm_';
  checkOptionKeys(who, opts, ['normType', 'errorIfNonfinite']);
  const normType = opts.normType ?? 2;
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) throw new Error(`${who}: maxNorm must be a number, got ${String(maxNorm)}`);
  if (typeof normType !== 'number' || !(normType > 0)) throw new Error(`${who}: normType must be a positive number or Infinity, got ${String(normType)}`);
  const grads = gradsOf(paramList(parameters, who), who);
  if (grads.length === 0) return tensor(0);
  return noGrad(() => {
    const norms = grads.map((g) => norm(g, normType));
    const total = norms.length === 1 ? norms[0] : normType === Infinity ? stack(norms).max() : norm(stack(norms), normType);
    if (opts.errorIfNonfinite && total.device !== 'cpu') {
      throw new Error(`${who}: errorIfNonfinite needs the norm synchronously, which ${total.device} cannot give; check \`await total.data()\` yourself`);
    }
    if (opts.errorIfNonfinite && !Number.isFinite(total.item())) {
      throw new Error(
        `${who}: the total norm of order ${normType} for gradients from \`parameters\` is non-finite, so it cannot be clipped. ` +
          'To disable this error and scale the gradients by the non-finite norm anyway, set errorIfNonfinite: false',
      );
    }
    // PyTorch's order: max_norm / (total + 1e-6), clamped to at most 1.
    const coef = tensor(maxNorm, { dtype: total.dtype, device: total.device }).div(total.add(1e-6)).clamp({ max: 1 });
    for (const g of grads) g.mul_(coef.to(g.dtype));
    return total;
  });
}

/**
 * Clamps every gradient of `parameters` to [−clipValue, clipValue] in place, PyTorch's
 * `torch.nn.utils.clip_grad_value_`.
 * @example clipGradValue_(model.parameters(), 0.5);
 */
export function clipGradValue_(parameters: Iterable<Tensor> | Tensor, clipValue: number): void {
  const who = 'clipGradValue_';
  if (typeof clipValue !== 'number' || Number.isNaN(clipValue)) throw new Error(`${who}: clipValue must be a number, got ${String(clipValue)}`);
  const c = Math.abs(clipValue);
  for (const g of gradsOf(paramList(parameters, who), who)) noGrad(() => g.clamp_({ min: -c, max: c }));
}
