/**
 * Which kernels read float16 (see half-runs.ts): the adapter's `shader-f16` ('native') or integer bit
 * operations only ('packed'). In its own file so that the public declarations reach it without
 * half-runs.ts's WebGPU types.
 */
export type HalfPath = 'native' | 'packed';
