import type { Tensor } from '@tsgrad/autograd';
import type { Module } from '@tsgrad/nn';
import type { Optimizer } from '@tsgrad/optim';
import { checkOptionKeys } from '@tsgrad/tensor';
import { isNormalizationLayer } from './recipes.js';

export type FindingKind = 'norm-decayed' | 'bias-decayed' | 'not-in-any-group' | 'in-two-groups' | 'twice-in-group' | 'not-in-model';

export interface Finding {
  kind: FindingKind;
  /** The parameter's name in the model ('' for one that is not in it). */
  name: string;
  message: string;
}

/**
 * Lints an optimizer's parameter groups against a model: normalization or bias parameters with
 * weightDecay > 0, trainable parameters in no group, parameters in two groups or twice in one,
 * parameters that do not belong to the model. Returns the findings (empty when all is well), or
 * throws them all with `{ throwOnFindings: true }`.
 * @example for (const f of checkParamGroups(opt, model)) console.warn(f.message);
 */
export function checkParamGroups(optimizer: Optimizer<{ lr: number }>, model: Module, opts: { throwOnFindings?: boolean } = {}): Finding[] {
  checkOptionKeys('checkParamGroups', opts, ['throwOnFindings']);
  const names = new Map<Tensor, string>();
  const owner = new Map<Tensor, Module>();
  for (const [prefix, m] of model.namedModules()) {
    for (const [n, p] of m.ownParameters()) {
      if (names.has(p)) continue;
      names.set(p, prefix ? `${prefix}.${n}` : n);
      owner.set(p, m);
    }
  }
  const findings: Finding[] = [];
  const groupsOf = new Map<Tensor, number[]>();
  optimizer.paramGroups.forEach((g, gi) => {
    const wd = (g as Record<string, unknown>).weightDecay;
    const seenHere = new Set<Tensor>();
    g.params.forEach((p, k) => {
      const name = names.get(p);
      if (seenHere.has(p)) findings.push({ kind: 'twice-in-group', name: name ?? '', message: `${name ?? `params[${k}]`} appears twice in param group ${gi}` });
      seenHere.add(p);
      groupsOf.set(p, [...(groupsOf.get(p) ?? []), gi]);
      if (name === undefined) {
        findings.push({ kind: 'not-in-model', name: '', message: `param group ${gi}, params[${k}] (shape [${p.shape.join(', ')}]) does not belong to the model` });
        return;
      }
      if (typeof wd === 'number' && wd > 0) {
        if (isNormalizationLayer(owner.get(p)!)) {
          findings.push({ kind: 'norm-decayed', name, message: `${name} belongs to a normalization layer (${owner.get(p)!.constructor.name}) but param group ${gi} decays it (weightDecay ${wd})` });
        } else if (name.split('.').pop() === 'bias') {
          findings.push({ kind: 'bias-decayed', name, message: `${name} is a bias but param group ${gi} decays it (weightDecay ${wd})` });
        }
      }
    });
  });
  for (const [p, gs] of groupsOf) {
    const unique = [...new Set(gs)];
    if (unique.length > 1) findings.push({ kind: 'in-two-groups', name: names.get(p) ?? '', message: `${names.get(p) ?? 'a parameter'} is in param groups ${unique.join(' and ')}` });
  }
  for (const [p, name] of names) {
    if (p.requiresGrad && !groupsOf.has(p)) findings.push({ kind: 'not-in-any-group', name, message: `${name} is trainable but in no param group (it will never be updated)` });
  }
  if (opts.throwOnFindings && findings.length > 0) {
    throw new Error(`checkParamGroups: ${findings.length} problem(s):\n  ${findings.map((f) => f.message).join('\n  ')}`);
  }
  return findings;
}
