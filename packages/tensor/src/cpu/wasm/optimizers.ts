import type { DecayHyper, OptimizerKernel, OptimizerKernels, OptimizerStepArgs } from '../../backend.js';
import type { TypedArray } from '../../dtype.js';
import { Arena } from './arena.js';
import { wasmKernels, type WasmExports } from './runtime.js';

/**
 * Elements per chunk. The tensors live in JavaScript typed arrays, so a step streams them through the
 * kernels' memory: copy a chunk of every stream in (memcpy), update it with SIMD, copy the written
 * streams back. A chunk of every stream (5 x 32 KiB at most) stays in L2, so main memory sees each
 * element read once and written once, as in a plain loop.
 */
const CHUNK = 8192;

/** State each kernel cannot run without (the TypeScript kernel reports its absence). */
const REQUIRED: Partial<Record<OptimizerKernel, string[]>> = { sgd: [], adam: ['expAvg', 'expAvgSq'], adagrad: ['sum'], rmsprop: ['squareAvg'] };

type Streams = Record<string, Float32Array>;

/** Kernel call for one chunk: pointers by stream name, `n` elements (a multiple of 4; the tail is padding). */
type ChunkStep = (k: WasmExports, ptr: (name: string) => number, n: number) => void;

/**
 * Runs a fused optimizer step in WebAssembly SIMD over float32 tensors: SGD, Adagrad and RMSprop
 * bit-identical to the TypeScript kernels, Adam/AdamW in float32 arithmetic as PyTorch's float32 step
 * (see assembly/optimizers.ts). Returns false when it does not apply (other kernels or dtypes, missing
 * state, no WebAssembly), and the caller uses the TypeScript kernel.
 */
export function optimizerStepWasm<K extends OptimizerKernel>(kernel: K, p: TypedArray, g: TypedArray, state: Partial<Record<string, TypedArray>>, args: OptimizerStepArgs<K>): boolean {
  if (args.param.dtype !== 'float32' || !REQUIRED[kernel]?.every((s) => state[s])) return false;
  const step = chunkStep(kernel, args);
  const k = step ? wasmKernels() : null;
  if (!k || !step) return false;
  const streams: Streams = { p: p as Float32Array, g: g as Float32Array };
  for (const [name, s] of Object.entries(state)) if (s) streams[name] = s as Float32Array;
  run(k, { streams, step, written: Object.keys(streams).filter((s) => s !== 'g') });
  return true;
}

function run(k: WasmExports, job: { streams: Streams; step: ChunkStep; written: string[] }): void {
  const { streams, step, written } = job;
  const names = Object.keys(streams);
  const arena = new Arena(k);
  const at = new Map(names.map((s) => [s, arena.alloc((CHUNK + 4) * 4)]));
  const mem = arena.f32();
  const ptr = (name: string) => at.get(name) ?? 0;
  const n = streams.p.length;
  for (let off = 0; off < n; off += CHUNK) {
    const len = Math.min(CHUNK, n - off);
    for (const s of names) mem.set(streams[s].subarray(off, off + len), ptr(s) / 4);
    step(k, ptr, Math.ceil(len / 4) * 4);
    for (const s of written) streams[s].set(mem.subarray(ptr(s) / 4, ptr(s) / 4 + len), off);
  }
}

/** The per-step scalars every kernel shares: coupled decay, decoupled shrink, maximize's sign. */
function decayScalars(h: DecayHyper): [coupled: number, shrink: number, sign: number] {
  return [h.decoupledWeightDecay ? 0 : h.weightDecay, h.decoupledWeightDecay ? 1 - h.lr * h.weightDecay : 1, h.maximize ? -1 : 1];
}

function chunkStep<K extends OptimizerKernel>(kernel: K, args: OptimizerStepArgs<K>): ChunkStep | null {
  switch (kernel) {
    case 'sgd': {
      const h = args.hyper as OptimizerKernels['sgd']['hyper'];
      const [coupled, shrink, sign] = decayScalars(h);
      const hasBuf = 'momentumBuffer' in args.state;
      const plain = hasBuf && !h.firstStep && !h.nesterov && coupled === 0 && sign === 1 && shrink === 1;
      return (k, ptr, n) =>
        k.sgdStep(ptr('p'), ptr('g'), ptr('momentumBuffer'), n, h.lr, h.momentum, 1 - h.dampening, coupled, shrink, sign, +plain, +h.firstStep, +h.nesterov);
    }
    case 'adam': {
      const h = args.hyper as OptimizerKernels['adam']['hyper'];
      const [coupled, shrink, sign] = decayScalars(h);
      const amsgrad = 'maxExpAvgSq' in args.state;
      const plain = coupled === 0 && sign === 1 && !amsgrad;
      const stepSize = h.lr / (1 - h.beta1 ** h.step);
      const bc2Sqrt = Math.sqrt(1 - h.beta2 ** h.step);
      return (k, ptr, n) =>
        k.adamStep(ptr('p'), ptr('g'), ptr('expAvg'), ptr('expAvgSq'), ptr('maxExpAvgSq'), n, h.beta1, h.beta2, h.eps, stepSize, bc2Sqrt, coupled, shrink, sign, +plain);
    }
    case 'adagrad': {
      const h = args.hyper as OptimizerKernels['adagrad']['hyper'];
      const [coupled, shrink, sign] = decayScalars(h);
      const clr = h.lr / (1 + (h.step - 1) * h.lrDecay);
      return (k, ptr, n) => k.adagradStep(ptr('p'), ptr('g'), ptr('sum'), n, clr, h.eps, coupled, shrink, sign);
    }
    case 'rmsprop': {
      const h = args.hyper as OptimizerKernels['rmsprop']['hyper'];
      const [coupled, shrink, sign] = decayScalars(h);
      return (k, ptr, n) =>
        k.rmspropStep(ptr('p'), ptr('g'), ptr('squareAvg'), ptr('gradAvg'), ptr('momentumBuffer'), n, h.lr, h.alpha, h.eps, h.momentum, coupled, shrink, sign);
    }
    default:
      return null;
  }
}
