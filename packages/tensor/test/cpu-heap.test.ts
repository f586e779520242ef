import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { contiguousStrides, cpuKernels, cpuKernelsReady, cpuMemoryStats, defineProgram, forwardKernel, getBackend, gradKernel, setCpuKernels, type CpuStorage, type Storage, type View } from '@tsgrad/tensor';

// float32, int32 and bool storage in the WebAssembly kernels' shared memory (src/cpu/wasm/heap.ts):
// kernels work in place and split large calls across the worker threads. References: the
// TypeScript kernels (bit for bit where the kernels are), and the same call on one thread.
const cpu = getBackend('cpu');
afterAll(() => setCpuKernels({ wasm: true, threads: Math.min(availableParallelism(), 8) }));

/** Deterministic pseudo-random values in [-0.5, 0.5), already float32. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x / 2 ** 32 - 0.5;
  }
  return out;
}

function view(storage: Storage, dtype: View['dtype'], shape: number[], strides = contiguousStrides(shape)): View {
  return { storage, dtype, shape, strides, offset: 0 };
}

const bits = (s: Storage) => {
  const d = cpu.readSync!(s, 0, s.size);
  return d instanceof Float32Array ? Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length)) : Array.from(d);
};
const inKernelMemory = (s: Storage) => (s as CpuStorage).data.buffer instanceof SharedArrayBuffer;

describe('CPU storage in the WebAssembly kernels memory', () => {
  it('holds float32, int32 and bool storage while the kernels are loaded; float64 and float16 stay in ordinary arrays, as does everything with wasm off', async () => {
    await cpuKernelsReady();
    for (const dtype of ['float32', 'int32', 'bool'] as const) expect(inKernelMemory(cpu.full(10, 1, dtype))).toBe(true);
    expect(inKernelMemory(cpu.full(10, 1, 'float64'))).toBe(false);
    expect(inKernelMemory(cpu.full(10, 1, 'float16'))).toBe(false);
    setCpuKernels({ wasm: false });
    expect(inKernelMemory(cpu.full(10, 1, 'float32'))).toBe(false);
    setCpuKernels({ wasm: true });
    expect(cpuMemoryStats().heapBytes).toBeGreaterThan(0);
  });

  it('full() zeroes a recycled block (a freed NaN-filled block of the same size)', () => {
    cpu.free(cpu.full(1000, NaN, 'float32'));
    expect(Array.from(cpu.readSync!(cpu.full(1000, 0, 'float32'), 0, 1000))).toEqual(new Array(1000).fill(0));
  });

  it('released storage is reused: a loop that frees what it makes does not grow the memory', () => {
    const step = () => {
      const a = cpu.full(100_000, 1, 'float32');
      const b = cpu.elementwise(forwardKernel('add'), [view(a, 'float32', [100_000]), view(a, 'float32', [100_000])]);
      cpu.free(a);
      cpu.free(b);
    };
    for (let i = 0; i < 5; i++) step();
    const before = cpuMemoryStats().heapBytes;
    for (let i = 0; i < 200; i++) step();
    expect(cpuMemoryStats().heapBytes).toBe(before);
  });

  it('storage left to the garbage collector is freed (FinalizationRegistry) and counted: 400 MB made, the memory grows far less', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const before = cpuMemoryStats().heapBytes;
    const collectedBefore = cpuMemoryStats().buffersCollected;
    for (let round = 0; round < 20; round++) {
      // 20 MB a round (5 storages of 4 MB), never freed: only the collector can give them back.
      for (let i = 0; i < 5; i++) cpu.full(1 << 20, 1, 'float32');
      gc();
      await new Promise((resolve) => setTimeout(resolve, 0)); // finalization callbacks run here
    }
    expect(cpuMemoryStats().heapBytes - before).toBeLessThan(100 * 2 ** 20);
    // Growth under 100 MB means at least 75 of the 100 storages came back, each counted as collected.
    expect(cpuMemoryStats().buffersCollected - collectedBefore).toBeGreaterThanOrEqual(75);
  });
});

describe('large kernel calls split across worker threads give the same bits as one thread and as the TypeScript kernels', () => {
  const R = 96;
  const C = 640; // R x C = 61,440 elements: above the threshold (32K) for a split
  const x = view(cpu.fromData(values(R * C, 1), 'float32'), 'float32', [R, C]);
  const y = view(cpu.fromData(values(R * C, 2), 'float32'), 'float32', [R, C]);
  const yT = view(cpu.fromData(values(R * C, 3), 'float32'), 'float32', [R, C], [1, R]);
  const row = view(cpu.fromData(values(C, 4), 'float32'), 'float32', [R, C], [0, 1]);
  const flat = view(cpu.fromData(values(R * C, 5), 'float32'), 'float32', [R * C]);
  const cond = view(cpu.elementwise(forwardKernel('lt'), [x, y]), 'bool', [R, C]);
  const calls: [string, () => Storage][] = [
    ['add (rows)', () => cpu.elementwise(forwardKernel('add'), [x, row])],
    ['mul, one long row (split by elements)', () => cpu.elementwise(forwardKernel('mul'), [flat, flat])],
    ['div of a transposed view', () => cpu.elementwise(forwardKernel('div'), [x, yT])],
    ['lt (bool result)', () => cpu.elementwise(forwardKernel('lt'), [yT, x])],
    ['exp (a transcendental)', () => cpu.elementwise(forwardKernel('exp'), [flat])],
    ['relu', () => cpu.elementwise(forwardKernel('relu'), [yT])],
    ['mul gradient (the block interpreter, rows)', () => cpu.elementwise(gradKernel('mul', 0)!, [x, yT])],
    ['gelu gradient (the block interpreter, one long row)', () => cpu.elementwise(gradKernel('gelu', 0)!, [flat, flat])],
    ['where', () => cpu.ternary('where', cond, x, yT)],
    ['sum along rows (fold)', () => cpu.reduce('sum', x, [1])],
    ['sum over rows (accumulate)', () => cpu.reduce('sum', yT, [0])],
    ['max along rows of a transposed view', () => cpu.reduce('max', yT, [1])],
    [
      'contiguous copy of a transposed view',
      () => {
        const out = cpu.full(R * C, 0, 'float32');
        cpu.copy(yT, view(out, 'float32', [R, C]));
        return out;
      },
    ],
    [
      'an SGD step (native program kernel, in place)',
      () => {
        const p = cpu.fromData(values(R * C + 3, 6), 'float32'); // n % 4 = 3: the tail goes through scratch
        const g = view(cpu.fromData(values(R * C + 3, 7), 'float32'), 'float32', [R * C + 3]);
        const program = defineProgram({ name: 'heap-sgd', read: ['g'], write: ['p'], scalars: ['lr'], body: 'p = p - lr * g', native: { kernel: 'sgdStep', args: { p: '@p', g: '@g', buf: 0, n: '#n', lr: 'lr', momentum: 0, keep: 1, coupled: 0, shrink: 1, sign: 1, plain: 0, firstStep: 0, nesterov: 0 } } });
        cpu.runProgram(program, [{ streams: { p: view(p, 'float32', [R * C + 3]), g }, scalars: { lr: 0.1 } }]);
        return p;
      },
    ],
  ];
  it('fused attention, forward and backward: (batch, head) pairs split across threads, same bits as one thread', async () => {
    const [B, H, L, E] = [2, 8, 64, 32];
    const n = B * H * L * E;
    const v4 = (seed: number) => view(cpu.fromData(values(n, seed), 'float32'), 'float32', [B, H, L, E]);
    const [q, k, v, g] = [v4(11), v4(12), v4(13), v4(14)];
    const run = () => {
      const opts = { scale: 0.2, isCausal: true };
      const fwd = cpu.attention!({ query: q, key: k, value: v, mask: null }, opts);
      const output = view(fwd.output, 'float32', [B, H, L, E]);
      const logsumexp = view(fwd.logsumexp, 'float32', [B, H, L]);
      const grads = cpu.attentionBackward!({ query: q, key: k, value: v, mask: null }, { output, logsumexp, gradOutput: g }, opts);
      return [fwd.output, fwd.logsumexp, grads.query, grads.key, grads.value].map(bits);
    };
    setCpuKernels({ threads: 1 });
    await cpuKernelsReady();
    const one = run();
    setCpuKernels({ threads: 2 });
    await cpuKernelsReady();
    const before = cpuKernels().chunksOnWorkers;
    let two = run();
    for (const deadline = Date.now() + 20_000; cpuKernels().chunksOnWorkers === before && Date.now() < deadline; ) two = run();
    expect(cpuKernels().chunksOnWorkers).toBeGreaterThan(before);
    expect(two).toEqual(one);
  });

  it.each(calls)('%s', async (_name, call) => {
    setCpuKernels({ threads: 1 });
    await cpuKernelsReady();
    const one = bits(call());
    setCpuKernels({ threads: 2 });
    expect((await cpuKernelsReady()).threads).toBe(2);
    const before = cpuKernels().chunksOnWorkers;
    let two = bits(call());
    // The worker may still be booting (chunks are claimed, so the caller then computes them all).
    for (const deadline = Date.now() + 20_000; cpuKernels().chunksOnWorkers === before && Date.now() < deadline; ) two = bits(call());
    expect(cpuKernels().chunksOnWorkers).toBeGreaterThan(before);
    expect(two).toEqual(one);
    setCpuKernels({ wasm: false });
    const ts = bits(call());
    setCpuKernels({ wasm: true });
    // exp and erf (gelu): WebAssembly's polynomials are within an ulp or two of the TypeScript kernels.
    if (/^(exp|gelu)/.test(_name)) {
      const a = new Float32Array(new Uint32Array(one).buffer);
      const b = new Float32Array(new Uint32Array(ts).buffer);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(4 * 2 ** -23 * Math.abs(b[i]));
    } else expect(one).toEqual(ts);
  });
});

describe('worker threads in a process started with --input-type=module', () => {
  // An eval'd worker is parsed as the process's --input-type says: its source must not use `require`
  // (it did, and the first split kernel's worker threw, leaving the process to die on an unhandled
  // error). The child runs split kernels on 2 threads and must exit cleanly with chunks on workers.
  it('the workers start and take chunks', () => {
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `
      import * as T from ${JSON.stringify(dist)};
      T.setCpuKernels({ threads: 2 });
      await T.cpuKernelsReady();
      const x = new Float32Array(1 << 20).fill(1.5);
      const backend = T.getBackend('cpu');
      const view = { storage: backend.fromData(x, 'float32'), dtype: 'float32', shape: [1024, 1024], strides: [1024, 1], offset: 0 };
      for (let i = 0; i < 200 && T.cpuKernels().chunksOnWorkers === 0; i++) {
        backend.reduce('sum', view, [1]);
        await new Promise((r) => setTimeout(r, 5));
      }
      console.log(T.cpuKernels().chunksOnWorkers);
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThan(0);
  }, 90_000);
});
