/**
 * tsgrad: every package in one import.
 * The API reference documents each symbol once, on the page of the package that defines it
 * (`@tsgrad/tensor`, `@tsgrad/autograd`, `@tsgrad/nn`, `@tsgrad/optim`, `@tsgrad/param-groups`, `@tsgrad/webgpu`).
 *
 * @example
 * ```ts
 * import { AdamW, BatchNorm1d, Linear, ReLU, Sequential, paramGroupsWeightDecay, randn } from 'tsgrad';
 * const model = new Sequential(new Linear(4, 8), new BatchNorm1d(8), new ReLU(), new Linear(8, 2));
 * const opt = new AdamW(paramGroupsWeightDecay(model, { weightDecay: 0.05 }), { lr: 1e-3 });
 * ```
 */
export * from '@tsgrad/tensor';
export * from '@tsgrad/autograd';
export * from '@tsgrad/nn';
export * from '@tsgrad/optim';
export * from '@tsgrad/param-groups';
export * from '@tsgrad/webgpu';
