import { tensor, type Tensor } from '@tsgrad/autograd';
import { HALF_CODECS, getBackend, type HalfDType } from '@tsgrad/tensor';
import { loadFixture } from './fixtures.js';
import type { PromotionCase } from './promotion-cases.js';

/** A number of a fixture: finite, or the strings "NaN", "Infinity", "-Infinity". */
export type FixtureNumber = number | string;

/** One case of half-casts.json: `value` (given as a Python float, or a float64 / float32 tensor) cast to `dtype`. */
export interface HalfCastCase {
  value: FixtureNumber;
  from: 'python' | 'float64' | 'float32';
  dtype: HalfDType;
  /** PyTorch's result, as its 16 bits. */
  bits: number;
}

/**
 * One case of half-ops.json (scripts/gen_half_fixtures.py): an elementwise op, a reduction, a matmul
 * or a gradient on half inputs given as bits, and PyTorch's result (bits, or 0/1 and indices for
 * comparisons and argmax). `via: 'float32'` marks a reference computed in float32 and rounded (torch
 * 1.13 has no CPU kernel there; 2.x computes that way). `exact: false` allows `tol` units in the last place.
 */
export interface HalfOpCase {
  kind: 'elementwise' | 'reduce' | 'matmul' | 'grad';
  op?: string;
  dtype: HalfDType;
  via: 'torch' | 'float32';
  x?: number[];
  y?: number[];
  w?: number[];
  a?: number[];
  b?: number[];
  aShape?: number[];
  bShape?: number[];
  shape?: number[];
  dim?: number | null;
  out: number[];
  exact?: boolean;
  tol?: number;
  why?: string;
}

/** A tensor of half-safetensors.json: F16/BF16 as bits, F32 as numbers. */
export interface HalfFileTensor {
  dtype: 'F16' | 'BF16' | 'F32';
  shape: number[];
  bits?: number[];
  data?: FixtureNumber[];
  /** readBack only: the values torch widens them to. */
  values?: FixtureNumber[];
}

/** half-safetensors.json: what half-from-torch.safetensors holds, and what torch read from half-from-tsgrad.safetensors. */
export interface HalfSafetensorsFixture {
  fromTorch: Record<string, HalfFileTensor>;
  readBack?: Record<string, HalfFileTensor>;
}

/**
 * The number a fixture number stands for.
 * @example fixtureNumber('-Infinity') // -Infinity
 */
export function fixtureNumber(v: FixtureNumber): number {
  return typeof v === 'number' ? v : Number(v);
}

/**
 * Every case of half-casts.json.
 * @example halfCastCases().filter((c) => c.dtype === 'bfloat16')
 */
export function halfCastCases(): HalfCastCase[] {
  return loadFixture<{ cases: HalfCastCase[] }>('half-casts.json').cases;
}

/**
 * Every case of half-ops.json.
 * @example halfOpCases().filter((c) => c.kind === 'reduce')
 */
export function halfOpCases(): HalfOpCase[] {
  return loadFixture<{ cases: HalfOpCase[] }>('half-ops.json').cases;
}

/**
 * The promotion cases with a float16 or bfloat16 operand (half-promotion.json), run by `checkPromotionCase`.
 * @example halfPromotionCases().length
 */
export function halfPromotionCases(): PromotionCase[] {
  return loadFixture<{ cases: PromotionCase[] }>('half-promotion.json').cases;
}

/**
 * half-safetensors.json.
 * @example Object.keys(halfSafetensorsFixture().fromTorch) // ['w16', 'wbf', 'special16', 'bias']
 */
export function halfSafetensorsFixture(): HalfSafetensorsFixture {
  return loadFixture<HalfSafetensorsFixture>('half-safetensors.json');
}

/**
 * The 16-bit patterns a CPU half tensor stores, row-major.
 * @example halfBits(tensor([1], { dtype: 'float16' })) // [0x3c00]
 */
export function halfBits(t: Tensor): number[] {
  if (t.dtype !== 'float16' && t.dtype !== 'bfloat16') throw new Error(`halfBits: expected a float16 or bfloat16 tensor, got ${t.dtype}`);
  const c = t.contiguous();
  return Array.from(getBackend('cpu').readSync!(c.storage, c.storageOffset(), c.numel()));
}

/**
 * A CPU half tensor holding `bits`, reshaped to `shape` (default 1-D).
 * @example halfFromBits([0x3c00], 'float16').item() // 1
 */
export function halfFromBits(bits: readonly number[], dtype: HalfDType, shape: readonly number[] = [bits.length]): Tensor {
  return tensor(Uint16Array.from(bits), { dtype }).reshape([...shape]);
}

/**
 * A half tensor multiplied or divided by a number (`run`, on the tensor's device), and the bits
 * PyTorch 2.x gives (BinaryOpsKernel.cpp's mul_kernel and div_true_kernel read the number as float32):
 * `want`, from a naive reference, the float32 operation `Math.fround(fround(x) op fround(s))` rounded
 * once by the codec. Rounding the number to half first (tsgrad before) fails every case; each one
 * names the elements where it does.
 */
export interface HalfScalarCase {
  name: string;
  dtype: HalfDType;
  /** The input's values (rounded into the dtype). */
  x: number[];
  run: (x: Tensor) => Tensor;
  /** Bits of the result, row-major. */
  want: number[];
}

const SCALAR_INPUTS: Record<HalfDType, number[]> = {
  float16: [1.5, -3, 65504, 0, 1e-3, 0.1, 2049, -7.25, 6e-8, 60000, Infinity, Number.NaN, 0.7, -13.3, 333, 0.0421, -1234.5, 7e-5],
  bfloat16: [5, 3, -1.5, 0.1, 1234.5, 3e38, -1e-38, 7, 1e-40, 255, -Infinity, Number.NaN, 0.7, -13.3, 333, 0.0421, -1234.5, 7e-5],
};

/** `op(x, s)` in float32 (each operand rounded to float32 first, one float32 rounding), then to half bits. */
function scalarReference(dtype: HalfDType, xs: readonly number[], op: 'mul' | 'div', s: number): number[] {
  const { encode, decode } = HALF_CODECS[dtype];
  const s32 = Math.fround(s);
  return xs.map((v) => {
    const x = decode(encode(v));
    return encode(Math.fround(op === 'mul' ? x * s32 : x / s32));
  });
}

/**
 * The cases of `HalfScalarCase`: mul and div by numbers that half cannot hold exactly (0.1, 1/3, 1e5,
 * which float16 overflows, -7.7e-3), out of place and in place on an every-other-element view.
 * @example halfScalarCases().filter((c) => c.dtype === 'bfloat16')
 */
export function halfScalarCases(): HalfScalarCase[] {
  const cases: HalfScalarCase[] = [];
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const xs = SCALAR_INPUTS[dtype];
    for (const op of ['mul', 'div'] as const) {
      for (const s of [0.1, 1 / 3, 1e5, -7.7e-3]) {
        cases.push({ name: `${dtype} x.${op}(${s})`, dtype, x: xs, run: (x) => x[op](s), want: scalarReference(dtype, xs, op, s) });
      }
    }
    // In place on a strided view: the elements it skips keep their bits.
    for (const [op, s] of [['mul_', 0.1], ['div_', 1 / 3]] as const) {
      const want = xs.map((v) => HALF_CODECS[dtype].encode(v));
      const every = scalarReference(dtype, xs, op === 'mul_' ? 'mul' : 'div', s);
      for (let i = 1; i < xs.length; i += 2) want[i] = every[i];
      cases.push({
        name: `${dtype} x.slice(0, 1, n, 2).${op}(${s})`,
        dtype,
        x: xs,
        run: (x) => {
          const y = x.clone();
          y.slice(0, 1, xs.length, 2)[op](s);
          return y;
        },
        want,
      });
    }
  }
  return cases;
}
