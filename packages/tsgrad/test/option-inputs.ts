import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdamW,
  AveragedModel,
  BatchNorm1d,
  BCEWithLogitsLoss,
  Conv2d,
  CrossEntropyLoss,
  Embedding,
  GELU,
  GroupNorm,
  L1Loss,
  LAMB,
  LayerNorm,
  LBFGS,
  GradScaler,
  Lion,
  Linear,
  MaxPool2d,
  AvgPool2d,
  MSELoss,
  MultiheadAttention,
  TransformerEncoderLayer,
  NLLLoss,
  SGD,
  Sequential,
  Adam,
  Adagrad,
  RMSprop,
  RMSNorm,
  Adamax,
  NAdam,
  RAdam,
  SparseAdam,
  Rprop,
  ASGD,
  Adafactor,
  Adadelta,
  checkParamGroups,
  clipGradNorm_,
  decodeSafetensors,
  deserializeCheckpoint,
  detectAnomaly,
  embeddingLookup,
  cumsum,
  sort,
  argsort,
  topk,
  multinomial,
  encodeSafetensors,
  explainWeightDecay,
  formatDecayPlan,
  full,
  functional as F,
  init,
  initWebGPU,
  load,
  lrScheduler,
  ones,
  onesLike,
  arange,
  paramGroupsWeightDecay,
  planWeightDecay,
  rand,
  save,
  randint,
  randn,
  randperm,
  autocast,
  fusedLayerNorm,
  serializeCheckpoint,
  setCpuKernels,
  renderKernelJs,
  forwardKernel,
  setDetectAnomaly,
  tensor,
  zeros,
  zerosLike,
  DataLoader,
  TensorDataset,
  randomSplit,
  summary,
  type Optimizer,
  type Tensor,
} from 'tsgrad';

/**
 * Every exported function, constructor and method that takes an option bag, as a call with that bag
 * (PyTorch's `error_inputs`, for options): tools/test/options-coverage.test.js reads the option types
 * through the TypeScript compiler, requires a row here for each (keyed as tools/options-coverage.js
 * names them), and checks that each key, misspelled, is an Error starting with `who` and naming the key.
 * `run` fills in what the call needs besides the bag; it may return a promise.
 */
export interface OptionInput {
  /** How the Error names the function. */
  who: string;
  run: (options: object) => unknown;
}

// Loosely typed calls: the point is to pass keys the types reject.
type Loose = Record<string, unknown>;
const x = () => tensor([[0.5, -1, 2], [1, 0, -0.5]]);
const classes = () => tensor([2, 0], { dtype: 'int32' });
const model = () => new Sequential(new Linear(3, 4), new BatchNorm1d(4), new Linear(4, 2));
const sgd = (): Optimizer<{ lr: number }> => new SGD(new Linear(2, 2).parameters(), { lr: 0.1, momentum: 0.9 }) as unknown as Optimizer<{ lr: number }>;
const image = () => rand([1, 1, 4, 4]);
/** A [seq, batch, feature] input of attention. */
const seq = () => rand([3, 2, 4]);
const window = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] } as { kernel: [number, number]; stride: [number, number]; padding: [number, number]; dilation: [number, number] };
const withGrad = (): Tensor => {
  const p = tensor([1, 2], { requiresGrad: true });
  p.mul(2).sum().backward();
  return p;
};
const params = () => new Linear(2, 2).parameters();
const optimizer = <O>(Ctor: new (p: Iterable<Tensor>, o: O) => unknown) => (o: object) => new Ctor(params(), o as O);
const loose = (o: object) => o as Loose;

export const optionInputs: Record<string, OptionInput> = {
  // tensor
  'tensor.setCpuKernels': { who: 'setCpuKernels', run: (o) => setCpuKernels(o) },
  'tensor.renderKernelJs': { who: 'renderKernelJs', run: (o) => renderKernelJs(forwardKernel('mul'), o) },
  // autograd: tensors and their methods
  'autograd.tensor': { who: 'tensor', run: (o) => tensor([1], o) },
  'autograd.zeros': { who: 'zeros', run: (o) => zeros([2], o) },
  'autograd.ones': { who: 'ones', run: (o) => ones([2], o) },
  'autograd.full': { who: 'full', run: (o) => full([2], 1, o) },
  'autograd.zerosLike': { who: 'zerosLike', run: (o) => zerosLike(x(), o) },
  'autograd.onesLike': { who: 'onesLike', run: (o) => onesLike(x(), o) },
  'autograd.arange': { who: 'arange', run: (o) => arange(0, 3, 1, o) },
  'autograd.rand': { who: 'rand', run: (o) => rand([2], o) },
  'autograd.randn': { who: 'randn', run: (o) => randn([2], o) },
  'autograd.randint': { who: 'randint', run: (o) => randint(0, 3, [2], o) },
  'autograd.randperm': { who: 'randperm', run: (o) => randperm(3, o) },
  'autograd.fusedLayerNorm': { who: 'fusedLayerNorm', run: (o) => fusedLayerNorm(x(), 3, o) },
  'autograd.autocast': { who: 'autocast', run: (o) => autocast({ device: 'cpu', ...o }, () => 0) },
  'autograd.Tensor.backward': { who: 'backward', run: (o) => withGrad().mul(3).sum().backward(undefined, o) },
  'autograd.Tensor.add': { who: 'add', run: (o) => x().add(1, o) },
  'autograd.Tensor.sub': { who: 'sub', run: (o) => x().sub(1, o) },
  'autograd.Tensor.add_': { who: 'add_', run: (o) => x().add_(1, o) },
  'autograd.Tensor.sub_': { who: 'sub_', run: (o) => x().sub_(1, o) },
  'autograd.Tensor.clamp': { who: 'clamp', run: (o) => x().clamp({ min: 0, ...o }) },
  'autograd.Tensor.clamp_': { who: 'clamp_', run: (o) => x().clamp_({ min: 0, ...o }) },
  'autograd.Tensor.sum': { who: 'sum', run: (o) => x().sum(1, o) },
  'autograd.Tensor.mean': { who: 'mean', run: (o) => x().mean(1, o) },
  'autograd.Tensor.max': { who: 'max', run: (o) => x().max(1, o) },
  'autograd.Tensor.min': { who: 'min', run: (o) => x().min(1, o) },
  'autograd.Tensor.argmax': { who: 'argmax', run: (o) => x().argmax(1, o) },
  'autograd.Tensor.argmin': { who: 'argmin', run: (o) => x().argmin(1, o) },
  'autograd.Tensor.logsumexp': { who: 'logsumexp', run: (o) => x().logsumexp(1, o) },
  'autograd.Tensor.var': { who: 'var', run: (o) => x().var(null, o) },
  'autograd.Tensor.std': { who: 'std', run: (o) => x().std(null, o) },
  'autograd.Tensor.cumsum': { who: 'cumsum', run: (o) => x().cumsum(1, o) },
  'autograd.Tensor.sort': { who: 'sort', run: (o) => x().sort(1, o) },
  'autograd.Tensor.argsort': { who: 'argsort', run: (o) => x().argsort(1, o) },
  'autograd.Tensor.topk': { who: 'topk', run: (o) => x().topk(2, 1, o) },
  'autograd.Tensor.multinomial': { who: 'multinomial', run: (o) => x().abs().multinomial(2, o) },
  'autograd.cumsum': { who: 'cumsum', run: (o) => cumsum(x(), 1, o) },
  'autograd.sort': { who: 'sort', run: (o) => sort(x(), 1, o) },
  'autograd.argsort': { who: 'argsort', run: (o) => argsort(x(), 1, o) },
  'autograd.topk': { who: 'topk', run: (o) => topk(x(), 2, 1, o) },
  'autograd.multinomial': { who: 'multinomial', run: (o) => multinomial(x().abs(), 2, o) },
  'autograd.embeddingLookup': { who: 'embeddingLookup', run: (o) => embeddingLookup(x(), tensor([1], { dtype: 'int32' }), o) },
  'autograd.detectAnomaly': { who: 'detectAnomaly', run: (o) => detectAnomaly(() => withGrad(), o) },
  'autograd.setDetectAnomaly': {
    who: 'setDetectAnomaly',
    run: (o) => {
      try {
        setDetectAnomaly(true, o);
      } finally {
        setDetectAnomaly(false);
      }
    },
  },
  // autograd: checkpoints
  'autograd.decodeSafetensors': { who: 'decodeSafetensors', run: async (o) => decodeSafetensors(await encodeSafetensors(new Map([['w', x()]])), o) },
  'autograd.deserializeCheckpoint': { who: 'deserializeCheckpoint', run: async (o) => deserializeCheckpoint(await serializeCheckpoint({ w: x() }), o) },
  'autograd.load': {
    who: 'load',
    run: async (o) => {
      const path = join(tmpdir(), `tsgrad-options-${process.pid}.safetensors`);
      await save({ w: x() }, path);
      try {
        return await load(path, o);
      } finally {
        await rm(path, { force: true });
      }
    },
  },
  // nn: Module
  'nn.Module.namedParameters': { who: 'Sequential.namedParameters', run: (o) => model().namedParameters(o) },
  'nn.Module.parameters': { who: 'Sequential.parameters', run: (o) => model().parameters(o) },
  'nn.Module.namedBuffers': { who: 'Sequential.namedBuffers', run: (o) => model().namedBuffers(o) },
  'nn.Module.buffers': { who: 'Sequential.buffers', run: (o) => model().buffers(o) },
  'nn.Module.zeroGrad': { who: 'Sequential.zeroGrad', run: (o) => model().zeroGrad(o) },
  'nn.Module.loadStateDict': { who: 'Sequential.loadStateDict', run: (o) => { const m = model(); return m.loadStateDict(m.stateDict(), o); } },
  // nn: layers
  'nn.new Linear': { who: 'Linear', run: (o) => new Linear(2, 2, o) },
  'nn.new BatchNormBase': { who: 'BatchNorm1d', run: (o) => new BatchNorm1d(2, o) },
  'nn.new LayerNorm': { who: 'LayerNorm', run: (o) => new LayerNorm([3], o) },
  'nn.new RMSNorm': { who: 'RMSNorm', run: (o) => new RMSNorm([3], o) },
  'nn.new GroupNorm': { who: 'GroupNorm', run: (o) => new GroupNorm(1, 2, o) },
  'nn.new Conv2d': { who: 'Conv2d', run: (o) => new Conv2d(1, 1, 3, o) },
  'nn.new MaxPool2d': { who: 'MaxPool2d', run: (o) => new MaxPool2d(2, o) },
  'nn.new AvgPool2d': { who: 'AvgPool2d', run: (o) => new AvgPool2d(2, o) },
  'nn.new GELU': { who: 'GELU', run: (o) => new GELU(o) },
  'nn.new Embedding': { who: 'Embedding', run: (o) => new Embedding(4, 2, o) },
  'nn.new MSELoss': { who: 'MSELoss', run: (o) => new MSELoss(o) },
  'nn.new L1Loss': { who: 'L1Loss', run: (o) => new L1Loss(o) },
  'nn.new CrossEntropyLoss': { who: 'CrossEntropyLoss', run: (o) => new CrossEntropyLoss(o) },
  'nn.new NLLLoss': { who: 'NLLLoss', run: (o) => new NLLLoss(o) },
  'nn.new BCEWithLogitsLoss': { who: 'BCEWithLogitsLoss', run: (o) => new BCEWithLogitsLoss(o) },
  'nn.new AveragedModel': { who: 'AveragedModel', run: (o) => new AveragedModel(model(), o) },
  'nn.new MultiheadAttention': { who: 'MultiheadAttention', run: (o) => new MultiheadAttention(4, 2, o) },
  'nn.MultiheadAttention.forward': { who: 'MultiheadAttention.forward', run: (o) => new MultiheadAttention(4, 2).forward(seq(), seq(), seq(), o) },
  'nn.new TransformerEncoderLayer': { who: 'TransformerEncoderLayer', run: (o) => new TransformerEncoderLayer(4, 2, { dimFeedforward: 8, ...o }) },
  'nn.TransformerEncoderLayer.forward': { who: 'TransformerEncoderLayer.forward', run: (o) => new TransformerEncoderLayer(4, 2, { dimFeedforward: 8 }).forward(seq(), o) },
  'nn.clipGradNorm_': { who: 'clipGradNorm_', run: (o) => clipGradNorm_([withGrad()], 1, o) },
  // nn: data loading and the model summary
  'nn.new DataLoader': { who: 'DataLoader', run: (o) => [...new DataLoader(new TensorDataset(x()), o)] },
  'nn.randomSplit': { who: 'randomSplit', run: (o) => randomSplit(new TensorDataset(x()), [1, 1], o) },
  'nn.summary': { who: 'summary', run: (o) => summary(model(), o) },
  // nn: init and functional
  'nn.init.kaimingUniform_': { who: 'kaimingUniform_', run: (o) => init.kaimingUniform_(zeros([2, 2]), o) },
  'nn.init.kaimingNormal_': { who: 'kaimingNormal_', run: (o) => init.kaimingNormal_(zeros([2, 2]), o) },
  'nn.functional.gelu': { who: 'gelu', run: (o) => F.gelu(x(), o) },
  'nn.functional.softplus': { who: 'softplus', run: (o) => F.softplus(x(), o) },
  'nn.functional.hardtanh': { who: 'hardtanh', run: (o) => F.hardtanh(x(), o) },
  'nn.functional.leakyRelu': { who: 'leakyRelu', run: (o) => F.leakyRelu(x(), o) },
  'nn.functional.elu': { who: 'elu', run: (o) => F.elu(x(), o) },
  'nn.functional.layerNorm': { who: 'layer_norm', run: (o) => F.layerNorm(x(), [3], o) },
  'nn.functional.rmsNorm': { who: 'rms_norm', run: (o) => F.rmsNorm(x(), [3], o) },
  'nn.functional.groupNorm': { who: 'group_norm', run: (o) => F.groupNorm(image(), 1, o) },
  'nn.functional.maxPool2d': { who: 'max_pool2d', run: (o) => F.maxPool2d(image(), { ...window, ...o }) },
  'nn.functional.avgPool2d': { who: 'avg_pool2d', run: (o) => F.avgPool2d(image(), { ...window, ...o }) },
  'nn.functional.unfold': { who: 'unfold', run: (o) => F.unfold(image(), { ...window, ...o }) },
  'nn.functional.pad2d': { who: 'pad2d', run: (o) => F.pad2d(image(), { top: 1, bottom: 1, left: 1, right: 1, ...o }) },
  'nn.functional.conv2d': { who: 'conv2d', run: (o) => F.conv2d(image(), ones([1, 1, 2, 2]), null, { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, ...o }) },
  'nn.functional.batchNorm': {
    who: 'batch_norm',
    run: (o) => F.batchNorm(x(), { runningMean: null, runningVar: null, weight: null, bias: null, training: true, momentum: 0.1, eps: 1e-5, ...o }),
  },
  'nn.functional.scaledDotProductAttention': { who: 'scaled_dot_product_attention', run: (o) => F.scaledDotProductAttention(seq(), seq(), seq(), o) },
  'nn.functional.embedding': { who: 'embedding', run: (o) => F.embedding(tensor([1], { dtype: 'int32' }), x(), o) },
  'nn.functional.mseLoss': { who: 'mse_loss', run: (o) => F.mseLoss(x(), x(), o) },
  'nn.functional.l1Loss': { who: 'l1_loss', run: (o) => F.l1Loss(x(), x(), o) },
  'nn.functional.nllLoss': { who: 'nll_loss', run: (o) => F.nllLoss(x().logSoftmax(1), classes(), o) },
  'nn.functional.crossEntropy': { who: 'cross_entropy', run: (o) => F.crossEntropy(x(), classes(), o) },
  'nn.functional.binaryCrossEntropyWithLogits': { who: 'binary_cross_entropy_with_logits', run: (o) => F.binaryCrossEntropyWithLogits(x(), x().sigmoid(), o) },
  // optim: optimizers (the base class checks every subclass's options against its defaults)
  'optim.Optimizer.addParamGroup': { who: 'SGD: parameter group 1', run: (o) => sgd().addParamGroup({ params: params(), ...o }) },
  'optim.Optimizer.zeroGrad': { who: 'SGD.zeroGrad', run: (o) => sgd().zeroGrad(o) },
  'optim.new SGD': { who: 'SGD', run: optimizer(SGD) },
  'optim.new Adam': { who: 'Adam', run: optimizer(Adam) },
  'optim.new AdamW': { who: 'AdamW', run: optimizer(AdamW) },
  'optim.new Adagrad': { who: 'Adagrad', run: optimizer(Adagrad) },
  'optim.new RMSprop': { who: 'RMSprop', run: optimizer(RMSprop) },
  'optim.new Adamax': { who: 'Adamax', run: optimizer(Adamax) },
  'optim.new NAdam': { who: 'NAdam', run: optimizer(NAdam) },
  'optim.new RAdam': { who: 'RAdam', run: optimizer(RAdam) },
  'optim.new SparseAdam': { who: 'SparseAdam', run: optimizer(SparseAdam) },
  'optim.new Rprop': { who: 'Rprop', run: optimizer(Rprop) },
  'optim.new ASGD': { who: 'ASGD', run: optimizer(ASGD) },
  'optim.new LBFGS': { who: 'LBFGS', run: optimizer(LBFGS) },
  'optim.new GradScaler': { who: 'GradScaler', run: (o) => new GradScaler(o) },
  'optim.new Adafactor': { who: 'Adafactor', run: optimizer(Adafactor) },
  'optim.new LAMB': { who: 'LAMB', run: optimizer(LAMB) },
  'optim.new Lion': { who: 'Lion', run: optimizer(Lion) },
  'optim.new Adadelta': { who: 'Adadelta', run: optimizer(Adadelta) },
  // optim: schedulers (the abstract base is reached through its simplest subclass)
  'optim.new lrScheduler.LRScheduler': { who: 'ExponentialLR', run: (o) => new lrScheduler.ExponentialLR(sgd(), { gamma: 0.9, ...o }) },
  'optim.new lrScheduler.LambdaLR': { who: 'LambdaLR', run: (o) => new lrScheduler.LambdaLR(sgd(), { lrLambda: () => 1, ...o }) },
  'optim.new lrScheduler.MultiplicativeLR': { who: 'MultiplicativeLR', run: (o) => new lrScheduler.MultiplicativeLR(sgd(), { lrLambda: () => 1, ...o }) },
  'optim.new lrScheduler.StepLR': { who: 'StepLR', run: (o) => new lrScheduler.StepLR(sgd(), { stepSize: 2, ...o }) },
  'optim.new lrScheduler.MultiStepLR': { who: 'MultiStepLR', run: (o) => new lrScheduler.MultiStepLR(sgd(), { milestones: [2], ...o }) },
  'optim.new lrScheduler.ConstantLR': { who: 'ConstantLR', run: (o) => new lrScheduler.ConstantLR(sgd(), o) },
  'optim.new lrScheduler.LinearLR': { who: 'LinearLR', run: (o) => new lrScheduler.LinearLR(sgd(), o) },
  'optim.new lrScheduler.ExponentialLR': { who: 'ExponentialLR', run: (o) => new lrScheduler.ExponentialLR(sgd(), { gamma: 0.9, ...o }) },
  'optim.new lrScheduler.PolynomialLR': { who: 'PolynomialLR', run: (o) => new lrScheduler.PolynomialLR(sgd(), o) },
  'optim.new lrScheduler.CosineAnnealingLR': { who: 'CosineAnnealingLR', run: (o) => new lrScheduler.CosineAnnealingLR(sgd(), { TMax: 10, ...o }) },
  'optim.new lrScheduler.CosineAnnealingWarmRestarts': { who: 'CosineAnnealingWarmRestarts', run: (o) => new lrScheduler.CosineAnnealingWarmRestarts(sgd(), { T0: 10, ...o }) },
  'optim.new lrScheduler.CyclicLR': { who: 'CyclicLR', run: (o) => new lrScheduler.CyclicLR(sgd(), { baseLr: 0.01, maxLr: 0.1, ...o }) },
  'optim.new lrScheduler.OneCycleLR': { who: 'OneCycleLR', run: (o) => new lrScheduler.OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 10, ...o }) },
  'optim.new lrScheduler.SequentialLR': {
    who: 'SequentialLR',
    run: (o) => {
      const opt = sgd();
      const schedulers = [new lrScheduler.ConstantLR(opt), new lrScheduler.ExponentialLR(opt, { gamma: 0.9 })];
      return new lrScheduler.SequentialLR(opt, { schedulers, milestones: [2], ...o });
    },
  },
  'optim.new lrScheduler.ReduceLROnPlateau': { who: 'ReduceLROnPlateau', run: (o) => new lrScheduler.ReduceLROnPlateau(sgd(), o) },
  'optim.new lrScheduler.SWALR': { who: 'SWALR', run: (o) => new lrScheduler.SWALR(sgd(), { swaLr: 0.05, ...o }) },
  // param-groups
  'param-groups.paramGroupsWeightDecay': { who: 'paramGroupsWeightDecay', run: (o) => paramGroupsWeightDecay(model(), o) },
  'param-groups.planWeightDecay': { who: 'planWeightDecay', run: (o) => planWeightDecay(model(), o, 'planWeightDecay') },
  'param-groups.explainWeightDecay': { who: 'explainWeightDecay', run: (o) => explainWeightDecay(model(), o) },
  'param-groups.formatDecayPlan': { who: 'formatDecayPlan', run: (o) => formatDecayPlan(explainWeightDecay(model()), o) },
  'param-groups.checkParamGroups': {
    who: 'checkParamGroups',
    run: (o) => {
      const m = model();
      return checkParamGroups(new AdamW(paramGroupsWeightDecay(m)) as unknown as Optimizer<{ lr: number }>, m, o);
    },
  },
  // webgpu: the options are checked before any adapter is requested, so this needs no GPU.
  'webgpu.initWebGPU': { who: 'initWebGPU', run: (o) => initWebGPU(loose(o)) },
};
