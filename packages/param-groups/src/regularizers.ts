import { zeros, type Tensor } from '@tsgrad/autograd';
import type { Module } from '@tsgrad/nn';

function sumOver(params: Iterable<Tensor>, term: (p: Tensor) => Tensor): Tensor {
  let total: Tensor | null = null;
  for (const p of params) total = total ? total.add(term(p)) : term(p);
  return total ?? zeros([]);
}

function checkLambda(who: string, lambda: number): void {
  if (!(typeof lambda === 'number' && lambda >= 0)) throw new Error(`${who}: Invalid lambda: ${String(lambda)} (expected a number >= 0)`);
}

/**
 * λ · Σ|w| over the parameters, to add to the loss (Keras' `l1`).
 * @example
 * const loss = F.crossEntropy(model.forward(x), y).add(l1Penalty([layer.weight], 1e-5));
 */
export function l1Penalty(params: Iterable<Tensor>, lambda: number): Tensor {
  checkLambda('l1Penalty', lambda);
  return sumOver(params, (p) => p.abs().sum()).mul(lambda);
}

/**
 * λ/2 · Σw² over the parameters, to add to the loss. The ½ makes its gradient λw, so under plain
 * SGD it is exactly `weightDecay: λ` (seed 001's λ vs 2λ question); under Adam and other adaptive
 * methods it is not (the gradient λw is rescaled by the moments), which is why AdamW exists.
 * @example const loss = criterion(out, y).add(l2Penalty(model.parameters(), 1e-4));
 */
export function l2Penalty(params: Iterable<Tensor>, lambda: number): Tensor {
  checkLambda('l2Penalty', lambda);
  return sumOver(params, (p) => p.mul(p).sum()).mul(lambda / 2);
}

/** A penalty on one parameter: `l1(λ)` or `l2(λ)`. */
export interface Regularizer {
  readonly kind: 'l1' | 'l2';
  readonly lambda: number;
}

/**
 * An L1 penalty λ‖θ‖₁ for `withRegularizer`.
 * @example
 * withRegularizer(layer, { weight: l1(1e-5) });
 */
export function l1(lambda: number): Regularizer {
  checkLambda('l1', lambda);
  return { kind: 'l1', lambda };
}

/**
 * An L2 penalty (λ/2)‖θ‖² for `withRegularizer` (the gradient is λθ: coupled decay's).
 * @example
 * withRegularizer(layer, { weight: l2(1e-4) });
 */
export function l2(lambda: number): Regularizer {
  checkLambda('l2', lambda);
  return { kind: 'l2', lambda };
}

const REGISTRY = new WeakMap<Module, Map<string, Regularizer>>();

/**
 * Attaches penalties to a module's own parameters, Keras-style (`kernel_regularizer`); collect them
 * with `regularizationLoss(model)`.
 * @example withRegularizer(model.fc1, { weight: l2(1e-4) });
 */
export function withRegularizer<M extends Module>(module: M, spec: Record<string, Regularizer>): M {
  const own = new Map(module.ownParameters());
  const entry = REGISTRY.get(module) ?? new Map<string, Regularizer>();
  for (const [name, reg] of Object.entries(spec)) {
    if (!own.has(name)) throw new Error(`withRegularizer: ${module.constructor.name} has no parameter '${name}' (it has: ${[...own.keys()].join(', ') || 'none'})`);
    entry.set(name, reg);
  }
  REGISTRY.set(module, entry);
  return module;
}

/**
 * The sum of every penalty attached with `withRegularizer` anywhere in `model` (0 if none).
 * @example
 * const loss = F.crossEntropy(model.forward(x), y).add(regularizationLoss(model));
 */
export function regularizationLoss(model: Module): Tensor {
  const terms: Tensor[] = [];
  for (const [, m] of model.namedModules()) {
    const spec = REGISTRY.get(m);
    if (!spec) continue;
    const own = new Map(m.ownParameters());
    for (const [name, reg] of spec) {
      const p = own.get(name);
      if (!p) continue;
      terms.push(reg.kind === 'l1' ? l1Penalty([p], reg.lambda) : l2Penalty([p], reg.lambda));
    }
  }
  return sumOver(terms, (t) => t);
}
