import { autocastOp } from '@tsgrad/autograd';
import { maximum, onesLike, where, type Tensor } from '@tsgrad/autograd';
import { checkOptionKeys, formatShape, isFloating } from '@tsgrad/tensor';

export type Reduction = 'mean' | 'sum' | 'none';

const REDUCTIONS: readonly unknown[] = ['mean', 'sum', 'none'];

/**
 * A loss's option bag: known keys only (`{ ignore_index: -1 }` would silently keep -100), a valid
 * `reduction` (nll_loss used to treat any other string as 'mean'), an integer `ignoreIndex`. The
 * loss modules run it at construction, the functions at each call.
 */
export function checkLossOptions(who: string, opts: { reduction?: unknown; ignoreIndex?: unknown }, valid: readonly string[]): void {
  checkOptionKeys(who, opts, valid);
  if (opts.reduction !== undefined && !REDUCTIONS.includes(opts.reduction)) {
    throw new Error(`${who}: ${JSON.stringify(opts.reduction) ?? String(opts.reduction)} is not a valid value for reduction (expected 'mean', 'sum' or 'none')`);
  }
  if (opts.ignoreIndex !== undefined && !Number.isInteger(opts.ignoreIndex)) {
    throw new Error(`${who}: ignoreIndex must be an integer, got ${String(opts.ignoreIndex)}`);
  }
}

function reduce(loss: Tensor, reduction: Reduction, who: string): Tensor {
  if (reduction === 'mean') return loss.mean();
  if (reduction === 'sum') return loss.sum();
  if (reduction === 'none') return loss;
  throw new Error(`${who}: ${String(reduction)} is not a valid value for reduction (expected 'mean', 'sum' or 'none')`);
}

function sameShape(input: Tensor, target: Tensor, who: string): void {
  if (input.shape.length !== target.shape.length || input.shape.some((d, i) => d !== target.shape[i])) {
    throw new Error(`${who}: input shape ${formatShape(input.shape)} and target shape ${formatShape(target.shape)} differ (tsgrad does not broadcast losses)`);
  }
}

/** Mean squared error. @example mseLoss(pred, target) */
export const mseLoss = autocastOp('mseLoss', (input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor => {
  checkLossOptions('mse_loss', opts, ['reduction']);
  sameShape(input, target, 'mse_loss');
  const d = input.sub(target);
  return reduce(d.mul(d), opts.reduction ?? 'mean', 'mse_loss');
});

/**
 * Mean absolute error (PyTorch's `F.l1_loss`); `reduction: 'sum'` or `'none'` as in PyTorch.
 * @example
 * F.l1Loss(tensor([1, 2]), tensor([0, 4])).item() // 1.5
 * F.l1Loss(tensor([1, 2]), tensor([0, 4]), { reduction: 'sum' }).item() // 3
 */
export const l1Loss = autocastOp('l1Loss', (input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor => {
  checkLossOptions('l1_loss', opts, ['reduction']);
  sameShape(input, target, 'l1_loss');
  return reduce(input.sub(target).abs(), opts.reduction ?? 'mean', 'l1_loss');
});

export interface NllOptions {
  /**
   * A rescaling weight per class, shape [C].
   * @defaultValue `null` (every class weighs 1)
   */
  weight?: Tensor | null;
  /**
   * A target value that is ignored and adds nothing to the loss or the mean's denominator.
   * @defaultValue `-100`
   */
  ignoreIndex?: number;
  /**
   * `'mean'` (weighted mean over non-ignored targets), `'sum'`, or `'none'` (one loss per sample).
   * @defaultValue `'mean'`
   */
  reduction?: Reduction;
}

/** Moves the class dim last and flattens: [N, C, d...] -> [N*d..., C]; class indices likewise. */
function flattenClasses(input: Tensor, target: Tensor | null): { logits: Tensor; target: Tensor | null; keptShape: number[] } {
  if (input.ndim === 1) return { logits: input.unsqueeze(0), target: target?.reshape([1]) ?? null, keptShape: [] };
  const C = input.shape[1];
  const perm = [0, ...input.shape.slice(2).map((_, i) => i + 2), 1];
  const keptShape = [input.shape[0], ...input.shape.slice(2)];
  return { logits: input.permute(perm).reshape([-1, C]), target: target?.reshape([-1]) ?? null, keptShape };
}

function checkClassTarget(input: Tensor, target: Tensor, who: string): void {
  const expected = input.ndim === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
  if (target.dtype !== 'int32') {
    throw new Error(
      `${who}: expected a class-index target of dtype int32 with shape ${formatShape(expected)}, or class probabilities of the input's shape ${formatShape(input.shape)}; got a ${target.dtype} target of shape ${formatShape(target.shape)}`,
    );
  }
  if (target.shape.length !== expected.length || target.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${who}: expected target of shape ${formatShape(expected)} for input of shape ${formatShape(input.shape)}, got ${formatShape(target.shape)}`);
  }
}

function checkRange(target: Tensor, classes: number, ignoreIndex: number, who: string): void {
  if (target.device !== 'cpu' || target.numel() === 0) return;
  for (const t of target.dataSync()) {
    if (t !== ignoreIndex && (t < 0 || t >= classes)) throw new Error(`${who}: Target ${t} is out of bounds (${classes} classes)`);
  }
}

/**
 * Negative log-likelihood over log-probabilities [N, C] or [N, C, d...] and int32 class indices;
 * `mean` divides by the summed weights of the non-ignored targets (PyTorch's rule).
 * @example
 * F.nllLoss(tensor([[-1, -2], [-3, -4]]), tensor([0, 1], { dtype: 'int32' })).item() // 2.5: (1 + 4) / 2
 */
export const nllLoss = autocastOp('nllLoss', (logp: Tensor, target: Tensor, opts: NllOptions = {}): Tensor => {
  const who = 'nll_loss';
  checkLossOptions(who, opts, ['weight', 'ignoreIndex', 'reduction']);
  checkClassTarget(logp, target, who);
  const { ignoreIndex = -100, reduction = 'mean', weight = null } = opts;
  const { logits, target: flat, keptShape } = flattenClasses(logp, target);
  const C = logits.shape[1];
  checkRange(target, C, ignoreIndex, who);
  const keep = flat!.ne(ignoreIndex);
  const safe = where(keep, flat!, 0);
  const picked = logits.gather(1, safe.unsqueeze(1)).squeeze(1);
  const w = (weight ? weight.gather(0, safe) : onesLike(picked)).mul(keep.to(picked.dtype));
  // An ignored target contributes an exact 0, as in PyTorch, not −logp · 0: that is NaN where logp is
  // −inf (a masked logit at a padded position), and its gradient w / Σw is 0 / 0 when every target of
  // the batch is ignored (PyTorch: loss NaN, gradient 0; a NaN gradient would wreck the next step).
  const losses = where(keep, picked.neg().mul(w), 0);
  if (reduction === 'none') return losses.reshape(keptShape);
  if (reduction === 'sum') return losses.sum();
  return losses.sum().div(w.sum());
});

export interface CrossEntropyOptions extends NllOptions {
  /**
   * ε in [0, 1]: the target becomes (1 − ε) on its class plus ε spread evenly over all classes.
   * @defaultValue `0`
   */
  labelSmoothing?: number;
}

/**
 * Cross entropy of logits [N, C] (or [C], or [N, C, d...]) against int32 class indices or class
 * probabilities of the input's shape, with PyTorch's `weight`, `ignoreIndex`, `reduction` and
 * `labelSmoothing` semantics.
 * @example crossEntropy(logits, tensor([2, 0], { dtype: 'int32' }), { labelSmoothing: 0.1 })
 */
export const crossEntropy = autocastOp('crossEntropy', (input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor => {
  const who = 'cross_entropy';
  checkLossOptions(who, opts, ['weight', 'ignoreIndex', 'reduction', 'labelSmoothing']);
  const { ignoreIndex = -100, reduction = 'mean', weight = null, labelSmoothing: eps = 0 } = opts;
  if (!(eps >= 0 && eps <= 1)) throw new Error(`${who}: labelSmoothing must be between 0.0 and 1.0, got ${eps}`);
  if (!isFloating(input.dtype)) throw new Error(`${who}: expected floating logits, got ${input.dtype}`);
  const logp = input.logSoftmax(input.ndim === 1 ? 0 : 1);
  const C = input.ndim === 1 ? input.shape[0] : input.shape[1];
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== C)) throw new Error(`${who}: weight should be a 1-D tensor of ${C} elements, got shape ${formatShape(weight.shape)}`);
  if (isFloating(target.dtype) && target.ndim === input.ndim) {
    sameShape(input, target, who);
    // PyTorch 2.x refuses it (`ignore_index < 0` check); it used to be silently ignored.
    if (opts.ignoreIndex !== undefined && opts.ignoreIndex >= 0) throw new Error(`${who}: ignoreIndex is not supported for class-probability (floating) targets, got ${opts.ignoreIndex}`);
    const { logits, keptShape } = flattenClasses(logp, null);
    const probs = flattenClasses(target, null).logits;
    const smoothed = eps > 0 ? probs.mul(1 - eps).add(eps / C) : probs;
    const perClass = weight ? logits.mul(weight) : logits;
    const losses = perClass.mul(smoothed).sum(1).neg();
    if (reduction === 'none') return losses.reshape(keptShape);
    if (reduction === 'sum') return losses.sum();
    return losses.sum().div(losses.shape[0]);
  }
  checkClassTarget(input, target, who);
  checkRange(target, C, ignoreIndex, who);
  const nll = nllLoss(logp, target, { weight, ignoreIndex, reduction });
  if (eps === 0) return nll;
  const { logits, target: flat, keptShape } = flattenClasses(logp, target);
  const keep = flat!.ne(ignoreIndex);
  const smooth = where(keep, (weight ? logits.mul(weight) : logits).sum(1).neg(), 0);
  let ret: Tensor;
  if (reduction === 'none') ret = smooth.reshape(keptShape);
  else if (reduction === 'sum') ret = smooth.sum();
  else {
    const safe = where(keep, flat!, 0);
    const denom = weight ? weight.gather(0, safe).mul(keep.to(weight.dtype)).sum() : keep.sum().to(smooth.dtype);
    ret = smooth.sum().div(denom);
  }
  return nll.mul(1 - eps).add(ret.mul(eps / C));
});

/**
 * Binary cross entropy on logits, in PyTorch's stable form
 * (1 − t)·x + w_p·(log(e^−m + e^(−x−m)) + m) with m = max(−x, 0) and w_p = 1 + (posWeight − 1)·t.
 * @example
 * F.binaryCrossEntropyWithLogits(tensor([0]), tensor([1])).item() // ≈ 0.6931 (log 2)
 */
export const binaryCrossEntropyWithLogits = autocastOp('binaryCrossEntropyWithLogits', (input: Tensor, target: Tensor, opts: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {}): Tensor => {
  const who = 'binary_cross_entropy_with_logits';
  checkLossOptions(who, opts, ['weight', 'posWeight', 'reduction']);
  sameShape(input, target, who);
  const m = maximum(input.neg(), 0);
  const softplus = m.neg().exp().add(input.neg().sub(m).exp()).log().add(m);
  let loss: Tensor;
  if (opts.posWeight) {
    const logWeight = opts.posWeight.sub(1).mul(target).add(1);
    loss = target.neg().add(1).mul(input).add(logWeight.mul(softplus));
  } else loss = target.neg().add(1).mul(input).add(softplus);
  if (opts.weight) loss = loss.mul(opts.weight);
  return reduce(loss, opts.reduction ?? 'mean', who);
});
