/**
 * The optimizer table (PyTorch's `optim_db` of `OptimizerInfo`s): one row per optimizer, which every
 * optimizer test iterates — its PyTorch defaults, the option sets its float32-vs-float64 trajectories
 * run on every device, its error inputs, and its PyTorch fixture name. Rows name the class in
 * @tsgrad/optim (test-utils does not depend on optim; tests look classes up by name). Adding an
 * optimizer: its file in optim, its export in optim's index, its row here (and its fixture cases).
 */
export type OptimizerName = 'SGD' | 'Adam' | 'AdamW' | 'Adagrad' | 'RMSprop' | 'Adamax' | 'NAdam' | 'RAdam' | 'Adadelta' | 'SparseAdam';

export interface OptimInfo {
  name: OptimizerName;
  /** PyTorch's defaults, camelCased (a test checks the class's `defaults`). */
  defaults: Record<string, unknown>;
  /** Option sets for trajectory tests (float32 against float64, on the CPU and on WebGPU). */
  options: Record<string, unknown>[];
  /** Misuse: constructor options and the Error they raise (PyTorch's `ErrorOptimizerInput`). */
  errors: { options: Record<string, unknown>; error: RegExp }[];
  /** The `optimizer` of its cases in the PyTorch fixtures (optim.json); null where there are none. */
  fixture: OptimizerName | null;
  /** Takes dense gradients (SparseAdam takes sparse ones only). */
  dense: boolean;
}

const adamFamily = { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false, decoupledWeightDecay: false };
const adamFamilyErrors = (name: string) => [
  { options: { betas: [1, 0.999] }, error: /Invalid betas\[0\]: 1 \(expected a number in \[0, 1\)\)/ },
  { options: { betas: [0.9] }, error: /Invalid betas: \[0.9\]/ },
  { options: { eps: -1e-8 }, error: /Invalid eps: -1e-8/ },
  { options: { weight_decay: 0.1 }, error: new RegExp(`${name}: unknown option 'weight_decay'; did you mean 'weightDecay'\\?`) },
];

export const optimInfos: OptimInfo[] = [
  {
    name: 'SGD',
    defaults: { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, decoupledWeightDecay: false },
    options: [
      { lr: 0.05 },
      { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 },
      { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, decoupledWeightDecay: true, maximize: false },
    ],
    errors: [
      { options: { lr: -0.1 }, error: /Invalid lr: -0.1 \(expected a number >= 0\)/ },
      { options: { nesterov: true }, error: /Invalid nesterov: true requires momentum > 0 and dampening = 0/ },
      { options: { momentun: 0.9 }, error: /SGD: unknown option 'momentun'; did you mean 'momentum'\?/ },
    ],
    fixture: 'SGD',
    dense: true,
  },
  {
    name: 'Adam',
    defaults: { lr: 1e-3, ...adamFamily, amsgrad: false },
    options: [{ lr: 0.01 }, { lr: 0.01, amsgrad: true, weightDecay: 0.1 }],
    errors: [...adamFamilyErrors('Adam'), { options: { amsgrad: 1 }, error: /Invalid amsgrad: 1 \(expected true or false\)/ }],
    fixture: 'Adam',
    dense: true,
  },
  {
    name: 'AdamW',
    defaults: { lr: 1e-3, ...adamFamily, weightDecay: 1e-2, amsgrad: false, decoupledWeightDecay: true },
    options: [{ lr: 0.01, weightDecay: 0.1 }, { lr: 0.01, weightDecay: 0.1, amsgrad: true, maximize: true }],
    errors: [...adamFamilyErrors('AdamW'), { options: { weightDecay: -0.01 }, error: /Invalid weightDecay: -0.01/ }],
    fixture: 'AdamW',
    dense: true,
  },
  {
    name: 'Adagrad',
    defaults: { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false, decoupledWeightDecay: false },
    options: [{ lr: 0.05, lrDecay: 0.01, weightDecay: 0.01, initialAccumulatorValue: 0.1 }, { lr: 0.05, weightDecay: 0.01, decoupledWeightDecay: true, maximize: true }],
    errors: [{ options: { lrDecay: -1 }, error: /Invalid lrDecay: -1/ }],
    fixture: 'Adagrad',
    dense: true,
  },
  {
    name: 'RMSprop',
    defaults: { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false, decoupledWeightDecay: false },
    options: [{ lr: 0.01 }, { lr: 0.01, momentum: 0.9, centered: true, weightDecay: 0.01 }],
    errors: [{ options: { momentum: -0.5 }, error: /Invalid momentum: -0.5/ }],
    fixture: 'RMSprop',
    dense: true,
  },
  {
    name: 'Adamax',
    defaults: { lr: 2e-3, ...adamFamily },
    options: [{ lr: 0.01, weightDecay: 0.01 }, { lr: 0.01, weightDecay: 0.01, decoupledWeightDecay: true, maximize: true }],
    errors: adamFamilyErrors('Adamax'),
    fixture: 'Adamax',
    dense: true,
  },
  {
    name: 'NAdam',
    defaults: { lr: 2e-3, ...adamFamily, momentumDecay: 4e-3 },
    options: [{}, { lr: 0.003, weightDecay: 0.1 }, { lr: 0.003, weightDecay: 0.1, decoupledWeightDecay: true, momentumDecay: 0.01 }],
    errors: [...adamFamilyErrors('NAdam'), { options: { betas: [0.9, -0.1] }, error: /Invalid betas\[1\]: -0.1/ }],
    fixture: 'NAdam',
    dense: true,
  },
  {
    name: 'RAdam',
    defaults: { lr: 1e-3, ...adamFamily },
    options: [{ lr: 0.01 }, { lr: 0.01, weightDecay: 0.1, decoupledWeightDecay: true }],
    errors: adamFamilyErrors('RAdam'),
    fixture: 'RAdam',
    dense: true,
  },
  {
    name: 'Adadelta',
    defaults: { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false, decoupledWeightDecay: false },
    options: [{ lr: 1, weightDecay: 0.01 }, { lr: 1, rho: 0.5, weightDecay: 0.01, decoupledWeightDecay: true }],
    errors: [{ options: { rho: 1.5 }, error: /Invalid rho: 1.5 \(expected a number in \[0, 1\]\)/ }],
    fixture: 'Adadelta',
    dense: true,
  },
  {
    name: 'SparseAdam',
    defaults: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, maximize: false },
    options: [],
    errors: [{ options: { weightDecay: 0.1 }, error: /SparseAdam: unknown option 'weightDecay'/ }],
    fixture: null,
    dense: false,
  },
];

/** Every (optimizer, option set) pair of the dense optimizers: what the trajectory tests run. */
export const optimTrajectoryCases = optimInfos.filter((i) => i.dense).flatMap((info) => info.options.map((options) => ({ optimizer: info.name, options })));
