import { tensor, type Tensor } from '@tsgrad/autograd';
import { getBackend, type HalfDType } from '@tsgrad/tensor';
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
