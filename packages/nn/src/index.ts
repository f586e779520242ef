/**
 * @tsgrad/nn: `Module` with parameters vs buffers, PyTorch-faithful layers and losses, `init`,
 * `functional`, and state dicts with PyTorch's keys.
 *
 * @example
 * ```ts
 * import { randn } from '@tsgrad/autograd';
 * import { BatchNorm1d, Linear, ReLU, Sequential } from '@tsgrad/nn';
 * const model = new Sequential(new Linear(4, 8), new BatchNorm1d(8), new ReLU(), new Linear(8, 2));
 * const y = model.forward(randn([16, 4]));
 * console.log([...model.stateDict().keys()]);
 * // ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '3.weight', '3.bias']
 * ```
 */
export { Module, type LoadStateDictResult } from './module.js';
export { Parameter } from './parameter.js';
export { stateKey } from './state-dict-keys.js';
export { Linear } from './layers/linear.js';
export { BatchNorm1d, BatchNorm2d, BatchNormBase, LayerNorm, RMSNorm, GroupNorm, type BatchNormOptions, type NormalizationLayer } from './layers/normalization.js';
export { Conv2d, type Conv2dOptions } from './layers/conv.js';
export { MaxPool2d, AvgPool2d, type PoolOptions } from './layers/pooling.js';
export { ReLU, GELU, Sigmoid, Tanh, Dropout, Flatten } from './layers/simple.js';
export { Embedding } from './layers/embedding.js';
export { MultiheadAttention, type MultiheadAttentionOptions, type MultiheadAttentionForwardOptions } from './layers/multihead-attention.js';
export { TransformerEncoderLayer, type TransformerEncoderLayerOptions, type TransformerEncoderLayerForwardOptions } from './layers/transformer.js';
export { Sequential, ModuleList, ParameterList } from './layers/containers.js';
export { ModuleDict, ParameterDict, type DictInput } from './layers/dict-containers.js';
export { MSELoss, L1Loss, CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss } from './layers/losses.js';
export { clipGradNorm_, clipGradValue_, type ClipGradNormOptions } from './utils/clip-grad.js';
export { parametersToVector, vectorToParameters } from './utils/parameters-vector.js';
export { copyModule } from './copy.js';
export { TensorDataset, Subset, DataLoader, randomSplit, defaultCollate, type Dataset, type Collated, type DataLoaderOptions, type DefaultBatch } from './data/index.js';
export { summary, type ModelSummary, type SummaryRow, type SummaryOptions } from './summary.js';
export { AveragedModel, getEmaMultiAvgFn, updateBn, type AveragedModelOptions, type AvgFn, type MultiAvgFn } from './swa.js';
export * as init from './init.js';
export * as functional from './functional/index.js';
