/**
 * The optimizer table (PyTorch's `optim_db` of `OptimizerInfo`s): one row per optimizer, which every
 * optimizer test iterates — its PyTorch defaults, the option sets its float32-vs-float64 trajectories
 * run on every device, its error inputs, and its PyTorch fixture name. Rows name the class in
 * @tsgrad/optim (test-utils does not depend on optim; tests look classes up by name). Adding an
 * optimizer: its file in optim, its export in optim's index, its row here (and its fixture cases).
 */
export type OptimizerName = 'SGD' | 'Adam' | 'AdamW' | 'Adagrad' | 'RMSprop' | 'Adamax' | 'NAdam' | 'RAdam' | 'Adadelta' | 'Rprop' | 'ASGD' | 'Lion' | 'LAMB' | 'Adafactor' | 'LBFGS' | 'SparseAdam';

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
  /** `step(closure)` only (LBFGS re-evaluates the loss): left out of the trajectory tables, tested in its own file. */
  closure?: boolean;
  /**
   * Its single-tensor reference loop, which every CPU rendering of its program must equal; null for
   * an optimizer that is not elementwise (Adafactor), tested against a naive transcription instead.
   */
  reference?: ReferenceInfo | null;
}

/** Options with the defaults filled in, as the reference's `hyper` reads them. */
export type FullOptions = Record<string, number | boolean | number[]>;

export interface ReferenceInfo {
  /** The reference's export name in @tsgrad/optim (`adamReference`). */
  fn: string;
  /** The state arrays it updates, under these options. */
  state: (o: FullOptions) => string[];
  /** A state array's initial value (Adagrad's initialAccumulatorValue, Rprop's lr); 0 by default. */
  init?: (o: FullOptions, key: string) => number;
  /** Its hyperparameters at step t (1-based). */
  hyper: (o: FullOptions, step: number) => object;
  /** Option sets to check, float64 and float32, in every CPU rendering. */
  grid: Record<string, unknown>[];
  /**
   * Relative tolerance where the optimizer is not one program (LAMB's per-tensor trust ratio runs as
   * tensor ops, whose float32 intermediates round): [float64, float32]. Bit-identical when absent.
   */
  tolerance?: [number, number];
}

/** Every combination of the listed values (a small option grid). */
function grid(axes: Record<string, readonly unknown[]>): Record<string, unknown>[] {
  return Object.entries(axes).reduce<Record<string, unknown>[]>((acc, [k, values]) => acc.flatMap((o) => values.map((v) => ({ ...o, [k]: v }))), [{}]);
}

const betas = (o: FullOptions) => o.betas as [number, number];
/** ASGD's η and μ at step t (PyTorch's schedule: the step runs at the previous step's values). */
function asgdHyper(o: FullOptions, step: number): object {
  const [lr, lambd, alpha, t0] = [o.lr, o.lambd, o.alpha, o.t0] as number[];
  const eta = step === 1 ? lr : lr / (1 + lambd * lr * (step - 1)) ** alpha;
  const mu = step === 1 ? 1 : 1 / Math.max(1, step - 1 - t0);
  return { ...o, eta, mu };
}

const adamHyper = (o: FullOptions, step: number) => ({ ...o, beta1: betas(o)[0], beta2: betas(o)[1], step });
/** μ_t of NAdam (PyTorch 2), and the running products the reference takes. */
const nadamMu = (o: FullOptions, t: number) => betas(o)[0] * (1 - 0.5 * 0.96 ** (t * (o.momentumDecay as number)));
function nadamHyper(o: FullOptions, step: number): object {
  let product = 1;
  for (let t = 1; t <= step; t++) product *= nadamMu(o, t);
  const muNext = nadamMu(o, step + 1);
  return { ...adamHyper(o, step), mu: nadamMu(o, step), muNext, muProduct: product, muProductNext: product * muNext };
}

const adamFamily = { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false, decoupledWeightDecay: false, decayScale: 'lr' };
const adamFamilyErrors = (name: string) => [
  { options: { betas: [1, 0.999] }, error: /Invalid betas\[0\]: 1 \(expected a number in \[0, 1\)\)/ },
  { options: { betas: [0.9] }, error: /Invalid betas: \[0.9\]/ },
  { options: { eps: -1e-8 }, error: /Invalid eps: -1e-8/ },
  { options: { weight_decay: 0.1 }, error: new RegExp(`${name}: unknown option 'weight_decay'; did you mean 'weightDecay'\\?`) },
];

export const optimInfos: OptimInfo[] = [
  {
    name: 'SGD',
    defaults: { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, decoupledWeightDecay: false, decayScale: 'lr' },
    options: [
      { lr: 0.05 },
      { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 },
      { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, decoupledWeightDecay: true, maximize: false },
    ],
    errors: [
      { options: { lr: -0.1 }, error: /Invalid lr: -0.1 \(expected a number >= 0\)/ },
      { options: { nesterov: true }, error: /Invalid nesterov: true requires momentum > 0 and dampening = 0/ },
      { options: { momentun: 0.9 }, error: /SGD: unknown option 'momentun'; did you mean 'momentum'\?/ },
      { options: { weightDecay: 0.1, decayScale: 'schedule' }, error: /Invalid decayScale: 'schedule' scales decoupled weight decay only/ },
      { options: { decayScale: 'cosine' }, error: /Invalid decayScale: "cosine" \(expected 'lr' or 'schedule'\)/ },
    ],
    fixture: 'SGD',
    dense: true,
    reference: {
      fn: 'sgdReference',
      state: (o) => (o.momentum ? ['momentumBuffer'] : []),
      hyper: (o, step) => ({ ...o, firstStep: step === 1 }),
      grid: [
        ...grid({ lr: [0.1], momentum: [0], dampening: [0.2], weightDecay: [0, 0.05], decoupledWeightDecay: [false, true] }),
        ...grid({ lr: [0.1], momentum: [0.9], dampening: [0.2], weightDecay: [0, 0.05], decoupledWeightDecay: [false, true] }),
        ...grid({ lr: [0.1], momentum: [0.9], nesterov: [true], maximize: [true], weightDecay: [0, 0.05], decoupledWeightDecay: [false, true] }),
      ],
    },
  },
  {
    name: 'Adam',
    defaults: { lr: 1e-3, ...adamFamily, amsgrad: false },
    options: [{ lr: 0.01 }, { lr: 0.01, amsgrad: true, weightDecay: 0.1 }],
    errors: [...adamFamilyErrors('Adam'), { options: { amsgrad: 1 }, error: /Invalid amsgrad: 1 \(expected true or false\)/ }],
    fixture: 'Adam',
    dense: true,
    reference: {
      fn: 'adamReference',
      state: (o) => (o.amsgrad ? ['expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['expAvg', 'expAvgSq']),
      hyper: adamHyper,
      grid: [...grid({ lr: [0.01], amsgrad: [false, true], decoupledWeightDecay: [false, true], weightDecay: [0, 0.1] }), { lr: 0.01, weightDecay: 0.1, amsgrad: true, maximize: true }],
    },
  },
  {
    name: 'AdamW',
    defaults: { lr: 1e-3, ...adamFamily, weightDecay: 1e-2, amsgrad: false, decoupledWeightDecay: true },
    options: [{ lr: 0.01, weightDecay: 0.1 }, { lr: 0.01, weightDecay: 0.1, amsgrad: true, maximize: true }],
    errors: [...adamFamilyErrors('AdamW'), { options: { weightDecay: -0.01 }, error: /Invalid weightDecay: -0.01/ }],
    fixture: 'AdamW',
    dense: true,
    reference: { fn: 'adamReference', state: (o) => (o.amsgrad ? ['expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['expAvg', 'expAvgSq']), hyper: adamHyper, grid: [{ lr: 0.01, betas: [0.9, 0.99], weightDecay: 0.1, amsgrad: true }] },
  },
  {
    name: 'Adagrad',
    defaults: { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false, decoupledWeightDecay: false, decayScale: 'lr' },
    options: [{ lr: 0.05, lrDecay: 0.01, weightDecay: 0.01, initialAccumulatorValue: 0.1 }, { lr: 0.05, weightDecay: 0.01, decoupledWeightDecay: true, maximize: true }],
    errors: [{ options: { lrDecay: -1 }, error: /Invalid lrDecay: -1/ }],
    fixture: 'Adagrad',
    dense: true,
    reference: {
      fn: 'adagradReference',
      state: () => ['sum'],
      init: (o) => o.initialAccumulatorValue as number,
      hyper: (o, step) => ({ ...o, step }),
      grid: grid({ lr: [0.1], lrDecay: [0.01], weightDecay: [0.1], initialAccumulatorValue: [0.5], decoupledWeightDecay: [false, true], maximize: [false, true] }),
    },
  },
  {
    name: 'RMSprop',
    defaults: { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false, decoupledWeightDecay: false, decayScale: 'lr' },
    options: [{ lr: 0.01 }, { lr: 0.01, momentum: 0.9, centered: true, weightDecay: 0.01 }],
    errors: [{ options: { momentum: -0.5 }, error: /Invalid momentum: -0.5/ }],
    fixture: 'RMSprop',
    dense: true,
    reference: {
      fn: 'rmspropReference',
      state: (o) => ['squareAvg', ...(o.centered ? ['gradAvg'] : []), ...(o.momentum ? ['momentumBuffer'] : [])],
      hyper: (o) => o,
      grid: grid({ lr: [0.01], weightDecay: [0.1], centered: [false, true], momentum: [0, 0.9], maximize: [false, true], decoupledWeightDecay: [false, true] }),
    },
  },
  {
    name: 'Adamax',
    defaults: { lr: 2e-3, ...adamFamily },
    options: [{ lr: 0.01, weightDecay: 0.01 }, { lr: 0.01, weightDecay: 0.01, decoupledWeightDecay: true, maximize: true }],
    errors: adamFamilyErrors('Adamax'),
    fixture: 'Adamax',
    dense: true,
    reference: { fn: 'adamaxReference', state: () => ['expAvg', 'expInf'], hyper: adamHyper, grid: grid({ lr: [0.01], weightDecay: [0.1], decoupledWeightDecay: [false, true], maximize: [false, true] }) },
  },
  {
    name: 'NAdam',
    defaults: { lr: 2e-3, ...adamFamily, momentumDecay: 4e-3 },
    options: [{}, { lr: 0.003, weightDecay: 0.1 }, { lr: 0.003, weightDecay: 0.1, decoupledWeightDecay: true, momentumDecay: 0.01 }],
    errors: [...adamFamilyErrors('NAdam'), { options: { betas: [0.9, -0.1] }, error: /Invalid betas\[1\]: -0.1/ }],
    fixture: 'NAdam',
    dense: true,
    reference: { fn: 'nadamReference', state: () => ['expAvg', 'expAvgSq'], hyper: nadamHyper, grid: grid({ lr: [0.01], weightDecay: [0, 0.1], decoupledWeightDecay: [false, true], maximize: [false, true] }) },
  },
  {
    name: 'RAdam',
    defaults: { lr: 1e-3, ...adamFamily },
    options: [{ lr: 0.01 }, { lr: 0.01, weightDecay: 0.1, decoupledWeightDecay: true }],
    errors: adamFamilyErrors('RAdam'),
    fixture: 'RAdam',
    dense: true,
    reference: { fn: 'radamReference', state: () => ['expAvg', 'expAvgSq'], hyper: adamHyper, grid: grid({ lr: [0.01], weightDecay: [0.1], decoupledWeightDecay: [false, true], maximize: [false, true] }) },
  },
  {
    name: 'Adadelta',
    defaults: { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false, decoupledWeightDecay: false, decayScale: 'lr' },
    options: [{ lr: 1, weightDecay: 0.01 }, { lr: 1, rho: 0.5, weightDecay: 0.01, decoupledWeightDecay: true }],
    errors: [{ options: { rho: 1.5 }, error: /Invalid rho: 1.5 \(expected a number in \[0, 1\]\)/ }],
    fixture: 'Adadelta',
    dense: true,
    reference: { fn: 'adadeltaReference', state: () => ['squareAvg', 'accDelta'], hyper: (o) => o, grid: grid({ lr: [1], weightDecay: [0.1], decoupledWeightDecay: [false, true], maximize: [false, true] }) },
  },
  {
    name: 'Rprop',
    defaults: { lr: 1e-2, etas: [0.5, 1.2], stepSizes: [1e-6, 50], maximize: false },
    options: [{ lr: 0.01 }, { lr: 0.05, etas: [0.3, 1.5], stepSizes: [1e-4, 0.1] }],
    errors: [
      { options: { etas: [1.2, 0.5] }, error: /Invalid eta values: \[1.2,0.5\]/ },
      { options: { stepSizes: [1, 0.1] }, error: /Invalid stepSizes: \[1,0.1\]/ },
      { options: { weightDecay: 0.1 }, error: /Rprop: unknown option 'weightDecay'/ },
    ],
    fixture: 'Rprop',
    dense: true,
    reference: {
      fn: 'rpropReference',
      state: () => ['prev', 'stepSize'],
      init: (o, key) => (key === 'stepSize' ? (o.lr as number) : 0),
      hyper: (o) => ({ etaminus: (o.etas as number[])[0], etaplus: (o.etas as number[])[1], stepMin: (o.stepSizes as number[])[0], stepMax: (o.stepSizes as number[])[1], maximize: o.maximize }),
      grid: grid({ lr: [0.01], etas: [[0.5, 1.2], [0.3, 1.5]], stepSizes: [[1e-6, 50], [1e-4, 0.02]], maximize: [false, true] }),
    },
  },
  {
    name: 'ASGD',
    defaults: { lr: 1e-2, lambd: 1e-4, alpha: 0.75, t0: 1e6, weightDecay: 0, maximize: false, decoupledWeightDecay: false, decayScale: 'lr' },
    options: [{ lr: 0.01 }, { lr: 0.05, lambd: 1e-3, alpha: 0.5, t0: 5, weightDecay: 0.1 }],
    errors: [{ options: { lambd: -1 }, error: /Invalid lambd: -1/ }, { options: { lambda: 1e-3 }, error: /ASGD: unknown option 'lambda'; did you mean 'lambd'\?/ }],
    fixture: 'ASGD',
    dense: true,
    reference: {
      fn: 'asgdReference',
      state: () => ['ax'],
      hyper: asgdHyper,
      grid: grid({ lr: [0.05], lambd: [1e-3], alpha: [0.5], t0: [1, 1e6], weightDecay: [0, 0.1], decoupledWeightDecay: [false, true], maximize: [false, true] }),
    },
  },
  {
    name: 'Lion',
    defaults: { lr: 1e-4, betas: [0.9, 0.99], weightDecay: 1e-3, maximize: false, decayScale: 'lr' },
    options: [{ lr: 1e-3 }, { lr: 3e-3, betas: [0.95, 0.98], weightDecay: 0.1 }],
    errors: [{ options: { betas: [0.9, 1] }, error: /Invalid betas\[1\]: 1/ }, { options: { decoupledWeightDecay: false }, error: /Lion: unknown option 'decoupledWeightDecay'/ }],
    fixture: null,
    dense: true,
    reference: {
      fn: 'lionReference',
      state: () => ['expAvg'],
      hyper: (o) => ({ ...o, beta1: betas(o)[0], beta2: betas(o)[1], decoupledWeightDecay: true }),
      grid: grid({ lr: [0.01], weightDecay: [0, 0.1], maximize: [false, true] }),
    },
  },
  {
    name: 'LAMB',
    defaults: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-6, epsRoot: 0, weightDecay: 0, maximize: false },
    options: [{ lr: 0.01 }, { lr: 0.01, weightDecay: 0.1, epsRoot: 1e-8 }],
    errors: [{ options: { epsRoot: -1 }, error: /Invalid epsRoot: -1/ }, { options: { decoupledWeightDecay: true }, error: /LAMB: unknown option 'decoupledWeightDecay'/ }],
    fixture: null,
    dense: true,
    reference: {
      fn: 'lambReference',
      state: () => ['expAvg', 'expAvgSq'],
      hyper: adamHyper,
      grid: grid({ lr: [0.01], weightDecay: [0, 0.1], epsRoot: [0, 1e-8], maximize: [false, true] }),
      tolerance: [1e-12, 1e-6],
    },
  },
  {
    name: 'Adafactor',
    defaults: { lr: 1e-2, beta2Decay: -0.8, eps: [null, 1e-3], d: 1, weightDecay: 0, maximize: false },
    options: [{ lr: 0.05 }, { lr: 0.05, weightDecay: 0.1, d: 2 }],
    errors: [
      { options: { beta2Decay: 0.5 }, error: /Invalid beta2Decay: 0.5 \(expected a number <= 0\)/ },
      { options: { d: 0.5 }, error: /Invalid d: 0.5 \(expected a clipping threshold >= 1\)/ },
      { options: { beta2_decay: -0.8 }, error: /Adafactor: unknown option 'beta2_decay'; did you mean 'beta2Decay'\?/ },
    ],
    fixture: null,
    dense: true,
    reference: null,
  },
  {
    name: 'LBFGS',
    defaults: { lr: 1, maxIter: 20, maxEval: null, toleranceGrad: 1e-7, toleranceChange: 1e-9, historySize: 100, lineSearchFn: null },
    options: [],
    errors: [
      { options: { lineSearchFn: 'backtracking' }, error: /Invalid lineSearchFn: "backtracking"/ },
      { options: { maxIter: 0 }, error: /Invalid maxIter: 0 \(expected a positive integer\)/ },
    ],
    fixture: null,
    dense: true,
    closure: true,
    reference: null,
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
export const optimTrajectoryCases = optimInfos.filter((i) => i.dense && !i.closure).flatMap((info) => info.options.map((options) => ({ optimizer: info.name, options })));
