import { checkOptionKeys, formatShape, getBackend, type LayerNormInputs } from '@tsgrad/tensor';
import { noGrad } from '../grad-mode.js';
import { apply, fromStorage, type PrimitiveAttrs } from '../primitives.js';
import { scope } from '../scope.js';
import type { Tensor } from '../tensor.js';

/** The fused layer norm's options: the affine parameters ([n], x's dtype) and the variance's epsilon. */
export interface FusedLayerNormOptions {
  /** The elementwise scale γ, `normalized` elements in x's dtype and device. @defaultValue `null` (no scale) */
  weight?: Tensor | null;
  /** The elementwise shift β, `normalized` elements in x's dtype and device. @defaultValue `null` (no shift) */
  bias?: Tensor | null;
  /** Added to the variance before the square root, so a constant row gives 0, not NaN. @defaultValue `1e-5` (PyTorch's) */
  eps?: number;
}

/**
 * Whether `fusedLayerNorm` takes these operands: x, weight and bias share one dtype the device
 * computes in (float32, or float64 where the device has it). Half inputs are cast by the caller
 * (`F.layerNorm` computes them in float32, as PyTorch's mixed-dtype norm kernels).
 * @example
 * fusedLayerNormAvailable(x, w, b) // true for float32 tensors anywhere, float64 ones on the CPU
 */
export function fusedLayerNormAvailable(x: Tensor, weight: Tensor | null = null, bias: Tensor | null = null): boolean {
  return (
    (x.dtype === 'float32' || (x.dtype === 'float64' && getBackend(x.device).capabilities.float64)) &&
    [weight, bias].every((p) => p === null || (p.dtype === x.dtype && p.device === x.device))
  );
}

/**
 * Layer normalization over x's trailing `normalized` elements as one primitive: y = (x − mean) /
 * √(var + eps) · weight + bias, biased variance, differentiable in x, weight and bias. The graph
 * keeps x, the output and each row's mean and 1/std, where the composite kept five row-sized
 * intermediates. Where the backend has `layerNorm` (the CPU's and WebGPU's do) forward and backward
 * are one kernel each; on a backend without it they are composed from its ops, their temporaries
 * freed at once.
 * `F.layerNorm` calls this where `fusedLayerNormAvailable`.
 * @example
 * fusedLayerNorm(x, 128, { weight, bias }) // x [16, 64, 128]: each of the 1024 rows normalized
 */
export function fusedLayerNorm(x: Tensor, normalized: number, opts: FusedLayerNormOptions = {}): Tensor {
  checkOptionKeys('fusedLayerNorm', opts, ['weight', 'bias', 'eps']);
  const { weight = null, bias = null, eps = 1e-5 } = opts;
  if (!fusedLayerNormAvailable(x, weight, bias)) {
    throw new Error(`fusedLayerNorm: no layer norm on ${x.device} for a ${x.dtype} input with ${weight?.dtype ?? 'no'} weight and ${bias?.dtype ?? 'no'} bias; use F.layerNorm`);
  }
  let trailing = 1;
  for (let d = x.ndim - 1; d >= 0 && trailing < normalized; d--) trailing *= x.shape[d];
  if (trailing !== normalized && !(normalized === 0 && x.numel() === 0)) {
    throw new Error(`fusedLayerNorm: ${normalized} normalized elements are not a product of the trailing dims of an input of shape ${formatShape(x.shape)}`);
  }
  for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p && p.numel() !== normalized) throw new Error(`fusedLayerNorm: ${name} of shape ${formatShape(p.shape)} does not have the ${normalized} normalized elements`);
  }
  const rows = normalized === 0 ? 0 : x.numel() / normalized;
  const attrs: PrimitiveAttrs['layerNorm'] = { eps, weight: weight !== null, bias: bias !== null, saved: { mean: null, rstd: null } };
  const flat = (t: Tensor, shape: number[]) => t.reshape(shape).contiguous();
  const inputs = [flat(x, [rows, normalized]), ...[weight, bias].filter((p) => p !== null).map((p) => flat(p, [normalized]))];
  const out = apply('layerNorm', inputs, attrs);
  // Only a backward reads the statistics.
  if (out.gradFn === null) {
    attrs.saved.mean?.dispose();
    attrs.saved.rstd?.dispose();
  }
  return out.reshape(x.shape);
}

/** The backend's operands from the primitive's inputs (x, then the weight and bias it has). */
function layerNormInputs(inputs: readonly Tensor[], attrs: PrimitiveAttrs['layerNorm']): LayerNormInputs {
  const [x, ...rest] = inputs.map((t) => t.toView());
  return { x, weight: attrs.weight ? rest[0] : null, bias: attrs.bias ? rest[attrs.weight ? 1 : 0] : null };
}

/** The primitive's forward: the output, and the rows' mean and 1/std saved in `attrs` for the backward. */
export function layerNormForward(inputs: readonly Tensor[], attrs: PrimitiveAttrs['layerNorm']): Tensor {
  const [x] = inputs;
  const backend = getBackend(x.device);
  if (!backend.layerNorm) return composedForward(inputs, attrs);
  const { output, mean, rstd } = backend.layerNorm(layerNormInputs(inputs, attrs), attrs.eps);
  attrs.saved.mean = fromStorage(mean, [x.shape[0]]);
  attrs.saved.rstd = fromStorage(rstd, [x.shape[0]]);
  return fromStorage(output, x.shape);
}

/** The affine parameters among the primitive's inputs. */
function affine(inputs: readonly Tensor[], attrs: PrimitiveAttrs['layerNorm']): { weight: Tensor | null; bias: Tensor | null } {
  return { weight: attrs.weight ? inputs[1] : null, bias: attrs.bias ? inputs[attrs.weight ? 2 : 1] : null };
}

/** The forward from the device's ops, in the kernel's order, only the results outliving their scope. */
function composedForward(inputs: readonly Tensor[], attrs: PrimitiveAttrs['layerNorm']): Tensor {
  const [x] = inputs;
  const { weight, bias } = affine(inputs, attrs);
  const [y, mean, rstd] = noGrad(() =>
    scope(() => {
      const mean = x.mean(1, { keepdim: true });
      const centered = x.sub(mean);
      // √ then a division, as the composite did (and WebGPU's kernel does): with rsqrt, when WebGPU
      // ran this path, the GPT's float32 parity (apps/wd-lab/test/gpt-parity.test.ts) measured 1.4e-5
      // instead of 9.2e-6.
      const std = centered.square().mean(1, { keepdim: true }).add(attrs.eps).sqrt();
      const rstd = std.reciprocal();
      let y = centered.div(std);
      if (weight) y = y.mul(weight);
      if (bias) y = y.add(bias);
      return [y, mean.reshape([x.shape[0]]), rstd.reshape([x.shape[0]])];
    }),
  );
  attrs.saved.mean = mean;
  attrs.saved.rstd = rstd;
  return y;
}

/** The primitive's gradient rule: the backend's `layerNormBackward` for the inputs that need one, or the same composed from ops. */
export function layerNormGrads(inputs: readonly Tensor[], grad: Tensor, needsGrad: readonly boolean[], attrs: PrimitiveAttrs['layerNorm']): (Tensor | null)[] {
  const { mean, rstd } = attrs.saved;
  if (mean === null || rstd === null) throw new Error('layerNorm: the forward kept no statistics (it ran without grad)');
  const { weight, bias } = affine(inputs, attrs);
  const needs = { input: needsGrad[0], weight: weight !== null && needsGrad[1], bias: bias !== null && needsGrad[weight ? 2 : 1] };
  const backend = getBackend(inputs[0].device);
  let g: { input: Tensor | null; weight: Tensor | null; bias: Tensor | null };
  if (backend.layerNormBackward) {
    const saved = { mean: mean.toView(), rstd: rstd.toView(), gradOutput: grad.contiguous().toView() };
    const s = backend.layerNormBackward(layerNormInputs(inputs, attrs), saved, needs);
    const wrap = (storage: typeof s.input, shape: number[]) => (storage ? fromStorage(storage, shape) : null);
    g = { input: wrap(s.input, inputs[0].shape), weight: wrap(s.weight, weight?.shape ?? []), bias: wrap(s.bias, bias?.shape ?? []) };
  } else {
    // Only the gradients outlive their temporaries.
    g = scope(() => composedGrads(inputs[0], weight, grad, { mean, rstd }, needs));
  }
  return [g.input, ...(weight ? [g.weight] : []), ...(bias ? [g.bias] : [])];
}

/**
 * PyTorch's layer_norm_backward from ops (rules run with grad off): x̂ = (x − mean)·rstd, ĝ = g·w,
 * dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), dw = Σ_rows g·x̂, db = Σ_rows g. Nested scopes free each
 * [rows, n] temporary once read (the same operations on the same values, so the same bits): four are
 * live at most, where the expression written out held nine until the rule returned (a backward's peak
 * on a backend without layer-norm kernels; nn's fused-layer-norm.test.ts measures it).
 */
function composedGrads(x: Tensor, weight: Tensor | null, g: Tensor, { mean, rstd }: { mean: Tensor; rstd: Tensor }, needs: { input: boolean; weight: boolean; bias: boolean }) {
  const rows = [x.shape[0], 1];
  const r = rstd.reshape(rows);
  const xhat = scope(() => x.sub(mean.reshape(rows)).mul(r));
  const input = needs.input
    ? scope(() => {
        const [centered, meanProduct] = scope(() => {
          const scaled = weight ? g.mul(weight) : g;
          const meanProduct = scope(() => scaled.mul(xhat).mean(1, { keepdim: true }));
          return [scaled.sub(scaled.mean(1, { keepdim: true })), meanProduct];
        });
        return scope(() => centered.sub(xhat.mul(meanProduct))).mul(r);
      })
    : null;
  return { input, weight: needs.weight ? scope(() => g.mul(xhat).sum(0)) : null, bias: needs.bias ? g.sum(0) : null };
}
