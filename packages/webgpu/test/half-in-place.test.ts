import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Generator, Tensor, fusedAttention, tensor } from '@tsgrad/autograd';
import { isHalf, registerBackend, roundsOnRead, type HalfDType, type Storage, type View } from '@tsgrad/tensor';
import { halfBits } from '@tsgrad/test-utils';
import { WebGPUBackend } from '@tsgrad/webgpu';
import { gpu } from './gpu.js';

/**
 * Kernels that read float16 and bfloat16 operands in place (packed words decoded in the load) must
 * give the bits of the float32 kernel on widened copies, rounded once: the reference here is that
 * float32 product on WebGPU of the operands cast exactly to float32, in the same layout (so the plan
 * picks the same kernel for it), rounded into half. And no float32 copy is made: a half product is
 * one matmul dispatch writing C in half (where the kernel stores pairs of columns; else one more, a
 * narrowing), where widening cost two more.
 */

const HALVES: HalfDType[] = ['float16', 'bfloat16'];
let backend: WebGPUBackend;
beforeAll(async () => {
  backend = await gpu();
}, 60_000);

/**
 * Random values of `shape` in `dtype` on WebGPU (normal samples times `scale`, so products round
 * often); `special` puts ±∞, NaN and the largest float16 among them (sums that overflow, NaN products).
 */
function sample(shape: number[], dtype: HalfDType, seed: number, { scale = 3, special = false } = {}): Tensor {
  const gen = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Float32Array.from({ length: n }, () => gen.normal() * scale);
  if (special) [Infinity, -Infinity, NaN, 65504, -65504, 65504].forEach((v, i) => (values[(i * 977 + 5) % n] = v));
  return tensor(values).reshape(shape).to(dtype).to('webgpu');
}

async function bitsOf(t: Tensor): Promise<number[]> {
  return halfBits(await t.cpu());
}

/**
 * Each case: the base shapes and the views taken of them, chosen to reach each kernel of the plan:
 * one thread per element (C under 32×32), the scalar tiled kernel (K not a multiple of 4), the vec4
 * kernels (32×32 and 64×64 tiles), the vec4 kernel after the row-major copy that float32 makes of a
 * transposed operand of a large product (the weight gradient's layout, read here in place), split-K,
 * an odd offset, a broadcast batch; C written in half by the tiled and vec4 kernels (N even, also
 * N = 2 mod 4 on the tiled one: one dispatch), or float32 and narrowed (odd N, a tiny C: two; split-K:
 * three); special values through the kernel's half store, and products in float16's subnormal range.
 */
const CASES: { name: string; a: number[]; b: number[]; view: (a: Tensor, b: Tensor) => [Tensor, Tensor]; dispatches: number; fill?: { scale?: number; special?: boolean } }[] = [
  { name: 'small C', a: [3, 5, 12], b: [3, 12, 7], view: (a, b) => [a, b], dispatches: 2 },
  { name: 'tiled, K = 33', a: [2, 40, 33], b: [2, 33, 36], view: (a, b) => [a, b], dispatches: 1 },
  { name: 'vec4 32x32 tiles', a: [1, 64, 32], b: [1, 32, 64], view: (a, b) => [a, b], dispatches: 1 },
  { name: 'transposed operands, small product (tiled)', a: [2, 36, 40], b: [2, 44, 36], view: (a, b) => [a.transpose(1, 2), b.transpose(1, 2)], dispatches: 1 },
  { name: 'transposed A of a large product (vec4 where float32 copies)', a: [256, 128], b: [256, 128], view: (a, b) => [a.t(), b], dispatches: 1 },
  { name: 'vec4 64x64 tiles', a: [512, 16], b: [16, 512], view: (a, b) => [a, b], dispatches: 1 },
  { name: 'split-K', a: [32, 1024], b: [1024, 32], view: (a, b) => [a, b], dispatches: 3 },
  { name: 'odd offset (column slice)', a: [40, 37], b: [36, 40], view: (a, b) => [a.narrow(1, 1, 36), b], dispatches: 1 },
  { name: 'broadcast batch', a: [3, 33, 40], b: [40, 36], view: (a, b) => [a, b], dispatches: 1 },
  { name: 'odd N (a float32 C narrowed)', a: [2, 40, 32], b: [2, 32, 37], view: (a, b) => [a, b], dispatches: 2 },
  { name: 'N = 2 mod 4, tiled (a half C a word at a time)', a: [2, 40, 33], b: [2, 33, 34], view: (a, b) => [a, b], dispatches: 1 },
  { name: '±∞, NaN and overflowing sums, tiled and written in half', a: [2, 40, 33], b: [2, 33, 34], view: (a, b) => [a, b], dispatches: 1, fill: { special: true } },
  { name: '±∞, NaN and overflowing sums, vec4 and written in half', a: [1, 64, 32], b: [1, 32, 64], view: (a, b) => [a, b], dispatches: 1, fill: { special: true } },
  { name: 'products in float16\u2019s subnormal range, written in half', a: [1, 64, 32], b: [1, 32, 64], view: (a, b) => [a, b], dispatches: 1, fill: { scale: 1e-3 } },
];

describe('matmul reads half operands in place, with the bits of the float32 kernel on widened copies', () => {
  it.each(HALVES.flatMap((d) => CASES.map((c) => [`${d}: ${c.name}`, d, c] as const)))('%s', async (_, dtype, c) => {
    const a = sample(c.a, dtype, 1, c.fill);
    const b = sample(c.b, dtype, 2, c.fill);
    const [x, y] = c.view(a, b);
    const before = backend.stats().dispatches;
    const got = x.matmul(y);
    expect(backend.stats().dispatches - before, 'dispatches (the route taken)').toBe(c.dispatches);
    const want = ((x, y) => x.matmul(y))(...c.view(a.to('float32'), b.to('float32'))).to(dtype);
    expect(got.dtype).toBe(dtype);
    const bits = await bitsOf(got);
    expect(bits).toEqual(await bitsOf(want));
    // The special cases reach what they name (float16's fields; bfloat16's are float32's upper half).
    const [expMask, fracMask] = dtype === 'float16' ? [0x7c00, 0x3ff] : [0x7f80, 0x7f];
    const count = (p: (b: number) => boolean) => bits.filter(p).length;
    if (c.fill?.special) {
      expect(count((b) => (b & expMask) === expMask && (b & fracMask) !== 0), 'NaN').toBeGreaterThan(0);
      expect(count((b) => (b & 0x7fff) === expMask), '±∞').toBeGreaterThan(0);
    }
    if (c.fill?.scale && dtype === 'float16') expect(count((b) => (b & expMask) === 0 && (b & fracMask) !== 0), 'subnormals').toBeGreaterThan(100);
  });

  it.each(HALVES)('%s: a product is one matmul dispatch writing C in half: no widened copies, no float32 C', async (dtype) => {
    const a = sample([2, 40, 36], dtype, 3);
    const b = sample([2, 36, 44], dtype, 4);
    await a.data();
    await b.data();
    backend.pool.resetPeak();
    const before = backend.stats();
    const c = a.matmul(b);
    const after = backend.stats();
    expect(after.dispatches - before.dispatches).toBe(1);
    // Only the half result was allocated (in the pool's power-of-two size classes); C's float32
    // values and their narrowing took one more buffer and dispatch, the widened copies of A and B
    // two more 16 KiB buffers.
    const pooled = (bytes: number) => 2 ** Math.ceil(Math.log2(bytes));
    expect(after.peakBytesInUse - before.bytesInUse).toBe(pooled(2 * 40 * 44 * 2));
    await c.data();
  });

  it.each(HALVES)('%s: each vec4 kernel, forced, writes a half C at edge tiles (M and N past the last full tile)', async (dtype) => {
    const a = sample([2, 70, 36], dtype, 7);
    const b = sample([2, 36, 68], dtype, 8);
    for (const tile of [32, 64] as const) {
      backend.matmulTile = tile;
      try {
        const before = backend.stats().dispatches;
        const got = a.matmul(b);
        expect(backend.stats().dispatches - before, `tile ${tile}: one dispatch, C written in half`).toBe(1);
        const want = a.to('float32').matmul(b.to('float32')).to(dtype);
        expect(await bitsOf(got), `tile ${tile}`).toEqual(await bitsOf(want));
      } finally {
        backend.matmulTile = 'auto';
      }
    }
  });

  it.each(HALVES)('%s: an odd N, a tiny C and split-K compute a float32 C and narrow it (one dispatch more)', async (dtype) => {
    for (const [as, bs, dispatches] of [
      [[2, 40, 36], [2, 36, 37], 2],
      [[3, 5, 12], [3, 12, 8], 2],
      [[32, 1024], [1024, 32], 3],
    ] as const) {
      const a = sample([...as], dtype, 5);
      const b = sample([...bs], dtype, 6);
      await a.data();
      await b.data();
      const before = backend.stats().dispatches;
      const c = a.matmul(b);
      expect(backend.stats().dispatches - before, `${as} @ ${bs}`).toBe(dispatches);
      await c.data();
    }
  });
});

/**
 * A rounding view (`roundsOnRead`: a half view of a float32 storage, what autocast's backward hands
 * matmul in place of the batch's cast) is read as the float32 words rounded to the half dtype: the
 * product must have the bits of the product of the cast, on the same route (dispatch count), for
 * every kernel of the plan; where its float32 binding would not fit (or beside an addend, or beside
 * a float32 operand) the backend casts it first, with the same bits.
 */
describe('matmul reads a rounding view (float32 read as half) as its cast, on the cast\'s route', () => {
  /** Float32 samples with bits below the half dtype's precision; `special` adds NaN, ±∞ and ±65520 (±∞ in float16). */
  function sample32(shape: number[], seed: number, { scale = 3, special = false } = {}): Tensor {
    const gen = new Generator(seed);
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: n }, () => gen.normal() * scale);
    if (special) [Infinity, -Infinity, NaN, 65520, -65520, 65504].forEach((v, i) => (values[(i * 977 + 5) % n] = v));
    return tensor(values).reshape(shape).to('webgpu');
  }
  /** The rounding view of a float32 view: its storage, shape, strides and offset, read as `dtype`. */
  const rounding = (t: Tensor, dtype: HalfDType) => new Tensor({ ...t.toView(), dtype });

  it.each(HALVES.flatMap((d) => CASES.flatMap((c) => (['a', 'b'] as const).map((side) => [`${d}: ${c.name}, ${side} rounding`, d, c, side] as const))))('%s', async (_, dtype, c, side) => {
    const f32 = sample32(side === 'a' ? c.a : c.b, 1, c.fill);
    const half = sample(side === 'a' ? c.b : c.a, dtype, 2, c.fill);
    const [x32, y32] = side === 'a' ? c.view(f32, half) : c.view(half, f32);
    const [x, y] = side === 'a' ? [rounding(x32, dtype), y32] : [x32, rounding(y32, dtype)];
    expect(roundsOnRead((side === 'a' ? x : y).toView())).toBe(true);
    await f32.data();
    const before = backend.stats().dispatches;
    const got = x.matmul(y);
    expect(backend.stats().dispatches - before, 'dispatches: the cast\'s route, and no cast').toBe(c.dispatches);
    const cast = f32.to(dtype);
    const want = ((p, q) => p.matmul(q))(...(side === 'a' ? c.view(cast, half) : c.view(half, cast)));
    expect(got.dtype).toBe(dtype);
    expect(await bitsOf(got)).toEqual(await bitsOf(want));
  });

  it.each(HALVES)('%s: both operands rounding views (the batch times a frozen weight under autocast): the casts\' product and route', async (dtype) => {
    for (const c of CASES.filter((k) => ['tiled, K = 33', 'vec4 32x32 tiles', 'split-K', 'odd N (a float32 C narrowed)'].includes(k.name))) {
      const [a32, b32] = [sample32(c.a, 7, c.fill), sample32(c.b, 8, c.fill)];
      const [x, y] = c.view(a32, b32);
      await Promise.all([a32.data(), b32.data()]);
      const before = backend.stats().dispatches;
      const got = rounding(x, dtype).matmul(rounding(y, dtype));
      expect(backend.stats().dispatches - before, c.name).toBe(c.dispatches);
      const want = ((p, q) => p.matmul(q))(...c.view(a32.to(dtype), b32.to(dtype)));
      expect(await bitsOf(got), c.name).toEqual(await bitsOf(want));
    }
  });

  it.each(HALVES)('%s: beside a half addend it is read in place; beside a float32 operand, and past the binding limit as float32 (not as half: plain, transposed, broadcast), it is cast first: the same bits', async (dtype) => {
    expect(backend.capabilities.matmulRoundsOnRead).toBe(true);
    const view = (t: Tensor): View => t.toView();
    const readBits = async (b: WebGPUBackend, s: Storage, n: number) => Array.from(await b.read(s, 0, n));
    const a32 = sample32([1, 40, 36], 3);
    const b = sample([1, 36, 44], dtype, 4);
    const addend = sample([1, 40, 44], dtype, 5);
    const aRound = { ...view(a32), dtype };
    const aCast = view(a32.to(dtype));
    const n = 40 * 44;
    // Beside a half addend (linear's bias under autocast) it is read in place: one matmul and one add.
    const before = backend.stats().dispatches;
    const withAddend = backend.matmul(aRound, view(b), view(addend));
    expect(backend.stats().dispatches - before).toBe(2);
    expect(await readBits(backend, withAddend, n)).toEqual(await readBits(backend, backend.matmul(aCast, view(b), view(addend)), n));
    const b32 = b.to('float32');
    expect(await readBits(backend, backend.matmul(aRound, view(b32)), n)).toEqual(await readBits(backend, backend.matmul(aCast, view(b32)), n));
    // A right operand of 1.2 MB as float32 (600 KB as half) under a 1 MiB binding limit (the right
    // operand is bound whole): cast first, it runs as its cast does. Plain, transposed (the cast
    // keeps the layout: the same kernel) and broadcast over a batch of 3 (not repeated: 1.8 MB as half).
    const capped = new WebGPUBackend(backend.gpu, 'capped for tests', {}, { maxStorageBufferBindingSize: 1 << 20, maxBufferSize: 64 << 20 });
    const gen = new Generator(6);
    const values = Float32Array.from({ length: 512 * 600 }, () => gen.normal());
    const right = capped.fromData(values, 'float32');
    const castOfRight = capped.cast({ storage: right, dtype: 'float32', shape: [512 * 600], strides: [1], offset: 0 }, dtype);
    const left = capped.cast({ storage: capped.fromData(values.subarray(0, 3 * 8 * 600), 'float32'), dtype: 'float32', shape: [3 * 8 * 600], strides: [1], offset: 0 }, dtype);
    const layouts: [string, Omit<View, 'storage' | 'dtype'>, Omit<View, 'storage' | 'dtype'>][] = [
      ['plain', { shape: [1, 8, 512], strides: [0, 512, 1], offset: 0 }, { shape: [1, 512, 600], strides: [0, 600, 1], offset: 0 }],
      ['transposed', { shape: [1, 8, 600], strides: [0, 600, 1], offset: 0 }, { shape: [1, 600, 512], strides: [0, 1, 600], offset: 0 }],
      ['broadcast over a batch', { shape: [3, 8, 512], strides: [8 * 512, 512, 1], offset: 0 }, { shape: [3, 512, 600], strides: [0, 600, 1], offset: 0 }],
    ];
    for (const [name, l, r] of layouts) {
      const leftView: View = { storage: left, dtype, ...l };
      const got = capped.matmul(leftView, { storage: right, dtype, ...r });
      const want = capped.matmul(leftView, { storage: castOfRight, dtype, ...r });
      const count = l.shape[0] * l.shape[1] * r.shape[2];
      expect(await readBits(capped, got, count), name).toEqual(await readBits(capped, want, count));
    }
  });
});

describe('elementwise kernels read half operands in place and write the result packed, with the bits of the float32 kernel on widened copies rounded once', () => {
  const OPS: [string, (x: Tensor, y: Tensor) => Tensor][] = [
    ['add', (x, y) => x.add(y)],
    ['mul', (x, y) => x.mul(y)],
    ['div', (x, y) => x.div(y)],
    ['exp', (x) => x.exp()],
    ['tanh', (x) => x.tanh()],
    ['sigmoid', (x) => x.sigmoid()],
    ['gt (a bool result)', (x, y) => x.gt(y)],
  ];
  // A transposed view, an odd offset (element 1 of the base: the second half of a word) and a broadcast row.
  const VIEWS: [string, (t: Tensor) => Tensor][] = [
    ['transposed', (t) => t.t()],
    ['odd offset', (t) => t.narrow(1, 1, 7).narrow(0, 0, 7)],
    ['broadcast row', (t) => t.narrow(0, 1, 1).expand([7, 8])],
    ['odd element count (the last word half filled)', (t) => t.narrow(0, 0, 7).narrow(1, 0, 7)],
  ];
  it.each(HALVES.flatMap((d) => OPS.flatMap(([op, f]) => VIEWS.map(([v, view]) => [`${d}: ${op}, ${v}`, d, f, view] as const))))('%s', async (_, dtype, f, view) => {
    const x = view(sample([8, 8], dtype, 5));
    const y = sample([9, 9], dtype, 6).t().narrow(0, 0, x.shape[0]).narrow(1, 0, x.shape[1]);
    const got = f(x, y);
    const wide = f(x.to('float32'), y.to('float32'));
    if (got.dtype === 'bool') expect(Array.from(await got.data())).toEqual(Array.from(await wide.data()));
    else expect(await bitsOf(got)).toEqual(await bitsOf(wide.to(dtype)));
  });

  it.each(HALVES)('%s: a binary op is one kernel writing the packed result: no widened copies, no float32 result', async (dtype) => {
    const a = sample([64, 64], dtype, 7);
    const b = sample([64, 64], dtype, 8);
    await a.data();
    await b.data();
    backend.pool.resetPeak();
    const before = backend.stats();
    const c = a.mul(b);
    const after = backend.stats();
    expect(after.dispatches - before.dispatches).toBe(1);
    expect(after.peakBytesInUse - before.bytesInUse).toBe(64 * 64 * 2);
    await c.data();
  });
});

describe('reductions read half operands in place, with the bits of the float32 kernel on widened copies', () => {
  // Sums over short (a thread per output) and long (a workgroup per output) rows, max and min with
  // NaN-free samples, argmax; on a transposed view and an odd offset.
  const OPS: [string, (t: Tensor) => Tensor][] = [
    ['sum over rows', (t) => t.sum(0)],
    ['sum over 300 columns (a workgroup per output)', (t) => t.sum(1)],
    ['sum of all', (t) => t.sum()],
    ['max', (t) => t.max(0)],
    ['min', (t) => t.min(1)],
    ['argmax', (t) => t.argmax(1)],
  ];
  const VIEWS: [string, (t: Tensor) => Tensor][] = [
    ['contiguous', (t) => t],
    ['transposed', (t) => t.t()],
    ['odd offset', (t) => t.narrow(1, 1, 299)],
  ];
  it.each(HALVES.flatMap((d) => OPS.flatMap(([op, f]) => VIEWS.map(([v, view]) => [`${d}: ${op}, ${v}`, d, f, view] as const))))('%s', async (_, dtype, f, view) => {
    const base = sample([40, 300], dtype, 14);
    const got = f(view(base));
    const wide = f(view(base.to('float32')));
    if (got.dtype === 'int32') expect(Array.from(await got.data())).toEqual(Array.from(await wide.data()));
    else expect(await bitsOf(got)).toEqual(await bitsOf(wide.to(dtype)));
  });

  it.each(HALVES)('%s: a sum is one reduction and one narrowing, no widened copy', async (dtype) => {
    const a = sample([256, 64], dtype, 15);
    await a.data();
    backend.pool.resetPeak();
    const before = backend.stats();
    const s = a.sum(0);
    const after = backend.stats();
    expect(after.dispatches - before.dispatches).toBe(2);
    // The float32 sums (256 B: the pool's smallest class) and the half result (256 B).
    expect(after.peakBytesInUse - before.bytesInUse).toBe(512);
    await s.data();
  });
});

describe('the fused attention reads half operands in place, with the bits of its float32 kernels on widened copies', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });
  // q, k and v as strided views into one [B, L, 3, H, E] projection (odd element offsets for k), a
  // half float mask broadcast over the batch with −∞ entries, causal; E = Ev = 25, L = S = 70.
  const [B, L, H, E] = [2, 70, 3, 25];
  function operands(dtype: HalfDType) {
    const qkv = sample([B, L, 3, H, E], dtype, 21).mul(0.3).permute([2, 0, 3, 1, 4]);
    const [q, k, v] = [0, 1, 2].map((i) => qkv.select(0, i));
    const u = sample([1, H, L, L], dtype, 22).to('float32');
    const mask = u.where(u.gt(-2), -Infinity).to(dtype).expand([B, H, L, L]);
    return { q, k, v, mask };
  }
  const bits = async (st: Storage, n: number) => Array.from(new Uint32Array(((await backend.read(st, 0, n)) as Float32Array).buffer));
  const wide = (v: View): View => ({ storage: backend.cast(v, 'float32'), dtype: 'float32', shape: v.shape, strides: [v.shape[1] * v.shape[2] * v.shape[3], v.shape[2] * v.shape[3], v.shape[3], 1], offset: 0 });

  it.each(HALVES)('%s: forward and backward', async (dtype) => {
    const { q, k, v, mask } = operands(dtype);
    const opts = { scale: 0.2, isCausal: true };
    const inputs = { query: q.toView(), key: k.toView(), value: v.toView(), mask: mask.toView() };
    const wideInputs = { query: wide(inputs.query), key: wide(inputs.key), value: wide(inputs.value), mask: wide(inputs.mask) };
    const got = backend.attention(inputs, opts);
    const want = backend.attention(wideInputs, opts);
    const rows = B * H * L;
    expect(await bits(got.output, rows * E)).toEqual(await bits(want.output, rows * E));
    expect(await bits(got.logsumexp, rows)).toEqual(await bits(want.logsumexp, rows));
    // The backward on the half output and a half cotangent, against the widened ones.
    const shape = [B, H, L, E];
    const contiguous = [H * L * E, L * E, E, 1];
    const output = { storage: backend.cast({ storage: got.output, dtype: 'float32', shape, strides: contiguous, offset: 0 }, dtype), dtype, shape, strides: contiguous, offset: 0 };
    const gradOutput = sample(shape, dtype, 23).toView();
    const logsumexp = { storage: got.logsumexp, dtype: 'float32' as const, shape: [B, H, L], strides: [H * L, L, 1], offset: 0 };
    const g = backend.attentionBackward(inputs, { output, logsumexp, gradOutput }, opts);
    const gw = backend.attentionBackward(wideInputs, { output: wide(output), logsumexp, gradOutput: wide(gradOutput) }, opts);
    for (const name of ['query', 'key', 'value'] as const) expect(await bits(g[name], rows * E), name).toEqual(await bits(gw[name], rows * E));
  });

  it.each(HALVES)('%s: autograd hands the kernels the half views, widening none of them', async (dtype) => {
    const { q, k, v, mask } = operands(dtype);
    const [gq, gk, gv] = [q, k, v].map((t) => t.detach().requiresGrad_());
    const attention = vi.spyOn(backend, 'attention');
    const backward = vi.spyOn(backend, 'attentionBackward');
    const cast = vi.spyOn(backend, 'cast');
    const out = fusedAttention(gq, gk, gv, { scale: 0.2, isCausal: true, attnMask: mask });
    out.backward(sample(out.shape, dtype, 24));
    const [inputs] = attention.mock.calls[0];
    const [, saved] = backward.mock.calls[0];
    for (const view of [inputs.query, inputs.key, inputs.value, inputs.mask!, saved.output, saved.gradOutput]) expect(view.dtype).toBe(dtype);
    // Casts round the float32 results (the output, then dq, dk, dv) into half: none widens.
    expect(cast.mock.calls.filter(([src, to]) => isHalf(src.dtype) && to === 'float32')).toEqual([]);
    expect(cast.mock.calls.filter(([src]) => src.dtype === 'float32').map(([, to]) => to)).toEqual([dtype, dtype, dtype, dtype]);
    expect(gq.grad!.dtype).toBe(dtype);
    await gq.grad!.data();
  });
});

describe('a contiguous half tensor cast to float32 is widened into the result', () => {
  it.each(HALVES)('%s: one dispatch, only the float32 result allocated, the CPU widening bit for bit', async (dtype) => {
    const a = sample([64, 64], dtype, 13);
    await a.data();
    backend.pool.resetPeak();
    const before = backend.stats();
    const f = a.to('float32');
    const after = backend.stats();
    expect(after.dispatches - before.dispatches).toBe(1);
    expect(after.peakBytesInUse - before.bytesInUse).toBe(64 * 64 * 4);
    const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));
    expect(bits((await f.data()) as Float32Array)).toEqual(bits((await a.cpu()).to('float32').dataSync() as Float32Array));
  });
});

describe('past the binding limit (lowered to 1 MiB): split into chunks of packed words, or widened', () => {
  let capped: WebGPUBackend;
  beforeAll(() => {
    // The test device's half path (native on lavapipe), so both paths run split.
    capped = new WebGPUBackend(backend.gpu, 'capped for tests', {}, { maxStorageBufferBindingSize: 1 << 20, maxBufferSize: 64 << 20 }, backend.halfPath);
    registerBackend(capped);
  });
  afterAll(() => {
    registerBackend(backend);
  });

  it.each(HALVES)('%s: an elementwise op and a sum over 1.1M elements (three bindings of words), a matmul whose widened operand would not fit', async (dtype) => {
    // Widened copies of these would pass the limit (the widening binds a copy whole): in place, they run.
    const a = sample([1100, 1000], dtype, 9);
    const b = sample([1100, 1000], dtype, 10);
    // The CPU's half mul is float32's rounded once, as here (exact IEEE products: the same bits).
    expect(await bitsOf(a.mul(b))).toEqual(halfBits((await a.cpu()).mul(await b.cpu())));
    // The float32 product of the same values on this capped device (row blocks of A), rounded.
    const x = sample([1100, 300], dtype, 11);
    const w = sample([300, 20], dtype, 12);
    const wide = async (t: Tensor) => (await t.cpu()).to('float32').to('webgpu');
    expect(await bitsOf(x.matmul(w))).toEqual(await bitsOf((await wide(x)).matmul(await wide(w)).to(dtype)));
    // A sum in blocks of rows (the same blocks as float32's, which count elements), then over the blocks.
    expect(await bitsOf(a.sum(0))).toEqual(await bitsOf((await wide(a)).sum(0).to(dtype)));
  });

  it.each(HALVES)('%s: casts past the limit (a 1.2 MB float32 tensor to half and back, a view at an odd offset widened) run in chunks, the CPU\u2019s bits', async (dtype) => {
    const gen = new Generator(15);
    const values = Float32Array.from({ length: 700 * 500 }, () => gen.normal() * 3);
    // In both rounding chunks (the first holds 262,016 values).
    [Infinity, -Infinity, NaN, 1e-6, -0, 70000].forEach((v, i) => (values[i * 60_001] = v));
    const f = tensor(values).reshape([700, 500]);
    const before = capped.stats().dispatches;
    const half = f.to('webgpu').to(dtype);
    // 350,000 float32 values in bindings of at most 1 MiB (262,080 values each): two rounding dispatches.
    expect(capped.stats().dispatches - before).toBe(2);
    expect(await bitsOf(half)).toEqual(halfBits(f.to(dtype)));
    // Back to float32 whole (two widening dispatches), and from element 1 (an odd offset: a view whose
    // first element is the upper half of a word) of a 349,999-element slice.
    const wideBits = async (t: Tensor) => Array.from(new Uint32Array(((await t.data()) as Float32Array).buffer));
    const cpuBits = (t: Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
    const d0 = capped.stats().dispatches;
    const wide = half.to('float32');
    expect(capped.stats().dispatches - d0).toBe(2);
    expect(await wideBits(wide)).toEqual(cpuBits(f.to(dtype).to('float32')));
    // Rounding from element 3 of a float32 buffer (a window from an aligned word, in two chunks).
    const from3 = f.to('webgpu').reshape([-1]).narrow(0, 3, 349_997).to(dtype);
    expect(await bitsOf(from3)).toEqual(halfBits(f.reshape([-1]).narrow(0, 3, 349_997).to(dtype)));
    const slice = half.reshape([-1]).narrow(0, 1, 349_999);
    expect(await wideBits(slice.to('float32'))).toEqual(cpuBits(f.to(dtype).reshape([-1]).narrow(0, 1, 349_999).to('float32')));
  });

  it.each(HALVES)('%s: a product whose float32 C would pass the limit (its half C does not) runs in blocks of rows narrowed into C', async (dtype) => {
    // C: 600·500 elements, 1.2 MB in float32, 600 KB in half. It runs as float32 computes it (two
    // blocks of 300 rows), each block rounded as it is copied into C: matmul, copy, matmul, copy.
    const x = sample([600, 64], dtype, 13);
    const w = sample([64, 500], dtype, 14);
    const before = capped.stats().dispatches;
    const got = x.matmul(w);
    expect(capped.stats().dispatches - before).toBe(4);
    // The float32 product of the same values on this device, rounded on the CPU (its float32 C cannot
    // be narrowed here: a narrowing binds it whole).
    const wide = async (t: Tensor) => (await t.cpu()).to('float32').to('webgpu');
    const want = (await wide(x)).matmul(await wide(w));
    expect(await bitsOf(got)).toEqual(halfBits((await want.cpu()).to(dtype)));
  });
});
