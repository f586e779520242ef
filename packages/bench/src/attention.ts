import { manualSeed, noGrad, randn, scope, type Tensor } from '@tsgrad/autograd';
import { functional as F } from '@tsgrad/nn';
import { cpuKernelsReady, getBackend, setCpuKernels } from '@tsgrad/tensor';
import { THREAD_COUNTS, threadLabel } from './cpu.js';
import { benchRows, type BenchRow } from './timing.js';

/** Causal self-attention shapes: the GPT of issue 23 (B 16, H 4, T 64, D 32), then longer T. */
const SHAPES = [
  { B: 16, H: 4, T: 64, D: 32 },
  { B: 16, H: 4, T: 256, D: 32 },
  { B: 8, H: 4, T: 512, D: 64 },
];
/** Alternating rounds of fused and composed, each round the median of a few calls. */
const ROUNDS = 5;

/**
 * Runs `fn` with the CPU's fused attention hidden (its capability reads as absent), so that
 * F.scaledDotProductAttention composes it from ops exactly as it does without WebAssembly.
 */
function composed<T>(fn: () => T): T {
  const caps = getBackend('cpu').capabilities;
  const own = Object.getOwnPropertyDescriptor(caps, 'fusedAttentionMaxHeadDim');
  Object.defineProperty(caps, 'fusedAttentionMaxHeadDim', { get: () => undefined, configurable: true });
  try {
    return fn();
  } finally {
    if (own) Object.defineProperty(caps, 'fusedAttentionMaxHeadDim', own);
  }
}

/** Median milliseconds of `calls` calls. */
function medianMs(fn: () => void, calls: number): number {
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/**
 * The two paths timed in alternating rounds (the machine is shared: both see the same load), each
 * row the median over rounds: forward (no grad) and forward + backward.
 */
function attentionCase({ B, H, T, D }: (typeof SHAPES)[number], label: string, rows: BenchRow[]): void {
  manualSeed(0);
  const [q, k, v] = [0, 1, 2].map(() => randn([B, H, T, D], { requiresGrad: true }));
  const cot = randn([B, H, T, D]);
  const forward = () => scope(() => void noGrad(() => F.scaledDotProductAttention(q, k, v, { isCausal: true })));
  const step = () =>
    scope(() => {
      F.scaledDotProductAttention(q, k, v, { isCausal: true }).backward(cot);
      for (const t of [q, k, v] as Tensor[]) {
        t.grad?.dispose();
        t.grad = null;
      }
    });
  const name = `B${B} H${H} T${T} D${D} causal`;
  const calls = T >= 512 ? 3 : 5;
  for (const [what, fn] of [['fwd', forward], ['fwd+bwd', step]] as const) {
    fn();
    composed(fn);
    const fused: number[] = [];
    const plain: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      fused.push(medianMs(fn, calls));
      plain.push(composed(() => medianMs(fn, calls)));
    }
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const [f, c] = [med(fused), med(plain)];
    rows.push({ suite: 'attention', case: `${name} ${what}`, impl: `${label} fused`, value: f, unit: 'ms' });
    rows.push({ suite: 'attention', case: `${name} ${what}`, impl: `${label} composed`, value: c, unit: 'ms' });
    rows.push({ suite: 'ratio', case: `attention ${name} ${what}`, impl: `${label}: composed / fused`, value: c / f, unit: 'x' });
  }
}

/**
 * Issue 23: F.scaledDotProductAttention on the CPU in float32, the fused WebAssembly kernel against
 * the composed ops (matmul, masked softmax, matmul) it replaces, on 1 and 2 threads (the fused
 * kernel runs on the calling thread; the composed path's large matmuls use the workers).
 */
export async function benchAttention(): Promise<BenchRow[]> {
  const rows = benchRows();
  for (const threads of THREAD_COUNTS) {
    setCpuKernels({ wasm: true, threads });
    await cpuKernelsReady();
    for (const shape of SHAPES) attentionCase(shape, threadLabel(threads), rows);
  }
  return rows;
}
