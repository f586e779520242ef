// tsgrad's CPU kernels in WebAssembly (AssemblyScript, 128-bit SIMD). Compiled by scripts/build-wasm.mjs
// during `pnpm build`; the TypeScript kernels in src/cpu stay as the reference and the fallback.
export { MR, NR, packA, packB, packBPanels, gemmPacked, gemmPackingA, gemmRowMajorA, unpadRows } from './matmul';
// The fused optimizer steps where hand-tuned SIMD measurably beats the generated JavaScript (a
// program's `native` names them: Adam 1.5-2.4x, RMSprop 1.2-1.6x, SGD ~1.1x; Adagrad's was not faster and went).
export { sgdStep, sgdStepArgs, adamStep, adamStepArgs, rmspropStep, rmspropStepArgs } from './optimizers';
export { binaryRow, unaryRow, whereRow } from './elementwise';
// Every other float32 elementwise kernel (fused gradients, composite activations): a block interpreter.
export { expressionRow } from './expression';
export { foldRow, accumulateRow, argRow } from './reduce';
export { gatherRow, scatterAddRow } from './gather';
// Fused scaled dot-product attention (the Backend's optional `attention`), on the GEMM above.
export { attentionForward, attentionBackward, attentionForwardRange, attentionBackwardRange, attentionScratchBytes } from './attention';
// memset and strided copies of tensor storage in this memory.
export { fillZero, copyRows } from './memory';
// Layer normalization's forward and backward over contiguous rows (the Backend's optional layerNorm).
export { layerNormRows, layerNormBackwardRows, layerNormParamGradCols } from './layer-norm';
