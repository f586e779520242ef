import { setFlagsFromString } from 'node:v8';

// Every test of wasm-kernels.test.ts again, on the relaxed-SIMD build (the matmul micro-kernel's fused
// multiply-add: float32 tolerance against the float64 references, bits identical across thread
// counts). Chrome 114+ and Firefox have relaxed SIMD; Node 20's V8 only behind this flag, set here
// before the kernels load (lazily, at their first use, inside the import below), so CI covers both
// builds. The flag is process-wide: vitest runs each test file in its own process.
setFlagsFromString('--experimental-wasm-relaxed-simd');
(globalThis as { relaxedSimdRun?: boolean }).relaxedSimdRun = true;
await import('./wasm-kernels.test.js');
