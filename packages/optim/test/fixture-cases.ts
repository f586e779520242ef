import { tensor, type Tensor } from '@tsgrad/autograd';
import { loadFixture } from '@tsgrad/test-utils';
import { Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop, SGD, type Optimizer, type OptimizerStateDict } from '@tsgrad/optim';

/** One PyTorch trajectory (see packages/test-utils/scripts/gen_optim_fixtures.py). */
export interface OptimCase {
  name: string;
  optimizer: keyof typeof OPTIMIZERS;
  groups: { params: number[]; options: Record<string, unknown> }[];
  lrChangeAt: number;
  shapes: number[][];
  init: number[][];
  grads: (number[] | null)[][];
  trajectory: number[][][];
  saveAt?: number;
  torchStateDict?: OptimizerStateDict;
}

export const OPTIMIZERS = { SGD, Adam, AdamW, Adagrad, RMSprop, Adamax, NAdam, RAdam, Adadelta };

export const optimCases = loadFixture<{ cases: OptimCase[] }>('optim.json').cases;

export function makeParams(c: OptimCase, values: number[][] = c.init, dtype: 'float64' | 'float32' = 'float64'): Tensor[] {
  return values.map((v, k) => tensor(v, { dtype }).reshape(c.shapes[k]).requiresGrad_());
}

export function makeOptimizer(c: OptimCase, params: Tensor[]): Optimizer<{ lr: number }> {
  const Ctor = OPTIMIZERS[c.optimizer] as unknown as new (p: unknown) => Optimizer<{ lr: number }>;
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
