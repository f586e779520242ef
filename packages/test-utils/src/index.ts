/**
 * Private test helpers for tsgrad: `expectClose` (allclose), `gradcheck` (float64 central
 * differences), the `opInfos` op table with seeded samples, the `layerInfos` layer table, and the
 * PyTorch fixtures.
 */
export { expectClose, type CloseOptions, type Numeric } from './expect-close.js';
export { gradcheck, type GradcheckOptions } from './gradcheck.js';
export { SampleMaker, type MakeOptions, type ValueKind } from './sample-maker.js';
export { opInfos, opInfo, type OpInfo, type OpSample, type OpArgs } from './op-infos.js';
export { loadFixture, fixturePath, decodeTensor, type EncodedTensor, type OpFixtureCase, type LayerCase } from './fixtures.js';
export { attentionFixture, type SdpaCase, type MhaCase, type EncoderCase } from './attention-fixtures.js';
export { FUSED_ATTENTION_CASES, fusedAttentionMask, roundedOutputTerm, type FusedAttentionCase, type RoundedOutputTermInputs } from './fused-attention-cases.js';
export { randomQuadratic, quadraticTrajectory, relativeDistance, type RandomQuadratic, type Steppable } from './quadratic.js';
export { optimInfos, optimTrajectoryCases, type OptimInfo, type OptimizerName, type ReferenceInfo, type FullOptions } from './optim-infos.js';
export { errorInputs, type ErrorInput } from './error-inputs.js';
export { lbfgsProblem, lbfgsWolfeCases, type LbfgsFixture, type LbfgsWolfeCase } from './lbfgs-problem.js';
export { promotionCases, runPromotionCase, checkPromotionCase, describePromotionCase, expectedValues, hasFloat64, type PromotionCase, type PromotionOperand } from './promotion-cases.js';
export { INT32_CAST_CASES, int32CastRuns, type Int32CastCase, type Int32CastRun } from './int32-casts.js';
export { specialValueCases, specialValues, SPECIAL_REDUCTIONS, type SpecialCase } from './special-values.js';
export { ownershipCases, type OwnershipCase, type OwnershipEnv, type OwnedModule } from './ownership-cases.js';
export { layerInfos, layerFixtureCases, layerCaseName, constructLayer, type LayerInfo, type LayerConfig, type LayerInput, type LayerName, type LayerSpec, type TensorSpec, type ModuleCase } from './layer-infos.js';
export { programOperatorCases, programOperatorsOf, programSpecialValues, programOf, programCaseInputs, runProgramCase, programCaseMismatches, programOpMismatches, type ProgramOperator, type ProgramOperatorCase, type ProgramCaseTolerance } from './program-cases.js';
export { degenerateInputs, runDegenerate, degenerateMismatches, type DegenerateInput, type DegenerateRun } from './optim-degenerate.js';
export { lbfgsDegenerateCases, lbfgsDegenerateLoss, runLbfgsDegenerate, lbfgsDegenerateMismatches, type LbfgsDegenerateCase, type LbfgsDegenerateStep, type LbfgsTerm } from './lbfgs-degenerate.js';
export { ATTENTION_OPS, attentionOpCases, checkAttentionOpCase, type AttentionOpCase, type AttentionOpRun } from './attention-ops.js';
export * from './half-cases.js';
export { referenceTrajectory, SCALER_CASES, type ScalerCase, type ScalerTrajectory } from './grad-scaler-cases.js';
export { halfMeanCases, halfMeanReference, checkHalfMeanCase, type HalfMeanCase } from './half-mean-cases.js';
