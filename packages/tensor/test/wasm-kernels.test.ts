import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { kernelsRelaxedWasmBase64 } from '../src/cpu/wasm/binary.js';
import { threadPool } from '../src/cpu/wasm/runtime.js';
import { BINARY_OPS, UNARY_OPS, contiguousStrides, cpuKernels, cpuKernelsReady, defineProgram, forwardKernel, getBackend, gradKernel, setCpuKernels, type BinaryOp, type UnaryOp, type View } from '@tsgrad/tensor';

// The WebAssembly SIMD kernels against independent float64 references. (The fused optimizer steps
// are checked in @tsgrad/optim's tests, against the per-element reference steps and PyTorch.)
const cpu = getBackend('cpu');
/** Set by wasm-kernels-relaxed.test.ts, which runs this file again with relaxed SIMD switched on. */
const RELAXED_RUN = (globalThis as { relaxedSimdRun?: boolean }).relaxedSimdRun === true;
afterEach(() => setCpuKernels({ wasm: true }));

/** Spins for `ms` milliseconds (a gap between kernel calls that the worker threads see). */
function busyWait(ms: number): void {
  for (const until = performance.now() + ms; performance.now() < until; );
}

/** Deterministic pseudo-random values in [-0.5, 0.5), already rounded to float32. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x / 2 ** 32 - 0.5;
  }
  return out;
}

function f32View(data: Float32Array, shape: number[], strides = contiguousStrides(shape), offset = 0): View {
  return { storage: cpu.fromData(data, 'float32'), dtype: 'float32', shape, strides, offset };
}

/** Naive float64 triple loop, and the sum of |a||b| per output (float32's error scale). */
function reference(a: View, b: View, ad: Float32Array, bd: Float32Array): { want: Float64Array; scale: Float64Array } {
  const [B, M, K] = a.shape;
  const N = b.shape[2];
  const want = new Float64Array(B * M * N);
  const scale = new Float64Array(B * M * N);
  for (let z = 0; z < B; z++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        let m = 0;
        for (let k = 0; k < K; k++) {
          const p = ad[a.offset + z * a.strides[0] + i * a.strides[1] + k * a.strides[2]] * bd[b.offset + z * b.strides[0] + k * b.strides[1] + j * b.strides[2]];
          s += p;
          m += Math.abs(p);
        }
        want[(z * M + i) * N + j] = s;
        scale[(z * M + i) * N + j] = m;
      }
  return { want, scale };
}

function check(a: View, b: View, ad: Float32Array, bd: Float32Array): void {
  const out = cpu.matmul(a, b);
  expect(out.dtype).toBe('float32');
  const got = cpu.readSync!(out, 0, out.size);
  const { want, scale } = reference(a, b, ad, bd);
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (scale[i] + 1e-30));
  // float32 accumulation: the error is a small multiple of 2^-24 times sum |a||b|.
  expect(worst).toBeLessThan(1e-6);
}

describe('WebAssembly SIMD kernels', () => {
  it('are in use by default in Node 20 (so every float32 test here exercises them), with worker threads', async () => {
    expect(await cpuKernelsReady()).toMatchObject({ wasm: true, threads: Math.min(availableParallelism(), 8) });
  });

  it('give bit-identical products on 1, 2 and 3 threads (each row panel is computed the same way)', async () => {
    const ad = values(150 * 200, 8);
    const bd = values(200 * 120, 9);
    const a = f32View(ad, [1, 150, 200]);
    const b = f32View(bd, [1, 200, 120], [0, 1, 200]); // Bᵀ of a stored [120, 200]
    const runs = [];
    for (const threads of [1, 2, 3]) {
      setCpuKernels({ threads });
      expect((await cpuKernelsReady()).threads).toBe(threads);
      runs.push(Array.from(cpu.readSync!(cpu.matmul(a, b), 0, 150 * 120)));
      // The workers really compute chunks (repeats: a worker may still be booting; chunks are
      // claimed, so meanwhile the caller computes them all).
      if (threads > 1) {
        const big = f32View(values(512 * 512, 10), [1, 512, 512]);
        for (let i = 0; i < 200 && cpuKernels().chunksOnWorkers === 0; i++) cpu.matmul(big, big);
        expect(cpuKernels().chunksOnWorkers).toBeGreaterThan(0);
      }
    }
    setCpuKernels({ threads: Math.min(availableParallelism(), 8) });
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    check(a, b, ad, bd);
  });

  const cases = [
    { name: '1x1x1', B: 1, M: 1, K: 1, N: 1, ta: false, tb: false },
    { name: 'ragged tiles (M odd, N not a multiple of 16)', B: 1, M: 7, K: 13, N: 21, ta: false, tb: false },
    { name: 'K over three blocks, M over two row blocks', B: 1, M: 131, K: 600, N: 40, ta: false, tb: false },
    { name: 'Aᵀ·B', B: 2, M: 33, K: 70, N: 17, ta: true, tb: false },
    { name: 'A·Bᵀ', B: 2, M: 9, K: 300, N: 50, ta: false, tb: true },
    { name: 'Aᵀ·Bᵀ', B: 3, M: 18, K: 31, N: 35, ta: true, tb: true },
    { name: 'MLP backward shape (784x128 . 128x256, Aᵀ)', B: 1, M: 784, K: 128, N: 256, ta: true, tb: false },
  ];
  it.each(cases)('matmul float32 $name equals a float64 loop to float32 precision', ({ B, M, K, N, ta, tb }) => {
    const ad = values(B * M * K, 1);
    const bd = values(B * K * N, 2);
    // A transposed operand is stored [B, K, M] and viewed [B, M, K] with swapped strides.
    const a = ta ? f32View(ad, [B, M, K], [M * K, 1, M]) : f32View(ad, [B, M, K]);
    const b = tb ? f32View(bd, [B, K, N], [K * N, 1, K]) : f32View(bd, [B, K, N]);
    check(a, b, ad, bd);
  });

  it('threaded matmuls back to back (the claim protocol under load): 150 random shapes, same bits as one thread', async () => {
    // Shapes just above the parallel threshold, so every product is split across the threads.
    let seed = 12345;
    const rand = (lo: number, hi: number) => lo + ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % (hi - lo + 1));
    const cases = Array.from({ length: 150 }, () => {
      const [M, K, N] = [rand(128, 256), rand(128, 256), rand(64, 128)]; // >= 2^20 multiply-adds
      return { a: f32View(values(M * K, rand(0, 1e6)), [1, M, K]), b: f32View(values(K * N, rand(0, 1e6)), [1, K, N]) };
    });
    // Gaps of 0 to 0.45 ms between products: jobs arrive while the workers spin, near the end of
    // their spin (threads.ts's SPIN_MS, 0.3 ms) and after they went to sleep.
    const run = () =>
      cases.map(({ a, b }, i) => {
        busyWait((i % 4) * 0.15);
        return Array.from(cpu.readSync!(cpu.matmul(a, b), 0, a.shape[1] * b.shape[2]));
      });
    setCpuKernels({ threads: 3 });
    await cpuKernelsReady();
    const threaded = run();
    expect(cpuKernels().chunksOnWorkers).toBeGreaterThan(0);
    setCpuKernels({ threads: 1 });
    await cpuKernelsReady();
    const single = run();
    setCpuKernels({ threads: Math.min(availableParallelism(), 8) });
    await cpuKernelsReady();
    expect(threaded).toEqual(single);
  });

  it('wakes workers that went to sleep between jobs (a job sees the sleepers and notifies them)', async () => {
    setCpuKernels({ threads: 3 });
    await cpuKernelsReady();
    const big = f32View(values(256 * 256, 11), [1, 256, 256]);
    // The workers booted and took part once (so they are past their start and in the wait loop).
    for (let i = 0; i < 200 && cpuKernels().chunksOnWorkers === 0; i++) cpu.matmul(big, big);
    expect(cpuKernels().chunksOnWorkers).toBeGreaterThan(0);
    const pool = threadPool()!;
    const workers = pool.threads - 1;
    let asleep = 0;
    let woken = 0;
    for (let i = 0; i < 30; i++) {
      // Until every worker is committed to Atomics.wait (past its spin, SPIN_MS): a worker that is
      // still booting or spinning would take part without a notify and prove nothing. (One counted
      // but not yet blocked would see the job without a notify too, but that window is nanoseconds
      // against these millisecond waits.)
      for (let t = 0; t < 200 && pool.sleepingWorkers < workers; t++) busyWait(1);
      if (pool.sleepingWorkers < workers) continue;
      asleep++;
      const before = cpuKernels().chunksOnWorkers;
      cpu.matmul(big, big);
      if (cpuKernels().chunksOnWorkers > before) woken++;
    }
    setCpuKernels({ threads: Math.min(availableParallelism(), 8) });
    await cpuKernelsReady();
    // Without the notify, workers asleep would never compute a chunk again (the caller would quietly
    // compute every chunk). A loaded machine may wake them too late for some products.
    expect(asleep).toBeGreaterThan(20);
    expect(woken).toBeGreaterThan(0);
  });

  it('broadcasts a stride-0 batch and reads a sparse window of a large storage', () => {
    const ad = values(4 * 6, 3);
    const a = f32View(ad, [3, 4, 6], [0, 6, 1]);
    // Three columns of a 100 x 5000 matrix: gathered, not copied whole.
    const bd = values(100 * 5000, 4);
    const b: View = { storage: cpu.fromData(bd, 'float32'), dtype: 'float32', shape: [3, 6, 3], strides: [5000 * 6, 5000, 1], offset: 17 };
    check(a, b, ad, bd);
  });

  // A row-major A is read in place by the micro-kernel (gemmRowMajorA), its short last panel packed;
  // any other A is packed first. Both make the same products in the same order: the same bits. Here
  // rows a wider storage apart and one row broadcast to every row (stride 0), each against a twin
  // with a column stride (packed), with odd M, K over three blocks, split across 1-3 threads.
  it('reads a row-major A in place with the packed path’s bits: a window of wider rows, a broadcast row, odd M', async () => {
    const [M, K, N] = [301, 600, 48];
    const bitsOf = (s: ReturnType<typeof cpu.matmul>) => Array.from(new Uint32Array(Float32Array.from(cpu.readSync!(s, 0, s.size)).buffer));
    const wide = values(M * 700, 21);
    const window = f32View(wide, [1, M, K], [0, 700, 1], 7); // columns 7..606 of a [301, 700]
    const stored = new Float32Array(K * M); // the same A stored transposed: column stride M
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) stored[k * M + i] = wide[7 + i * 700 + k];
    const windowTwin = f32View(stored, [1, M, K], [0, 1, M]);
    const row = values(K, 22);
    const broadcast = f32View(row, [1, M, K], [0, 0, 1]);
    const spaced = new Float32Array(2 * K); // the same row, every other element: column stride 2
    row.forEach((v, k) => (spaced[2 * k] = v));
    const broadcastTwin = f32View(spaced, [1, M, K], [0, 0, 2]);
    const bd = values(K * N, 23);
    const b = f32View(bd, [1, K, N]);
    try {
      for (const threads of [1, 2, 3]) {
        setCpuKernels({ threads });
        await cpuKernelsReady();
        expect(bitsOf(cpu.matmul(window, b))).toEqual(bitsOf(cpu.matmul(windowTwin, b)));
        expect(bitsOf(cpu.matmul(broadcast, b))).toEqual(bitsOf(cpu.matmul(broadcastTwin, b)));
        check(window, b, wide, bd);
      }
    } finally {
      setCpuKernels({ threads: Math.min(availableParallelism(), 8) });
      await cpuKernelsReady();
    }
  });

  it('handles empty dimensions (K = 0 gives zeros, M = 0 gives nothing)', () => {
    // Every other product overwrites its output array; K = 0 must zero it (the pool holds NaNs here).
    for (let i = 0; i < 3; i++) cpu.free(cpu.full(6, NaN, 'float32'));
    const k0 = cpu.matmul(f32View(new Float32Array(0), [1, 2, 0]), f32View(new Float32Array(0), [1, 0, 3]));
    expect(Array.from(cpu.readSync!(k0, 0, k0.size))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(cpu.matmul(f32View(new Float32Array(0), [1, 0, 4]), f32View(values(8, 5), [1, 4, 2])).size).toBe(0);
  });

  it('can be switched off: the TypeScript reference kernels give the same numbers to float32 precision', () => {
    const ad = values(20 * 30, 6);
    const bd = values(30 * 40, 7);
    const a = f32View(ad, [1, 20, 30]);
    const b = f32View(bd, [1, 30, 40]);
    const wasm = cpu.readSync!(cpu.matmul(a, b), 0, 800);
    setCpuKernels({ wasm: false });
    expect(cpuKernels()).toEqual({ wasm: false, relaxedSimd: false, threads: 1, chunksOnWorkers: 0, reason: 'disabled by setCpuKernels' });
    check(a, b, ad, bd);
    const ts = cpu.readSync!(cpu.matmul(a, b), 0, 800);
    ts.forEach((v, i) => expect(Math.abs(v - wasm[i])).toBeLessThan(1e-5));
  });

  it('fall back to the TypeScript kernels where the engine has no WebAssembly (node --jitless, built package)', () => {
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    if (!existsSync(dist)) throw new Error('packages/tensor/dist is missing: run pnpm build first');
    const script = `
      import { cpuKernels, getBackend } from ${JSON.stringify(dist)};
      const cpu = getBackend('cpu');
      const v = { storage: cpu.fromData(new Float32Array([1, 2, 3, 4]), 'float32'), dtype: 'float32', shape: [1, 2, 2], strides: [4, 1, 2], offset: 0 };
      const sum = cpu.reduce('sum', v, [2]);
      console.log(JSON.stringify({ info: cpuKernels(), mm: Array.from(cpu.readSync(cpu.matmul(v, v), 0, 4)), sum: Array.from(cpu.readSync(sum, 0, 2)) }));`;
    const run = spawnSync(process.execPath, ['--jitless', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.info).toEqual({ wasm: false, relaxedSimd: false, threads: 1, chunksOnWorkers: 0, reason: 'this JavaScript engine has no WebAssembly' });
    // [[1, 3], [2, 4]] squared, and its row sums.
    expect(out.mm).toEqual([7, 15, 10, 22]);
    expect(out.sum).toEqual([4, 6]);
  });

  it('use the relaxed-SIMD (fused multiply-add) matmul exactly where the engine validates it, and can be told not to', async () => {
    // Independent of the loader's probe: does the engine accept the relaxed build itself?
    const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
    const engineHas = wasm.validate(Uint8Array.from(atob(kernelsRelaxedWasmBase64), (c) => c.charCodeAt(0)));
    expect(engineHas).toBe(process.execArgv.includes('--experimental-wasm-relaxed-simd') || RELAXED_RUN);
    expect((await cpuKernelsReady()).relaxedSimd).toBe(engineHas);
    // -(1 + 2^-11) + (1 + 2^-12)^2 = 2^-24 exactly (float64). mul then add rounds the square to
    // 1 + 2^-11 first (a tie, to even) and gives 0; a fused multiply-add keeps the 2^-24. (Every
    // x86-64 CPU since 2013 and every arm64 one fuses; V8 falls back to mul + add elsewhere.)
    const a = f32View(new Float32Array([-(1 + 2 ** -11), 1 + 2 ** -12]), [1, 1, 2]);
    const b = f32View(new Float32Array([1, 1 + 2 ** -12]), [1, 2, 1]);
    const product = () => cpu.readSync!(cpu.matmul(a, b), 0, 1)[0];
    expect(product()).toBe(engineHas ? 2 ** -24 : 0);
    setCpuKernels({ relaxedSimd: false });
    expect((await cpuKernelsReady()).relaxedSimd).toBe(false);
    expect(product()).toBe(0);
    setCpuKernels({ relaxedSimd: true });
    expect((await cpuKernelsReady()).relaxedSimd).toBe(engineHas);
    expect(product()).toBe(engineHas ? 2 ** -24 : 0);
  });

  it('setCpuKernels names a bad option and value', () => {
    expect(() => setCpuKernels({ relaxedSimd: 1 } as never)).toThrow(/option 'relaxedSimd' must be a boolean, got 1/);
    expect(() => setCpuKernels({ relaxedSIMD: false } as never)).toThrow(/relaxedSimd/);
    expect(() => setCpuKernels({ wsam: true } as never)).toThrow(/unknown option 'wsam'/);
    expect(() => setCpuKernels({ wasm: 'yes' } as never)).toThrow(/option 'wasm' must be a boolean, got yes/);
    expect(() => setCpuKernels({ threads: 0 })).toThrow(/option 'threads' must be an integer from 1 to 64, got 0/);
    expect(() => setCpuKernels({ threads: 1.5 })).toThrow(/got 1.5/);
  });
});

describe('WebAssembly elementwise kernels equal the TypeScript kernels bit for bit', () => {
  // Values with the awkward cases: NaN, both zeros, infinities, subnormal-adjacent and ordinary.
  const special = [NaN, 0, -0, Infinity, -Infinity, 1e-38, -2.5, 3, 0.1, -0.1];
  function mixed(n: number, seed: number): Float32Array {
    const out = values(n, seed);
    for (let i = 0; i < n; i += 7) out[i] = special[(i / 7 + seed) % special.length];
    return out;
  }
  /** Runs `fn` under both kernel sets and returns both results' bits. */
  function both(fn: () => ReturnType<typeof cpu.elementwise>): [number[], number[]] {
    const bits = (s: ReturnType<typeof cpu.elementwise>) => {
      const d = cpu.readSync!(s, 0, s.size);
      return d instanceof Float32Array ? Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length)) : Array.from(d);
    };
    const wasm = bits(fn());
    setCpuKernels({ wasm: false });
    const ts = bits(fn());
    setCpuKernels({ wasm: true });
    return [wasm, ts];
  }
  const layouts = [
    { name: 'contiguous, odd length', shape: [37], aStrides: [1], bStrides: [1] },
    { name: 'row broadcast (bias add)', shape: [9, 21], aStrides: [21, 1], bStrides: [0, 1] },
    { name: 'column broadcast', shape: [9, 21], aStrides: [21, 1], bStrides: [1, 0] },
    { name: 'scalar on the left', shape: [5, 19], aStrides: [0, 0], bStrides: [19, 1] },
    { name: 'transposed', shape: [13, 11], aStrides: [1, 13], bStrides: [11, 1] },
  ];
  // Every binary op whose declaration names a dedicated SIMD kernel (@tsgrad/tensor's BINARY_OPS).
  const ops = (Object.keys(BINARY_OPS) as BinaryOp[]).filter((op) => BINARY_OPS[op].wasm !== undefined);
  it.each(layouts.flatMap((l) => ops.map((op) => [`${op} ${l.name}`, op, l] as const)))('binary %s', (_, op, l) => {
    const n = l.shape[0] * l.shape[1 % l.shape.length];
    const a = f32View(mixed(n, 1), l.shape, l.aStrides);
    const b = f32View(mixed(n, 2), l.shape, l.bStrides);
    const [wasm, ts] = both(() => cpu.elementwise(forwardKernel(op), [a, b]));
    expect(wasm).toEqual(ts);
  });

  // Every unary op with a dedicated kernel that is correctly rounded in float32 (the transcendental
  // and the fused ones are below).
  const transcendental = ['exp', 'log', 'tanh', 'sigmoid', 'erf'] as const;
  const fused = ['gelu'] as const;
  const exact = (Object.keys(UNARY_OPS) as UnaryOp[]).filter((op) => UNARY_OPS[op].wasm !== undefined && !([...transcendental, ...fused] as readonly string[]).includes(op));
  it('the transcendental and fused lists are exactly the other unary ops with a dedicated kernel', () => {
    expect((Object.keys(UNARY_OPS) as UnaryOp[]).filter((op) => UNARY_OPS[op].wasm !== undefined && !exact.includes(op)).sort()).toEqual([...transcendental, ...fused].sort());
    // A gradient kernel only where the forward has one (both fused).
    expect((Object.keys(UNARY_OPS) as UnaryOp[]).filter((op) => (UNARY_OPS[op] as { gradWasm?: readonly number[] }).gradWasm !== undefined)).toEqual([...fused]);
  });
  it.each(exact)('unary %s, contiguous and strided', (op) => {
    for (const [shape, strides] of [[[45], [1]], [[6, 7], [1, 6]]] as const) {
      const x = f32View(mixed(45, 3), [...shape], [...strides]);
      const [wasm, ts] = both(() => cpu.elementwise(forwardKernel(op), [x]));
      expect(wasm).toEqual(ts);
    }
  });

  // The transcendental kernels cannot equal the TypeScript ones bit for bit: those compute Math.exp
  // (...) in float64 and round once (correctly rounded, nearly always), the WebAssembly ones evaluate a
  // float32 polynomial, within 2 ulps of that (test/transcendental-accuracy.test.ts sweeps the whole
  // range). So: NaN where it has NaN, the same infinities and signed zeros, other values within 2 ulps,
  // and strided rows and tails (elements gathered into a vector) give the contiguous SIMD loop's bits.
  it.each(transcendental)('unary %s, contiguous and strided, within 2 ulps', (op) => {
    const scaled = mixed(45, 3).map((v) => v * 20); // beyond ±1 too: exp's and erf's outer intervals
    const key = (bits: number) => (bits | 0) < 0 ? -(bits & 0x7fffffff) : bits;
    const f32 = (bits: number) => new Float32Array(Uint32Array.of(bits).buffer)[0];
    const runs = [];
    for (const [shape, strides] of [[[45], [1]], [[6, 7], [1, 6]]] as const) {
      const x = f32View(scaled, [...shape], [...strides]);
      const [wasm, ts] = both(() => cpu.elementwise(forwardKernel(op), [x]));
      wasm.forEach((w, i) => {
        const [a, b] = [f32(w), f32(ts[i])];
        if (Number.isNaN(b) || Number.isNaN(a) || !Number.isFinite(b) || b === 0) expect(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${op}: ${a} vs ${b}`).toBe(true);
        else expect(Math.abs(key(w) - key(ts[i])), `${op}: ${a} vs ${b}`).toBeLessThanOrEqual(2);
      });
      runs.push(wasm);
    }
    // The strided [6, 7] view reads the same 42 elements in another order.
    const contiguous = runs[0];
    const strided = runs[1];
    for (let i = 0; i < 6; i++) for (let j = 0; j < 7; j++) expect(strided[i * 7 + j]).toBe(contiguous[i + j * 6]);
  });

  // A fused activation's kernels (assembly/activations.ts) do the block interpreter's float32
  // operations in its order, so they equal the interpreted kernel of the declared expression bit for
  // bit: forward and gradient, NaN, infinities and zeros included, on a long row (past the
  // interpreter's 256-element blocks, with a tail), a strided view and broadcast operands.
  it.each(fused)('fused %s and its gradient equal the block interpreter bit for bit', (op) => {
    const bitsOf = (s: ReturnType<typeof cpu.elementwise>) => {
      const d = cpu.readSync!(s, 0, s.size) as Float32Array;
      return Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length));
    };
    const fwd = forwardKernel(op);
    const grad = gradKernel(op, 0)!;
    expect([fwd.wasm, grad.wasm]).toEqual([UNARY_OPS[op].wasm, UNARY_OPS[op].gradWasm?.[0]]);
    const interpreted = (k: typeof fwd) => ({ ...k, wasm: null });
    const n = 1003;
    const x = mixed(n, 11).map((v, i) => (i % 3 === 0 ? v * 12 : v)); // both of erf's intervals, exp's underflow
    const g = mixed(n, 12);
    g[0] = 0.75; // the broadcast gradient below: an ordinary value
    g[x.findIndex(Number.isNaN)] = NaN; // a NaN in g where x has one
    // Past the size where kernels split across the worker threads (2^15 elements), each chunk a row block.
    const big = Float32Array.from({ length: 40_000 }, (_, i) => x[i % n] * (1 + i / 40_000));
    const layouts: [string, View, View][] = [
      ['a long row', f32View(x, [n]), f32View(g, [n])],
      ['strided (a transposed [17, 59])', f32View(x.subarray(0, 1003), [17, 59], [1, 17]), f32View(g.subarray(0, 1003), [17, 59], [59, 1])],
      ['a broadcast gradient', f32View(x, [n]), f32View(g, [n], [0])],
      ['split across threads ([200, 200])', f32View(big, [200, 200]), f32View(big.map((v) => -v / 3), [200, 200])],
    ];
    for (const [name, xv, gv] of layouts) {
      expect(bitsOf(cpu.elementwise(fwd, [xv])), `${op} ${name}`).toEqual(bitsOf(cpu.elementwise(interpreted(fwd), [xv])));
      expect(bitsOf(cpu.elementwise(grad, [gv, xv])), `${op}.grad ${name}`).toEqual(bitsOf(cpu.elementwise(interpreted(grad), [gv, xv])));
    }
  });

  const reductions = [
    { name: 'all of a vector', shape: [301], strides: [1], axes: [0] },
    { name: 'rows (last axis)', shape: [7, 45], strides: [45, 1], axes: [1] },
    { name: 'over the batch (bias gradient)', shape: [33, 21], strides: [21, 1], axes: [0] },
    { name: 'middle axis of 3-D', shape: [3, 5, 7], strides: [35, 7, 1], axes: [1] },
    { name: 'a transposed view, both axes', shape: [9, 13], strides: [1, 9], axes: [0, 1] },
    // Blocks of rows: rows that fold into one accumulator each, and rows that fold in turn into one.
    { name: 'blocks of rows, [4, 3, 5, 7] over axes 1 and 3', shape: [4, 3, 5, 7], strides: [105, 35, 7, 1], axes: [1, 3] },
    { name: 'blocks of rows, [4, 3, 5, 7] over axes 0 and 2', shape: [4, 3, 5, 7], strides: [105, 35, 7, 1], axes: [0, 2] },
    { name: 'blocks of rows, a permuted [5, 4, 7, 3] over axis 2', shape: [5, 4, 7, 3], strides: [7, 105, 1, 35], axes: [2] },
  ];
  it.each(reductions.flatMap((r) => (['sum', 'max', 'min'] as const).map((op) => [`${op} ${r.name}`, op, r] as const)))('reduce %s', (_, op, r) => {
    const n = r.shape.reduce((a, b) => a * b, 1);
    const x = f32View(op === 'sum' ? values(n, 6) : mixed(n, 6), r.shape, r.strides);
    const [wasm, ts] = both(() => cpu.reduce(op, x, r.axes));
    expect(wasm).toEqual(ts);
  });

  it('gather and scatter-add along each dim (the im2col pattern: a broadcast index), and their bounds Errors', () => {
    const x = f32View(mixed(4 * 5 * 6, 7), [4, 5, 6]);
    const idxData = Int32Array.from({ length: 9 }, (_, i) => (i * 7) % 6);
    const index = { storage: cpu.fromData(idxData, 'int32'), dtype: 'int32' as const, shape: [4, 5, 9], strides: [0, 0, 1], offset: 0 };
    const [wasm, ts] = both(() => cpu.gather(x, 2, index));
    expect(wasm).toEqual(ts);
    const rowIndex = { storage: cpu.fromData(Int32Array.from([3, 0, 1, 3, 2, 0]), 'int32'), dtype: 'int32' as const, shape: [1, 5, 6], strides: [0, 0, 1], offset: 0 };
    const [w0, t0] = both(() => cpu.gather(x, 0, { ...rowIndex, shape: [2, 5, 6], strides: [0, 0, 1] }));
    expect(w0).toEqual(t0);
    // scatter-add: the gather's backward. Accumulating repeated indices in the same order: same bits.
    const src = f32View(values(4 * 5 * 9, 8), [4, 5, 9]);
    const [sw, st] = both(() => {
      const dst = f32View(new Float32Array(4 * 5 * 6), [4, 5, 6]);
      cpu.scatterAdd(dst, 2, index, src);
      return dst.storage;
    });
    expect(sw).toEqual(st);
    const bad = { ...index, storage: cpu.fromData(Int32Array.from([0, 1, 6, 0, 0, 0, 0, 0, 0]), 'int32') };
    expect(() => cpu.gather(x, 2, bad)).toThrow('gather: index 6 is out of bounds for dimension 2 with size 6');
    const dst = f32View(new Float32Array(4 * 5 * 6), [4, 5, 6]);
    expect(() => cpu.scatterAdd(dst, 2, bad, src)).toThrow('scatterAdd: index 6 is out of bounds for dimension 2 with size 6');
  });

  it.each(['argmax', 'argmin'] as const)('%s along each axis, contiguous and transposed, NaN and ties', (op) => {
    const data = values(6 * 7, 11);
    data[9] = NaN;
    // Ties at the extremes, along rows and along columns: the first index wins.
    data[0] = data[1] = data[7] = 5;
    data[4] = data[5] = data[11] = -5;
    for (const [shape, strides] of [[[6, 7], [7, 1]], [[7, 6], [1, 7]]] as const) {
      for (const axis of [0, 1]) {
        const x = f32View(data, [...shape], [...strides]);
        const [wasm, ts] = both(() => cpu.argReduce(op, x, axis));
        expect(wasm).toEqual(ts);
      }
    }
  });

  it('where with a broadcast condition', () => {
    const cond = { storage: cpu.fromData(Uint8Array.from([1, 0, 0, 1, 1, 0, 1]), 'bool'), dtype: 'bool' as const, shape: [5, 7], strides: [0, 1], offset: 0 };
    const a = f32View(mixed(35, 4), [5, 7]);
    const b = f32View(mixed(7, 5), [5, 7], [0, 1]);
    const [wasm, ts] = both(() => cpu.ternary('where', cond, a, b));
    expect(wasm).toEqual(ts);
  });

  // The kernels walk blocks of rows (the two innermost dims of the row plan); JavaScript the rest.
  // Here a [3, 5, 7] result over operands broadcast in every pattern, as an attention mask [B, H, T, 1]
  // and a layer norm's statistics are: per block, each operand's row stride differs.
  it('blocks of rows: binary, where (a condition per row: copy and fill) and the block interpreter over [3, 5, 7]', () => {
    const full = f32View(mixed(105, 6), [3, 5, 7]);
    const perRow = f32View(mixed(15, 7), [3, 5, 7], [5, 1, 0]);
    const transposed = f32View(mixed(105, 8), [3, 5, 7], [35, 1, 5]);
    const scalar = f32View(mixed(1, 9), [3, 5, 7], [0, 0, 0]);
    const rowCond = { storage: cpu.fromData(Uint8Array.from({ length: 15 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0), 'bool'), dtype: 'bool' as const, shape: [3, 5, 7], strides: [5, 1, 0], offset: 0 };
    const pairs = [[full, perRow], [perRow, transposed], [transposed, scalar], [scalar, full]] as const;
    for (const [a, b] of pairs) {
      for (const op of ['add', 'sub', 'mul', 'div', 'lt'] as const) {
        const [wasm, ts] = both(() => cpu.elementwise(forwardKernel(op), [a, b]));
        expect(wasm).toEqual(ts);
      }
      const [wasm, ts] = both(() => cpu.ternary('where', rowCond, a, b));
      expect(wasm).toEqual(ts);
      // mul's gradient g * y runs in the block interpreter (no dedicated kernel); exact in both.
      const [gw, gt] = both(() => cpu.elementwise(gradKernel('mul', 0)!, [a, b]));
      expect(gw).toEqual(gt);
    }
  });
});

describe('native program kernels take their arguments by name', () => {
  // Plain SGD (p = p - lr * g) through the WebAssembly kernel `sgdStep`, its arguments named as the
  // kernel's exported layout (`sgdStepArgs.*`) names them; `args` changes one entry per case.
  const sgdArgs = { p: '@p', g: '@g', buf: 0, n: '#n', lr: 'lr', momentum: 0, keep: 1, coupled: 0, shrink: 1, sign: 1, plain: 0, firstStep: 0, nesterov: 0 };
  function step(args: Record<string, string | number>): number[] {
    const program = defineProgram({ name: 'named-sgd', read: ['g'], write: ['p'], scalars: ['lr'], body: 'p = p - lr * g', native: { kernel: 'sgdStep', args } });
    const p = f32View(values(37, 1), [37]);
    cpu.runProgram(program, [{ streams: { p, g: f32View(values(37, 2), [37]) }, scalars: { lr: 0.1 } }]);
    return Array.from(cpu.readSync!(p.storage, 0, 37));
  }

  it('equals the generated loop bit for bit', () => {
    const wasm = step(sgdArgs);
    setCpuKernels({ wasm: false });
    expect(wasm).toEqual(step(sgdArgs));
  });

  it('a name the kernel lacks is an Error naming the nearest slot', () => {
    const { lr, ...rest } = sgdArgs;
    expect(() => step({ ...rest, Lr: lr })).toThrow(/program named-sgd: kernel 'sgdStep': unknown argument 'Lr'; did you mean 'lr'\?/);
  });

  it('a slot left out is an Error naming it', () => {
    const { keep: _keep, nesterov: _nesterov, ...rest } = sgdArgs;
    expect(() => step(rest)).toThrow(/program named-sgd: kernel 'sgdStep': the program gives no value for arguments keep, nesterov/);
  });

  it('each slot reaches the kernel under its own name (a value moved to another name changes the step)', () => {
    // keep and shrink are both 1 here; sign = -1 (maximize) must flip the step, coupled must add decay.
    const base = step(sgdArgs);
    const p0 = values(37, 1), g = values(37, 2);
    expect(step({ ...sgdArgs, sign: -1 })).toEqual(Array.from(p0, (x, i) => Math.fround(x + 0.1 * g[i])));
    expect(step({ ...sgdArgs, coupled: 0.5 })).toEqual(Array.from(p0, (x, i) => Math.fround(x - 0.1 * (g[i] + 0.5 * x))));
    expect(base).toEqual(Array.from(p0, (x, i) => Math.fround(x - 0.1 * g[i])));
  });
});

describe('recycled arrays (the CPU buffer pool) never leak old values into results', () => {
  it.each(['wasm', 'typescript'] as const)('%s kernels: every op gives the same numbers when the pool holds NaN-filled arrays', (kernels) => {
    setCpuKernels({ wasm: kernels === 'wasm' });
    const x = f32View(values(4 * 6, 21), [4, 6]);
    const y = f32View(values(4 * 6, 22), [4, 6], [1, 4]);
    const idx: View = { storage: cpu.fromData(Int32Array.from([5, 0, 2, 2, 1, 4]), 'int32'), dtype: 'int32', shape: [4, 6], strides: [0, 1], offset: 0 };
    const cond: View = { storage: cpu.fromData(Uint8Array.from([1, 0, 1, 1, 0, 0]), 'bool'), dtype: 'bool', shape: [4, 6], strides: [0, 1], offset: 0 };
    const read = (s: ReturnType<typeof cpu.elementwise>) => Array.from(cpu.readSync!(s, 0, s.size));
    const ops = () => [
      read(cpu.elementwise(forwardKernel('add'), [x, y])),
      read(cpu.elementwise(forwardKernel('lt'), [x, y])),
      read(cpu.elementwise(forwardKernel('pow'), [x, y])),
      read(cpu.elementwise(forwardKernel('relu'), [y])),
      read(cpu.elementwise(forwardKernel('exp'), [y])),
      read(cpu.ternary('where', cond, x, y)),
      read(cpu.reduce('sum', y, [0])),
      read(cpu.argReduce('argmax', y, 1)),
      read(cpu.gather(x, 1, idx)),
      read(cpu.cast(y, 'float64')),
      read(cpu.matmul({ ...x, shape: [1, 4, 6], strides: [0, 6, 1] }, { ...y, shape: [1, 6, 4], strides: [0, 1, 6] })),
      read(cpu.fromData(Float32Array.from([1, 2, 3, 4]), 'float32')),
    ];
    const fresh = ops();
    // Release NaN-filled storages of every size and dtype those ops produce, then run them again.
    for (const n of [1, 4, 6, 16, 24]) {
      for (const dtype of ['float32', 'float64', 'int32', 'bool'] as const) {
        for (let i = 0; i < 3; i++) cpu.free(cpu.full(n, dtype === 'bool' ? 1 : dtype === 'int32' ? -7 : NaN, dtype));
      }
    }
    expect(ops()).toEqual(fresh);
  });
});

describe('the fused attention kernels against the float64 reference kernel (src/cpu/attention.ts)', () => {
  const read = (s: ReturnType<typeof cpu.elementwise>) => Array.from(cpu.readSync!(s, 0, s.size));
  /** Each result of the WebAssembly kernels, then of the reference kernel (WebAssembly off), as arrays. */
  const bothKernels = (run: () => ReturnType<typeof cpu.elementwise>[]) => {
    const wasm = run().map(read);
    setCpuKernels({ wasm: false });
    const ref = run().map(read);
    setCpuKernels({ wasm: true });
    return { wasm, ref };
  };
  const close = (got: number[], want: number[], what: string) => {
    expect(got.length, what).toBe(want.length);
    got.forEach((g, i) => {
      if (Number.isNaN(want[i]) || !Number.isFinite(want[i])) expect(g, `${what}[${i}]`).toBe(want[i]);
      else expect(Math.abs(g - want[i]), `${what}[${i}]: ${g} vs ${want[i]}`).toBeLessThanOrEqual(2e-5 + 1e-5 * Math.abs(want[i]));
    });
  };

  it('agree on transposed, broadcast and sparse views, a mask with −∞ and fully masked rows, causal with L ≠ S, forward and backward', () => {
    const [B, H, L, S, E, Ev] = [2, 3, 70, 45, 20, 12];
    // q transposed in its last two dims; k three columns blocks of a wide storage (sparse: gathered);
    // v broadcast over the batch; the mask [L, S] broadcast over batch and heads, row 3 all −∞.
    const q = f32View(values(B * H * L * E, 31), [B, H, L, E], [H * L * E, L * E, 1, L]);
    const k: View = { storage: cpu.fromData(values(B * H * S * 400, 32), 'float32'), dtype: 'float32', shape: [B, H, S, E], strides: [H * S * 400, S * 400, 400, 1], offset: 7 };
    const v = f32View(values(H * S * Ev, 33), [B, H, S, Ev], [0, S * Ev, Ev, 1]);
    const md = values(L * S, 34).map((x, i) => (x < -0.2 || Math.floor(i / S) === 3 ? -Infinity : x));
    const mask = f32View(md, [B, H, L, S], [0, 0, S, 1]);
    const dout = f32View(values(B * H * L * Ev, 35), [B, H, L, Ev]);
    for (const isCausal of [false, true]) {
      const opts = { scale: 0.37, isCausal };
      const inputs = { query: q, key: k, value: v, mask: isCausal ? null : mask };
      const { wasm, ref } = bothKernels(() => {
        const { output, logsumexp } = cpu.attention!(inputs, opts);
        const saved = { output: f32View(cpu.readSync!(output, 0, output.size) as Float32Array, [B, H, L, Ev]), logsumexp: f32View(cpu.readSync!(logsumexp, 0, logsumexp.size) as Float32Array, [B, H, L]), gradOutput: dout };
        const g = cpu.attentionBackward!(inputs, saved, opts);
        return [output, logsumexp, g.query, g.key, g.value];
      });
      ['output', 'logsumexp', 'dq', 'dk', 'dv'].forEach((what, i) => close(wasm[i], ref[i], `${what} (causal ${isCausal})`));
      if (!isCausal) expect(wasm[0].slice(3 * Ev, 4 * Ev)).toEqual(new Array(Ev).fill(0));
    }
  });

  it('give a NaN row (and logsumexp) for a NaN or +∞ score, zeros and −∞ for a row without keys', () => {
    const k = f32View(values(6 * 4, 41), [1, 1, 6, 4]);
    const qd = values(3 * 4, 42);
    qd[0] = NaN;
    qd[4] = Infinity;
    const q = f32View(qd, [1, 1, 3, 4]);
    const mask = f32View(Float32Array.from({ length: 18 }, (_, i) => (i >= 12 ? -Infinity : 0)), [1, 1, 3, 6]);
    const { wasm, ref } = bothKernels(() => {
      const { output, logsumexp } = cpu.attention!({ query: q, key: k, value: k, mask }, { scale: 0.5, isCausal: false });
      return [output, logsumexp];
    });
    expect(wasm[1][0]).toBeNaN();
    expect(wasm[1][2]).toBe(-Infinity);
    expect(wasm[0].slice(8)).toEqual([0, 0, 0, 0]);
    close(wasm[0], ref[0], 'output');
    close(wasm[1], ref[1], 'logsumexp');
  });
});
