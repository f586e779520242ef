// tsgrad's CPU kernels in WebAssembly (AssemblyScript, 128-bit SIMD). Compiled by scripts/build-wasm.mjs
// during `pnpm build`; the TypeScript kernels in src/cpu stay as the reference and the fallback.
export { MR, NR, packA, packB, gemmPacked, unpadRows } from './matmul';
export { sgdStep, adamStep, adagradStep, rmspropStep } from './optimizers';
export { binaryRow, unaryRow, whereRow } from './elementwise';
export { foldRow, accumulateRow, argRow } from './reduce';
export { gatherRow, scatterAddRow } from './gather';
