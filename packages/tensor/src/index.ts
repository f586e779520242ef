/**
 * @tsgrad/tensor: dtypes, shapes and strides, the `Backend` contract every device implements, the
 * backend registry and the CPU reference backend.
 *
 * @example
 * ```ts
 * import { forwardKernel, getBackend } from '@tsgrad/tensor';
 * const cpu = getBackend('cpu');
 * const a = cpu.fromData(new Float64Array([1, 2, 3, 4]), 'float64');
 * const view = { storage: a, dtype: 'float64', shape: [2, 2], strides: [1, 2], offset: 0 } as const; // a transpose
 * const out = cpu.elementwise(forwardKernel('neg'), [view]);
 * console.log(cpu.readSync!(out, 0, 4)); // Float64Array [-1, -3, -2, -4]
 * ```
 */
export * from './dtype.js';
export * from './half.js';
export * from './shape.js';
export * from './backend.js';
export { UNARY_OPS, BINARY_OPS, opInfo, isElementwiseOp, arityOf, type ElementwiseOpDecl, type Domain } from './ops/elementwise-ops.js';
export { forwardKernel, gradKernel, completeParams, NO_PARAMS, ELEMENTWISE_OPS, type ElementwiseKernel, type OpParams } from './ops/kernel.js';
export { BUILTINS, type Builtin, type BuiltinInfo } from './expr/builtins.js';
export { walk, jsDialect, type Dialect } from './expr/walk.js';
export { checkOptionKeys, nearestName, unknownOptionMessage } from './options.js';
export { defineProgram, type ElementwiseProgram, type ProgramSource, type ProgramItem, type Expr, type Condition, type Statement } from './program.js';
export { renderJs } from './cpu/program.js';
export { setProgramCodegen } from './cpu/codegen.js';
export { renderKernelJs } from './cpu/elementwise.js';
export { registerBackend, unregisterBackend, getBackend, hasBackend, listDevices } from './registry.js';
export { CpuStorage, createCpuBackend } from './cpu/cpu-backend.js';
export { cpuMemoryStats, clearCpuPool, resetCpuPeak, type CpuMemoryStats } from './cpu/buffer-pool.js';
export { cpuKernels, cpuKernelsReady, setCpuKernels, type CpuKernelInfo, type CpuKernelOptions } from './cpu/wasm/runtime.js';
export { erf } from './expr/erf.js';
