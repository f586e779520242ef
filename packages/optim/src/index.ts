/**
 * @tsgrad/optim: PyTorch's optimizers with identical float64 numerics, explicit weight decay
 * (coupled L2 by default, `decoupledWeightDecay` on every optimizer, AdamW), parameter groups,
 * PyTorch-format state dicts, and learning-rate schedulers.
 *
 * @example
 * ```ts
 * import { tensor } from '@tsgrad/autograd';
 * import { SGD } from '@tsgrad/optim';
 * const w = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
 * const opt = new SGD([w], { lr: 0.1, weightDecay: 0.9 });
 * w.mul(w).sum().backward();
 * opt.step(); // w ← w − 0.1 (2w + 0.9 w)
 * ```
 */
export { Optimizer, GROUP_EXTRA_KEYS, type ParamGroupInput, type ParamGroup, type ParamState, type OptimizerStateDict, type StateSpec, type StateDtype, type StateDtypeOption } from './optimizer.js';
export { SGD, SGD_DEFAULTS, sgdReference, sgdProgram, type SGDOptions, type SGDHyper } from './sgd.js';
export type { AdamFamilyOptions, AdamFamilyHyper } from './adam-family.js';
export { Adam, AdamW, ADAM_DEFAULTS, adamReference, adamProgram, type AdamOptions, type AdamHyper } from './adam.js';
export { Adagrad, ADAGRAD_DEFAULTS, adagradReference, adagradProgram, type AdagradOptions, type AdagradHyper } from './adagrad.js';
export { RMSprop, RMSPROP_DEFAULTS, rmspropReference, rmspropProgram, type RMSpropOptions, type RMSpropHyper } from './rmsprop.js';
export { Adamax, ADAMAX_DEFAULTS, adamaxReference, adamaxProgram, type AdamaxOptions, type AdamaxHyper } from './adamax.js';
export { NAdam, NADAM_DEFAULTS, nadamReference, nadamProgram, type NAdamOptions, type NAdamHyper } from './nadam.js';
export { RAdam, RADAM_DEFAULTS, radamReference, radamProgram, radamRectification, type RAdamOptions, type RAdamHyper } from './radam.js';
export { SparseAdam, SPARSE_ADAM_DEFAULTS, type SparseAdamOptions } from './sparse-adam.js';
export { Rprop, RPROP_DEFAULTS, rpropReference, rpropProgram, type RpropOptions, type RpropHyper } from './rprop.js';
export { ASGD, ASGD_DEFAULTS, asgdReference, asgdProgram, type ASGDOptions, type ASGDHyper } from './asgd.js';
export { LBFGS, LBFGS_DEFAULTS, type LBFGSOptions } from './lbfgs.js';
export { Adafactor, ADAFACTOR_DEFAULTS, type AdafactorOptions } from './adafactor.js';
export { LAMB, LAMB_DEFAULTS, lambReference, lambProgram, type LAMBOptions, type LAMBHyper } from './lamb.js';
export { Lion, LION_DEFAULTS, lionReference, lionProgram, type LionOptions, type LionHyper } from './lion.js';
export { Adadelta, ADADELTA_DEFAULTS, adadeltaReference, adadeltaProgram, type AdadeltaOptions, type AdadeltaHyper } from './adadelta.js';
export { GradScaler, GRAD_SCALER_DEFAULTS, type GradScalerOptions, type GradScalerStateDict, type ScaleOutputs } from './grad-scaler.js';
export type { ReferenceStep } from './reference.js';
export { runProgramParts, programVariants, type ProgramPart } from './program-step.js';
export { decayFlags, decayMultiplier, decayPrologue, decayScalars, type DecayFlags, type DecayHyper, type DecayScale } from './decay.js';
export { toSnake, toCamel } from './serialization.js';
export * as lrScheduler from './lr-scheduler/index.js';
