export { TensorDataset, Subset, defaultCollate, type Dataset, type Collated } from './dataset.js';
export { DataLoader, type DataLoaderOptions, type DefaultBatch } from './data-loader.js';
export { randomSplit } from './random-split.js';
