/**
 * The layer table (like `optimInfos`): one row per Module subclass that @tsgrad/nn exports, which the
 * layer tests iterate — each configuration's constructor arguments, its sample inputs, the mode it runs
 * in, PyTorch's state-dict keys, and the name of its PyTorch fixture case. A test enumerates nn's
 * exports and fails for a layer without a row; another runs every configuration against its fixture
 * (output, input and parameter gradients, buffers after the forward, state-dict keys). Rows name the
 * class in @tsgrad/nn (test-utils does not depend on nn; tests look classes up by name). Adding a
 * layer: its class and export in nn, its row here, its case in scripts/gen_nn_fixtures.py (attention layers:
 * scripts/gen_attention_fixtures.py).
 */
import { zeros } from '@tsgrad/autograd';
import { loadFixture, type EncodedTensor, type LayerCase } from './fixtures.js';

export type LayerName =
  | 'Linear' | 'BatchNorm1d' | 'BatchNorm2d' | 'BatchNormBase' | 'LayerNorm' | 'Conv2d' | 'MaxPool2d' | 'AvgPool2d'
  | 'ReLU' | 'GELU' | 'Sigmoid' | 'Tanh' | 'Dropout' | 'Flatten' | 'Embedding' | 'Sequential' | 'ModuleList'
  | 'MSELoss' | 'L1Loss' | 'CrossEntropyLoss' | 'NLLLoss' | 'BCEWithLogitsLoss' | 'AveragedModel'
  | 'RMSNorm' | 'GroupNorm' | 'ModuleDict' | 'ParameterList' | 'ParameterDict' | 'MultiheadAttention' | 'TransformerEncoderLayer';

/**
 * One sample input. Its values are drawn by the fixture generator (seeded: `torch.manual_seed`), so
 * the table gives its shape and kind, and the test checks the fixture's input against them.
 */
export interface LayerInput {
  shape: number[];
  /** `randn` float64 (default), `index` int32 in [0, high), `binary` float64 0/1 targets. */
  kind?: 'randn' | 'index' | 'binary';
  high?: number;
  /** Whether the input requires grad (and the fixture holds its gradient): default, `randn` only. */
  grad?: boolean;
}

/** A nested layer as a constructor argument (a container's child, AveragedModel's model). */
export interface LayerSpec {
  layer: string;
  args?: unknown[];
  options?: Record<string, unknown>;
}

/** A tensor as a constructor argument (a parameter container's element), zeros of a shape: the fixture's state dict gives its values. */
export interface TensorSpec {
  tensor: number[];
}

export interface LayerConfig {
  /** The fixture case (`layerFixtureCases()` key): nn.json's layers, or the named cases of nn-modules.json and attention.json. */
  fixture: string;
  /** Constructor arguments in tsgrad's spelling, before the options bag; a `LayerSpec` is a child layer, a `TensorSpec` a tensor. */
  args: unknown[];
  /** The options bag (absent: the constructor gets none). */
  options?: Record<string, unknown>;
  /** Tensor-valued options (a loss's `weight`), whose values the fixture holds. */
  tensorOptions?: string[];
  /**
   * The forward's inputs; empty for a layer without a forward (ModuleList). A forward returning a
   * tuple (MultiheadAttention's [output, weights]) is checked on its first element; the layer's own
   * tests check the rest.
   */
  inputs: LayerInput[];
  mode: 'train' | 'eval';
  /** PyTorch's state-dict keys, in PyTorch's order. */
  stateDictKeys: string[];
}

export interface LayerInfo {
  name: LayerName;
  configs: LayerConfig[];
  /** Why a row has no configuration (an abstract base class, tested through its subclasses). */
  noFixture?: string;
}

/** A fixture case of nn-modules.json: named, its inputs possibly absent (no forward). */
export type ModuleCase = Omit<LayerCase, ForwardFields> & Partial<Pick<LayerCase, ForwardFields>> & { name: string; tensorOptions: Record<string, EncodedTensor> };
type ForwardFields = 'inputs' | 'output' | 'cotangent' | 'inputGrads' | 'paramGrads' | 'buffersAfter';

const x = (...shape: number[]): LayerInput => ({ shape });
const affine = ['weight', 'bias'];
const bnKeys = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'];
/** One configuration of a layer that has no state and takes one float input. */
const plain = (fixture: string, args: unknown[], shape: number[], options?: Record<string, unknown>): LayerConfig => ({
  fixture, args, ...(options ? { options } : {}), inputs: [x(...shape)], mode: 'train', stateDictKeys: [],
});

const mlp: LayerSpec[] = [{ layer: 'Linear', args: [4, 3] }, { layer: 'BatchNorm1d', args: [3] }, { layer: 'ReLU' }, { layer: 'Linear', args: [3, 2] }];
const mlpKeys = ['0.weight', '0.bias', ...bnKeys.map((k) => `1.${k}`), '3.weight', '3.bias'];
const mhaKeys = ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'];
const encoderKeys = [...mhaKeys.map((k) => `self_attn.${k}`), ...['linear1', 'linear2', 'norm1', 'norm2'].flatMap((m) => affine.map((k) => `${m}.${k}`))];
/** A regression loss's input and target (the target takes no gradient). */
const pair: LayerInput[] = [x(4, 3), { shape: [4, 3], grad: false }];

export const layerInfos: LayerInfo[] = [
  {
    name: 'Linear',
    configs: [
      { fixture: 'Linear(4, 3) train [5,4]', args: [4, 3], inputs: [x(5, 4)], mode: 'train', stateDictKeys: affine },
      { fixture: 'Linear(4, 3, {"bias":false}) train [2,3,4]', args: [4, 3], options: { bias: false }, inputs: [x(2, 3, 4)], mode: 'train', stateDictKeys: ['weight'] },
    ],
  },
  {
    name: 'BatchNorm1d',
    configs: [
      { fixture: 'BatchNorm1d(3) train [6,3]', args: [3], inputs: [x(6, 3)], mode: 'train', stateDictKeys: bnKeys },
      { fixture: 'BatchNorm1d(3) eval [6,3]', args: [3], inputs: [x(6, 3)], mode: 'eval', stateDictKeys: bnKeys },
      { fixture: 'BatchNorm1d(3) train [4,3,5]', args: [3], inputs: [x(4, 3, 5)], mode: 'train', stateDictKeys: bnKeys },
      { fixture: 'BatchNorm1d(3, {"affine":false}) train [5,3]', args: [3], options: { affine: false }, inputs: [x(5, 3)], mode: 'train', stateDictKeys: bnKeys.slice(2) },
      { fixture: 'BatchNorm1d(3, {"trackRunningStats":false}) eval [5,3]', args: [3], options: { trackRunningStats: false }, inputs: [x(5, 3)], mode: 'eval', stateDictKeys: affine },
    ],
  },
  {
    name: 'BatchNorm2d',
    configs: [
      { fixture: 'BatchNorm2d(3) train [4,3,5,5]', args: [3], inputs: [x(4, 3, 5, 5)], mode: 'train', stateDictKeys: bnKeys },
      { fixture: 'BatchNorm2d(3, {"momentum":null}) eval [2,3,4,4]', args: [3], options: { momentum: null }, inputs: [x(2, 3, 4, 4)], mode: 'eval', stateDictKeys: bnKeys },
    ],
  },
  { name: 'BatchNormBase', configs: [], noFixture: 'abstract base of BatchNorm1d and BatchNorm2d, which run its forward' },
  {
    name: 'LayerNorm',
    configs: [
      { fixture: 'LayerNorm([5]) train [4,5]', args: [[5]], inputs: [x(4, 5)], mode: 'train', stateDictKeys: affine },
      { fixture: 'LayerNorm([3,4], {"elementwiseAffine":false}) train [2,3,4]', args: [[3, 4]], options: { elementwiseAffine: false }, inputs: [x(2, 3, 4)], mode: 'train', stateDictKeys: [] },
    ],
  },
  {
    name: 'Conv2d',
    configs: [
      { fixture: 'Conv2d(3, 4, 3) train [2,3,6,6]', args: [3, 4, 3], inputs: [x(2, 3, 6, 6)], mode: 'train', stateDictKeys: affine },
      { fixture: 'Conv2d(3, 4, 3, {"stride":2,"padding":1}) train [2,3,7,7]', args: [3, 4, 3], options: { stride: 2, padding: 1 }, inputs: [x(2, 3, 7, 7)], mode: 'train', stateDictKeys: affine },
      { fixture: 'Conv2d(2, 3, [2,3], {"dilation":2,"bias":false}) train [1,2,7,8]', args: [2, 3, [2, 3]], options: { dilation: 2, bias: false }, inputs: [x(1, 2, 7, 8)], mode: 'train', stateDictKeys: ['weight'] },
      { fixture: 'Conv2d(4, 6, 3, {"groups":2,"padding":[1,0]}) train [2,4,5,5]', args: [4, 6, 3], options: { groups: 2, padding: [1, 0] }, inputs: [x(2, 4, 5, 5)], mode: 'train', stateDictKeys: affine },
    ],
  },
  {
    name: 'MaxPool2d',
    configs: [
      plain('MaxPool2d(2) train [2,3,6,6]', [2], [2, 3, 6, 6]),
      plain('MaxPool2d(3, {"stride":2,"padding":1}) train [1,2,7,7]', [3], [1, 2, 7, 7], { stride: 2, padding: 1 }),
      plain('MaxPool2d(3, {"stride":2,"ceilMode":true}) train [1,2,8,8]', [3], [1, 2, 8, 8], { stride: 2, ceilMode: true }),
    ],
  },
  {
    name: 'AvgPool2d',
    configs: [
      plain('AvgPool2d(2) train [2,3,6,6]', [2], [2, 3, 6, 6]),
      plain('AvgPool2d(3, {"stride":2,"padding":1}) train [1,2,7,7]', [3], [1, 2, 7, 7], { stride: 2, padding: 1 }),
      plain('AvgPool2d(3, {"stride":2,"padding":1,"countIncludePad":false}) train [1,2,7,7]', [3], [1, 2, 7, 7], { stride: 2, padding: 1, countIncludePad: false }),
    ],
  },
  {
    name: 'Embedding',
    configs: [{ fixture: 'Embedding(10, 4, {"paddingIdx":0}) train [2,5]', args: [10, 4], options: { paddingIdx: 0 }, inputs: [{ shape: [2, 5], kind: 'index', high: 10 }], mode: 'train', stateDictKeys: ['weight'] }],
  },
  { name: 'ReLU', configs: [plain('ReLU() train [3,4]', [], [3, 4])] },
  { name: 'GELU', configs: [plain('GELU() train [3,4]', [], [3, 4]), plain('GELU({"approximate":"tanh"}) train [3,4]', [], [3, 4], { approximate: 'tanh' })] },
  { name: 'Sigmoid', configs: [plain('Sigmoid() train [3,4]', [], [3, 4])] },
  { name: 'Tanh', configs: [plain('Tanh() train [3,4]', [], [3, 4])] },
  { name: 'Flatten', configs: [plain('Flatten() train [2,3,4]', [], [2, 3, 4])] },
  // Training-mode dropout draws its mask from tsgrad's generator, not PyTorch's: no fixture can hold
  // its output; nn's functional tests check its statistics.
  { name: 'Dropout', configs: [{ ...plain('Dropout(0.3) eval [3,4]', [0.3], [3, 4]), mode: 'eval' }] },
  {
    name: 'Sequential',
    configs: [
      { fixture: 'Sequential(Linear, BatchNorm1d, ReLU, Linear) train [5,4]', args: mlp, inputs: [x(5, 4)], mode: 'train', stateDictKeys: mlpKeys },
      { fixture: 'Sequential(Linear, BatchNorm1d, ReLU, Linear) eval [5,4]', args: mlp, inputs: [x(5, 4)], mode: 'eval', stateDictKeys: mlpKeys },
    ],
  },
  {
    name: 'ModuleList',
    // PyTorch's ModuleList has no forward either: the row checks construction, keys and loading.
    configs: [{ fixture: 'ModuleList(Linear, LayerNorm)', args: [[{ layer: 'Linear', args: [4, 3] }, { layer: 'LayerNorm', args: [[3]] }]], inputs: [], mode: 'train', stateDictKeys: ['0.weight', '0.bias', '1.weight', '1.bias'] }],
  },
  {
    name: 'AveragedModel',
    // PyTorch's class is torch.optim.swa_utils.AveragedModel; its averaging is tested in nn's swa tests.
    configs: [{ fixture: 'AveragedModel(Linear) train [5,4]', args: [{ layer: 'Linear', args: [4, 3] }], inputs: [x(5, 4)], mode: 'train', stateDictKeys: ['n_averaged', 'module.weight', 'module.bias'] }],
  },
  {
    name: 'GroupNorm',
    configs: [
      { fixture: 'GroupNorm(2, 4) train [3,4,5]', args: [2, 4], inputs: [x(3, 4, 5)], mode: 'train', stateDictKeys: affine },
      { fixture: 'GroupNorm(3, 6, {"eps":0.001}) eval [2,6,2,3]', args: [3, 6], options: { eps: 0.001 }, inputs: [x(2, 6, 2, 3)], mode: 'eval', stateDictKeys: affine },
      { fixture: 'GroupNorm(1, 3, {"affine":false}) train [4,3]', args: [1, 3], options: { affine: false }, inputs: [x(4, 3)], mode: 'train', stateDictKeys: [] },
    ],
  },
  {
    name: 'RMSNorm',
    // PyTorch >= 2.4's class; under 1.13 the generator's fixture is a naive float64 implementation of its formula.
    configs: [
      { fixture: 'RMSNorm([5]) train [4,5]', args: [[5]], inputs: [x(4, 5)], mode: 'train', stateDictKeys: ['weight'] },
      { fixture: 'RMSNorm([3,4], {"eps":0.01}) train [2,3,4]', args: [[3, 4]], options: { eps: 0.01 }, inputs: [x(2, 3, 4)], mode: 'train', stateDictKeys: ['weight'] },
      { fixture: 'RMSNorm(4, {"elementwiseAffine":false}) train [2,3,4]', args: [4], options: { elementwiseAffine: false }, inputs: [x(2, 3, 4)], mode: 'train', stateDictKeys: [] },
    ],
  },
  {
    name: 'ModuleDict',
    // No forward, as in PyTorch. The key '1' among string keys checks insertion order (JavaScript lists integer-like keys first).
    configs: [{
      fixture: 'ModuleDict(head: Linear, 1: LayerNorm, emb: Embedding)',
      args: [[['head', { layer: 'Linear', args: [4, 3] }], ['1', { layer: 'LayerNorm', args: [[3]] }], ['emb', { layer: 'Embedding', args: [5, 2] }]]],
      inputs: [], mode: 'train', stateDictKeys: ['head.weight', 'head.bias', '1.weight', '1.bias', 'emb.weight'],
    }],
  },
  {
    name: 'ParameterList',
    configs: [{ fixture: 'ParameterList([3], [2,2])', args: [[{ tensor: [3] }, { tensor: [2, 2] }]], inputs: [], mode: 'train', stateDictKeys: ['0', '1'] }],
  },
  {
    name: 'ParameterDict',
    configs: [{
      fixture: 'ParameterDict(scale: [3], proj: [2,2], shift: [3])', args: [[['scale', { tensor: [3] }], ['proj', { tensor: [2, 2] }], ['shift', { tensor: [3] }]]],
      inputs: [], mode: 'train', stateDictKeys: ['scale', 'proj', 'shift'],
    }],
  },
  {
    name: 'MultiheadAttention',
    // scripts/gen_attention_fixtures.py (attention.json); masks, weights and the other options: nn's attention tests.
    configs: [
      { fixture: 'MultiheadAttention(8, 2) train [5,3,8] [4,3,8] [4,3,8]', args: [8, 2], inputs: [x(5, 3, 8), x(4, 3, 8), x(4, 3, 8)], mode: 'train', stateDictKeys: mhaKeys },
      {
        fixture: 'MultiheadAttention(6, 3, {"batchFirst":true,"kdim":4,"vdim":5}) eval [2,5,6] [2,4,4] [2,4,5]', args: [6, 3], options: { batchFirst: true, kdim: 4, vdim: 5 },
        inputs: [x(2, 5, 6), x(2, 4, 4), x(2, 4, 5)], mode: 'eval', stateDictKeys: ['q_proj_weight', 'k_proj_weight', 'v_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'],
      },
    ],
  },
  {
    name: 'TransformerEncoderLayer',
    configs: [
      { fixture: 'TransformerEncoderLayer(8, 2, {"dimFeedforward":16,"dropout":0}) train [5,3,8]', args: [8, 2], options: { dimFeedforward: 16, dropout: 0 }, inputs: [x(5, 3, 8)], mode: 'train', stateDictKeys: encoderKeys },
      {
        fixture: 'TransformerEncoderLayer(8, 2, {"dimFeedforward":12,"activation":"gelu","normFirst":true,"batchFirst":true}) eval [3,5,8]', args: [8, 2],
        options: { dimFeedforward: 12, activation: 'gelu', normFirst: true, batchFirst: true }, inputs: [x(3, 5, 8)], mode: 'eval', stateDictKeys: encoderKeys,
      },
    ],
  },
  { name: 'MSELoss', configs: [{ fixture: 'MSELoss() [4,3] [4,3]', args: [], inputs: pair, mode: 'train', stateDictKeys: [] }] },
  { name: 'L1Loss', configs: [{ fixture: 'L1Loss({"reduction":"sum"}) [4,3] [4,3]', args: [], options: { reduction: 'sum' }, inputs: pair, mode: 'train', stateDictKeys: [] }] },
  {
    name: 'CrossEntropyLoss',
    configs: [{ fixture: 'CrossEntropyLoss({"labelSmoothing":0.1}, weight) [5,4] index', args: [], options: { labelSmoothing: 0.1 }, tensorOptions: ['weight'], inputs: [x(5, 4), { shape: [5], kind: 'index', high: 4 }], mode: 'train', stateDictKeys: ['weight'] }],
  },
  {
    name: 'NLLLoss',
    configs: [{ fixture: 'NLLLoss({"ignoreIndex":1}, weight) [6,4] index', args: [], options: { ignoreIndex: 1 }, tensorOptions: ['weight'], inputs: [x(6, 4), { shape: [6], kind: 'index', high: 4 }], mode: 'train', stateDictKeys: ['weight'] }],
  },
  {
    name: 'BCEWithLogitsLoss',
    configs: [{ fixture: 'BCEWithLogitsLoss(posWeight) [4,3] binary', args: [], tensorOptions: ['posWeight'], inputs: [x(4, 3), { shape: [4, 3], kind: 'binary', grad: false }], mode: 'train', stateDictKeys: ['pos_weight'] }],
  },
];

/** nn.json's unnamed layer cases are named by their call, mode and input shapes: `Linear(4, 3) train [5,4]`. */
export function layerCaseName(c: LayerCase): string {
  const parts = [...c.args, ...(Object.keys(c.options).length ? [c.options] : [])].map((a) => JSON.stringify(a));
  return `${c.layer}(${parts.join(', ')}) ${c.mode} ${c.inputs.map((i) => JSON.stringify(i.shape)).join(' ')}`;
}

/** Every layer fixture case by name: nn.json's `layers`, nn-modules.json's `cases` and attention.json's `layers`. */
export function layerFixtureCases(): Map<string, ModuleCase> {
  const { layers } = loadFixture<{ layers: LayerCase[] }>('nn.json');
  const { cases } = loadFixture<{ cases: ModuleCase[] }>('nn-modules.json');
  const attention = loadFixture<{ layers: ModuleCase[] }>('attention.json').layers;
  const named: ModuleCase[] = [...layers.map((c) => ({ ...c, name: layerCaseName(c), tensorOptions: {} })), ...cases, ...attention];
  const byName = new Map<string, ModuleCase>();
  for (const c of named) {
    if (byName.has(c.name)) throw new Error(`layerFixtureCases: two cases named ${c.name}`);
    byName.set(c.name, c);
  }
  return byName;
}

const isSpec = (a: unknown): a is LayerSpec => typeof a === 'object' && a !== null && !Array.isArray(a) && typeof (a as LayerSpec).layer === 'string';
const isTensorSpec = (a: unknown): a is TensorSpec => typeof a === 'object' && a !== null && !Array.isArray(a) && Array.isArray((a as TensorSpec).tensor);

/**
 * Constructs a layer from a row's (or a fixture's) call: `classes` is @tsgrad/nn's namespace (test-utils
 * does not depend on nn), `LayerSpec` arguments (also inside arrays) become child layers, `TensorSpec`s
 * tensors of zeros, and the
 * options bag is passed only when there is one.
 */
export function constructLayer<M>(classes: object, layer: string, args: readonly unknown[] = [], options: Record<string, unknown> = {}): M {
  const Ctor = (classes as Record<string, (new (...a: unknown[]) => M) | undefined>)[layer];
  if (typeof Ctor !== 'function') throw new Error(`constructLayer: @tsgrad/nn exports no class ${layer}`);
  // Lists of layers and [key, layer] pairs are mapped element by element.
  const arg = (a: unknown): unknown => (isSpec(a) ? constructLayer(classes, a.layer, a.args, a.options) : isTensorSpec(a) ? zeros(a.tensor) : Array.isArray(a) ? a.map(arg) : a);
  const built = args.map(arg);
  return Object.keys(options).length ? new Ctor(...built, options) : new Ctor(...built);
}
