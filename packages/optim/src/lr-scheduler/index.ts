/** PyTorch's `torch.optim.lr_scheduler`, camelCased. */
export { LRScheduler, perGroup, type SchedulerOptions, type AnyOptimizer } from './lr-scheduler.js';
export { LambdaLR, MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR, type LrLambda } from './factor-schedulers.js';
export { CosineAnnealingLR, CosineAnnealingWarmRestarts } from './cosine.js';
export { CyclicLR, OneCycleLR, type CyclicLROptions, type OneCycleLROptions, type CyclicMode } from './cyclic.js';
export { SequentialLR, ChainedScheduler } from './composite.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './plateau.js';
export { SWALR, type SWALROptions } from './swa.js';
