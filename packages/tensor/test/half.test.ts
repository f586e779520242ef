import { describe, expect, it } from 'vitest';
import { bfloat16Bits, bfloat16Value, contiguousStrides, defineProgram, float16Bits, float16Value, getBackend, HALF_CODECS, promoteTypes, roundThroughHalf, roundsOnRead, toTyped, type HalfDType, type View } from '@tsgrad/tensor';

/**
 * The float16 / bfloat16 codecs against a naive float64 reference: decoding by the IEEE formula for every
 * one of the 65,536 patterns, encoding as the nearest value with ties to even (found by searching the
 * decoded table), for float32 inputs. PyTorch's casts themselves are checked in autograd's half.test.ts.
 */

/** The IEEE-754 value of `bits` for `exp` exponent bits and `man` significand bits, in float64. */
function naiveDecode(bits: number, exp: number, man: number): number {
  const sign = bits >> (exp + man) ? -1 : 1;
  const e = (bits >> man) & ((1 << exp) - 1);
  const m = bits & ((1 << man) - 1);
  const bias = (1 << (exp - 1)) - 1;
  if (e === (1 << exp) - 1) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** (1 - bias - man);
  return sign * (1 + m / 2 ** man) * 2 ** (e - bias);
}
const LAYOUT: Record<HalfDType, [number, number]> = { float16: [5, 10], bfloat16: [8, 7] };
const CODEC = { float16: { encode: float16Bits, decode: float16Value }, bfloat16: { encode: bfloat16Bits, decode: bfloat16Value } };

/** The nearest half value to a float32 `v` (ties to the even pattern, overflow past max + half an ulp to inf), by search. */
function naiveEncode(dtype: HalfDType, v: number): number {
  const [exp, man] = LAYOUT[dtype];
  const sign = v < 0 || Object.is(v, -0) ? 1 << (exp + man) : 0;
  const a = Math.abs(v);
  const inf = ((1 << exp) - 1) << man;
  // Positive finite patterns 0..inf-1 are increasing: binary search for the last one <= a.
  let lo = 0;
  let hi = inf - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (naiveDecode(mid, exp, man) <= a) lo = mid;
    else hi = mid - 1;
  }
  const below = naiveDecode(lo, exp, man);
  // Past the largest finite value, the next "value" is max + one ulp (IEEE rounding to infinity).
  const above = lo + 1 === inf ? below + (below - naiveDecode(lo - 1, exp, man)) : naiveDecode(lo + 1, exp, man);
  let r = lo;
  if (a - below > above - a || (a - below === above - a && (lo & 1) === 1)) r = lo + 1;
  return sign | r;
}

describe('half codecs (naive float64 reference)', () => {
  it.each(['float16', 'bfloat16'] as const)('%s decodes every pattern as the IEEE formula says', (dtype) => {
    const [exp, man] = LAYOUT[dtype];
    for (let b = 0; b < 65536; b++) {
      const want = naiveDecode(b, exp, man);
      const got = CODEC[dtype].decode(b);
      if (!(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)))) throw new Error(`${dtype} 0x${b.toString(16)}: ${got}, expected ${want}`);
    }
  });

  it.each(['float16', 'bfloat16'] as const)('%s encodes every non-NaN pattern back to itself, and NaN to a quiet NaN', (dtype) => {
    for (let b = 0; b < 65536; b++) {
      const v = CODEC[dtype].decode(b);
      if (Number.isNaN(v)) expect(Number.isNaN(CODEC[dtype].decode(CODEC[dtype].encode(v)))).toBe(true);
      else if (CODEC[dtype].encode(v) !== b) throw new Error(`${dtype} 0x${b.toString(16)} (${v}) encodes to 0x${CODEC[dtype].encode(v).toString(16)}`);
    }
  });

  it.each(['float16', 'bfloat16'] as const)('%s rounds float32 values to nearest even: halfway points, their neighbours and random values', (dtype) => {
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    const values: number[] = [];
    // Every halfway point between neighbours (and one float32 ulp either side) over a sweep of patterns.
    for (let b = 0; b < 65535; b += 7) {
      const [x, y] = [CODEC[dtype].decode(b), CODEC[dtype].decode(b + 1)];
      if (!Number.isFinite(x) || !Number.isFinite(y) || Math.sign(x) !== Math.sign(y)) continue;
      f32[0] = (x + y) / 2;
      values.push(f32[0]);
      u32[0] += 1;
      values.push(f32[0]);
      u32[0] -= 2;
      values.push(f32[0]);
    }
    let seed = 1;
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      u32[0] = seed ^ (seed << 7);
      if (!Number.isNaN(f32[0])) values.push(f32[0]);
    }
    values.push(65519.99609375, 65520, 3.4028234663852886e38, 1e-45, -1e-45, 2 ** -25, 2 ** -24 * 1.5);
    for (const v of values) {
      const got = CODEC[dtype].encode(v);
      const want = naiveEncode(dtype, v);
      if (got !== want) throw new Error(`${dtype}(${v}): 0x${got.toString(16)}, expected 0x${want.toString(16)}`);
    }
  });
});

describe('half storage on the CPU backend', () => {
  it('stores bits, casts through copy, and computes in float32 with one rounding', () => {
    const cpu = getBackend('cpu');
    const view = (s: ReturnType<typeof cpu.fromData>, dtype: View['dtype'], shape: number[]): View => ({ storage: s, dtype, shape, strides: contiguousStrides(shape), offset: 0 });
    const x = cpu.fromData(toTyped('float16', [1, 2049, -0.5]), 'float16');
    expect(Array.from(cpu.readSync!(x, 0, 3))).toEqual([0x3c00, 0x6800, 0xb800]); // 2049 rounds to 2048 (even)
    const wide = cpu.cast(view(x, 'float16', [3]), 'float64');
    expect(Array.from(cpu.readSync!(wide, 0, 3))).toEqual([1, 2048, -0.5]);
    const bf = cpu.cast(view(x, 'float16', [3]), 'bfloat16');
    expect(Array.from(cpu.readSync!(bf, 0, 3))).toEqual([0x3f80, 0x4500, 0xbf00]);
    const filled = cpu.full(2, 1 / 3, 'bfloat16');
    expect(Array.from(cpu.readSync!(filled, 0, 2))).toEqual([0x3eab, 0x3eab]);
    // 2048 + 1 in float32 is 2049, rounded once to float16: 2048 (ties to even).
    const sum = cpu.matmul({ storage: x, dtype: 'float16', shape: [1, 1, 2], strides: [3, 2, 1], offset: 0 }, { storage: cpu.fromData(toTyped('float16', [1, 1]), 'float16'), dtype: 'float16', shape: [1, 2, 1], strides: [2, 1, 1], offset: 0 });
    expect(Array.from(cpu.readSync!(sum, 0, 1))).toEqual([0x6800]);
  });

  it.each(['float16', 'bfloat16'] as const)('casts %s <-> float32 give the codecs\' values whether the rows are contiguous (array loops) or strided (a codec call an element)', (dtype) => {
    const cpu = getBackend('cpu');
    const [exp, man] = LAYOUT[dtype];
    const patterns = Uint16Array.from({ length: 65536 }, (_, b) => b);
    const halves = cpu.fromData(patterns, dtype);
    // The same 65,536 elements as one contiguous row, as 256 rows of 256 read in another order (a
    // permute keeping the last dim), and transposed (stride 256 along the rows: element by element).
    const layouts: [number[], number[]][] = [[[65536], [1]], [[16, 16, 256], [256, 4096, 1]], [[256, 256], [1, 256]]];
    const index = (shape: number[], strides: number[], k: number) => shape.reduceRight((acc, n, d) => ({ i: Math.floor(acc.i / n), at: acc.at + (acc.i % n) * strides[d] }), { i: k, at: 0 }).at;
    for (const [shape, strides] of layouts) {
      const wide = cpu.readSync!(cpu.cast({ storage: halves, dtype, shape, strides, offset: 0 }, 'float32'), 0, 65536) as Float32Array;
      const wideBits = new Uint32Array(wide.buffer, wide.byteOffset, wide.length);
      for (let k = 0; k < 65536; k++) {
        const b = index(shape, strides, k);
        const want = naiveDecode(b, exp, man);
        if (!(Object.is(wide[k], want) || (Number.isNaN(wide[k]) && Number.isNaN(want)))) throw new Error(`${dtype} 0x${b.toString(16)} at ${k} of ${JSON.stringify(shape)}: ${wide[k]}, expected ${want}`);
        // bfloat16 is float32's upper half: PyTorch's widening is the shift, NaN's sign and payload kept
        // (a signaling NaN too, which a JavaScript number would quiet).
        if (dtype === 'bfloat16' && wideBits[k] !== b << 16 >>> 0) throw new Error(`bfloat16 0x${b.toString(16)} widens to 0x${wideBits[k].toString(16)}`);
      }
    }
    // Narrowing: float32 bit patterns (random, NaN, ±inf, ±0, subnormals, halfway points) through the same layouts.
    const f32 = new Float32Array(65536);
    const u32 = new Uint32Array(f32.buffer);
    let seed = 7;
    for (let k = 0; k < 65536; k++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      u32[k] = k < 64 ? [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x00000001, 0x80800000][k % 8] + (k >> 3) : seed ^ (seed << 9);
    }
    f32.set([65520, 65519.99609375, 2 ** -25, 2 ** -24 * 1.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8], 64);
    const floats = cpu.fromData(f32, 'float32');
    for (const [shape, strides] of layouts) {
      const bits = cpu.readSync!(cpu.cast({ storage: floats, dtype: 'float32', shape, strides, offset: 0 }, dtype), 0, 65536);
      for (let k = 0; k < 65536; k++) {
        const want = CODEC[dtype].encode(f32[index(shape, strides, k)]);
        if (bits[k] !== want) throw new Error(`${dtype}(${f32[index(shape, strides, k)]}) at ${k} of ${JSON.stringify(shape)}: 0x${bits[k].toString(16)}, expected 0x${want.toString(16)}`);
      }
    }
  });

  it.each(['float16', 'bfloat16'] as const)('a rounding view (float32 storage read as %s) multiplies as its cast: the naive rounding of every element, the bits of the cast\'s product, strided and offset views, special values', (dtype) => {
    const cpu = getBackend('cpu');
    expect(cpu.capabilities.matmulRoundsOnRead).toBe(true);
    // Random float32 bit patterns (most between two half values), then NaN, ±inf, values that round to
    // ±inf in float16, halfway points, float16 subnormals, ±0.
    const n = 2 + 6 * 9;
    const f32 = new Float32Array(n);
    const u32 = new Uint32Array(f32.buffer);
    let seed = 11;
    for (let k = 0; k < n; k++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      u32[k] = (seed & 0xbfffffff) | 0x38000000; // magnitudes around 2^-15 .. 2^+16
    }
    f32.set([NaN, Infinity, -Infinity, 65520, -65520, 1 + 2 ** -8, 2049, 2 ** -24 * 1.5, -0, 0, 3e38], 5);
    const rounded = new Float32Array(n);
    roundThroughHalf(dtype, f32, rounded);
    const [exp, man] = LAYOUT[dtype];
    f32.forEach((v, k) => {
      const want = Number.isFinite(v) ? naiveDecode(naiveEncode(dtype, v), exp, man) : v; // NaN and ±inf stay
      if (!(Object.is(rounded[k], want) || (Number.isNaN(rounded[k]) && Number.isNaN(want)))) throw new Error(`${dtype}: ${v} rounds to ${rounded[k]}, expected ${want}`);
    });
    // The float32 batch as matmul's left operand at an offset (rows 1.. of a larger storage), plain
    // and transposed, and as the right operand; the other operand half. The reference: the same
    // view of the cast of those float32 values (what autocast's backward read before).
    const storage = cpu.fromData(f32, 'float32');
    const cast = cpu.cast({ storage, dtype: 'float32', shape: [n], strides: [1], offset: 0 }, dtype);
    const other = cpu.fromData(toTyped(dtype, Array.from({ length: 54 }, (_, k) => ((k * 7) % 13) - 6.5)), dtype);
    const layouts: { a: Omit<View, 'storage' | 'dtype'>; b: Omit<View, 'storage' | 'dtype'>; roundingIs: 'a' | 'b' }[] = [
      { a: { shape: [1, 6, 9], strides: [54, 9, 1], offset: 2 }, b: { shape: [1, 9, 6], strides: [54, 6, 1], offset: 0 }, roundingIs: 'a' },
      { a: { shape: [1, 9, 6], strides: [54, 1, 9], offset: 2 }, b: { shape: [1, 6, 9], strides: [54, 9, 1], offset: 0 }, roundingIs: 'a' },
      { a: { shape: [2, 3, 9], strides: [27, 9, 1], offset: 0 }, b: { shape: [2, 9, 6], strides: [0, 6, 1], offset: 2 }, roundingIs: 'b' },
    ];
    for (const { a, b, roundingIs } of layouts) {
      const view = (s: typeof storage, d: View['dtype'], v: Omit<View, 'storage' | 'dtype'>): View => ({ storage: s, dtype: d, ...v });
      const [rounding, castView] = [view(storage, dtype, roundingIs === 'a' ? a : b), view(cast, dtype, roundingIs === 'a' ? a : b)];
      expect(roundsOnRead(rounding) && !roundsOnRead(castView)).toBe(true);
      const half = view(other, dtype, roundingIs === 'a' ? b : a);
      const got = roundingIs === 'a' ? cpu.matmul(rounding, half) : cpu.matmul(half, rounding);
      const want = roundingIs === 'a' ? cpu.matmul(castView, half) : cpu.matmul(half, castView);
      expect(got.dtype).toBe(dtype);
      const [g, w] = [cpu.readSync!(got, 0, got.size), cpu.readSync!(want, 0, want.size)];
      expect(Array.from(g)).toEqual(Array.from(w));
      // The special values reach the product: NaN and ±inf (bfloat16 has no rounding to inf here).
      expect(Array.from(g).some((bits) => (bits & 0x7fff) > (dtype === 'float16' ? 0x7c00 : 0x7f80)), 'NaN').toBe(true);
    }
  });

  it('promotes as PyTorch: float16 with bfloat16 is float32, half beats int and bool, loses to float32 and float64', () => {
    expect(promoteTypes('float16', 'bfloat16')).toBe('float32');
    expect(promoteTypes('bfloat16', 'float16')).toBe('float32');
    expect(promoteTypes('int32', 'float16')).toBe('float16');
    expect(promoteTypes('bool', 'bfloat16')).toBe('bfloat16');
    expect(promoteTypes('float16', 'float32')).toBe('float32');
    expect(promoteTypes('bfloat16', 'float64')).toBe('float64');
    expect(promoteTypes('float16', 'float16')).toBe('float16');
  });
});

describe('fused programs (optimizer steps) on half streams', () => {
  // p = p·(1 − lr·wd) − lr·m; m = 0.9·m + g: the whole body in float32 on widened values, each written
  // half stream rounded once (PyTorch's fused CPU optimizers), against a float64 loop over the same
  // widened values with one rounding to float32 per write (as the float32 rendering stores) and one to half.
  const program = defineProgram({ name: 'half-momentum', read: ['g'], write: ['m', 'p'], scalars: ['lr', 'wd'], body: 'm = 0.9 * m + g\n p = p * (1 - lr * wd) - lr * m' });
  const cpu = getBackend('cpu');
  const view = (dtype: 'float16' | 'bfloat16' | 'float32', values: number[], offset = 0, strides?: number[]): View => {
    const n = offset + values.length;
    const data = dtype === 'float32' ? new Float32Array(n) : new Uint16Array(n);
    values.forEach((v, i) => (data[offset + i] = dtype === 'float32' ? v : HALF_CODECS[dtype].encode(v)));
    const shape = strides ? [values.length / 2, 2] : [values.length];
    return { storage: cpu.fromData(data, dtype), dtype, shape, strides: strides ?? contiguousStrides(shape), offset };
  };
  const read = (v: View) => Array.from(cpu.readSync!(v.storage, v.offset, v.shape.reduce((a, b) => a * b, 1)), (x) => (v.dtype === 'float32' ? Number(x) : HALF_CODECS[v.dtype as HalfDType].decode(Number(x))));

  it.each(['float16', 'bfloat16'] as const)('%s parameter, with half or float32 state, at an offset', (dtype) => {
    const round = (x: number) => HALF_CODECS[dtype].decode(HALF_CODECS[dtype].encode(x));
    const pv = [0.3, -1.7, 2.2, 1e-3, 5, -0.01].map(round);
    const gv = [0.11, 0.5, -0.25, 3e-4, -2, 0.07].map(round);
    const mv = [0.02, -0.3, 0.7, 0, 1, -0.5];
    for (const stateDtype of [dtype, 'float32'] as const) {
      const p = view(dtype, pv, 3);
      const m = view(stateDtype, stateDtype === 'float32' ? mv : mv.map(round));
      expect(cpu.runProgram(program, [{ streams: { p, g: view(dtype, gv), m }, scalars: { lr: 0.1, wd: 0.01 } }])).toBe(true);
      const m0 = mv.map(stateDtype === 'float32' ? Math.fround : round);
      const m32 = m0.map((x, i) => Math.fround(0.9 * x + gv[i]));
      const p32 = pv.map((x, i) => Math.fround(x * (1 - 0.1 * 0.01) - 0.1 * m32[i]));
      expect(read(p)).toEqual(p32.map(round));
      expect(read(m)).toEqual(stateDtype === 'float32' ? m32 : m32.map(round));
    }
  });

  it('returns false for a non-contiguous half view (the caller steps contiguous copies)', () => {
    const p = view('float16', [1, 2, 3, 4], 0, [1, 2]);
    expect(cpu.runProgram(program, [{ streams: { p, g: view('float16', [1, 1, 1, 1]), m: view('float16', [0, 0, 0, 0]) }, scalars: { lr: 0.1, wd: 0 } }])).toBe(false);
    expect(read({ ...p, shape: [4], strides: [1] })).toEqual([1, 2, 3, 4]);
  });
});
