import { tensor, type Tensor } from '@tsgrad/autograd';
import { loadFixture } from '@tsgrad/test-utils';
import * as optim from '@tsgrad/optim';
import type { Optimizer, OptimizerStateDict } from '@tsgrad/optim';
import type { OptimizerName } from '@tsgrad/test-utils';

/** One PyTorch trajectory (see packages/test-utils/scripts/gen_optim_fixtures.py). */
export interface OptimCase {
  name: string;
  optimizer: OptimizerName;
  groups: { params: number[]; options: Record<string, unknown> }[];
  lrChangeAt: number;
  shapes: number[][];
  init: number[][];
  grads: (number[] | null)[][];
  trajectory: number[][][];
  saveAt?: number;
  torchStateDict?: OptimizerStateDict;
}

/** A class of @tsgrad/optim by name (the fixtures and the optimInfos table name them). */
export const optimizerClass = (name: OptimizerName) => (optim as unknown as Record<string, new (p: unknown) => Optimizer<{ lr: number }>>)[name];

export const optimCases = loadFixture<{ cases: OptimCase[] }>('optim.json').cases;

export function makeParams(c: OptimCase, values: number[][] = c.init, dtype: 'float64' | 'float32' = 'float64'): Tensor[] {
  return values.map((v, k) => tensor(v, { dtype }).reshape(c.shapes[k]).requiresGrad_());
}

export function makeOptimizer(c: OptimCase, params: Tensor[]): Optimizer<{ lr: number }> {
  const Ctor = optimizerClass(c.optimizer);
  return new Ctor(c.groups.map((g) => ({ ...g.options, params: g.params.map((i) => params[i]) })));
}

/** Sets the recorded gradients of step t (null where PyTorch had None) and applies the lr change. */
export function prepareStep(c: OptimCase, opt: Optimizer<{ lr: number }>, params: Tensor[], t: number): void {
  if (t === c.lrChangeAt) for (const g of opt.paramGroups) g.lr *= 0.5;
  c.grads[t].forEach((g, k) => {
    params[k].grad = g === null ? null : tensor(g, { dtype: params[k].dtype }).reshape(c.shapes[k]);
  });
}

/** A PyTorch state dict from JSON: encoded tensors back to Tensors. */
export function decodeStateDict(sd: OptimizerStateDict): OptimizerStateDict {
  const dec = (v: unknown): unknown => {
    if (v && typeof v === 'object' && '__tensor__' in v) {
      const e = v as unknown as { shape: number[]; data: number[] };
      return tensor(e.data, { dtype: 'float64' }).reshape(e.shape);
    }
    return v;
  };
  return {
    state: Object.fromEntries(Object.entries(sd.state).map(([k, s]) => [k, Object.fromEntries(Object.entries(s).map(([kk, vv]) => [kk, dec(vv)]))])) as OptimizerStateDict['state'],
    param_groups: sd.param_groups,
  };
}
