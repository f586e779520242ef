import { tensor, zeros, type Tensor } from '@tsgrad/autograd';
import { getBackend, type HalfDType } from '@tsgrad/tensor';

/**
 * Float -> int32 casts from every floating dtype, as PyTorch on x86 gives them (cvttss2si and
 * cvttsd2si): truncation toward zero, and INT32_MIN (the "integer indefinite") for NaN, ±inf and
 * every value whose truncation is outside [−2^31, 2^31). C++ leaves those undefined (CUDA
 * saturates); tsgrad follows x86 on every device. `want` is what torch 1.13 prints on x86, e.g.
 * `torch.tensor([0x4f00, 0x4f01], dtype=torch.int32).to(torch.int16).view(torch.bfloat16).to(torch.int32)`.
 * Half inputs are bits, so the values are exact (bfloat16 0x4f00 is 2^31, 0x4eff the largest below).
 */
export interface Int32CastCase {
  dtype: 'float32' | 'float64' | HalfDType;
  /** Values (float32, float64), or 16-bit patterns (float16, bfloat16). */
  input: readonly number[];
  want: readonly number[];
}

const MIN = -(2 ** 31);

export const INT32_CAST_CASES: readonly Int32CastCase[] = [
  {
    dtype: 'float32',
    input: [NaN, Infinity, -Infinity, 3e9, -3e9, 2 ** 31, 2147483520, -(2 ** 31), 2.7, -2.7, -0.5, 3.4028234663852886e38],
    want: [MIN, MIN, MIN, MIN, MIN, MIN, 2147483520, MIN, 2, -2, 0, MIN],
  },
  {
    dtype: 'float64',
    input: [NaN, Infinity, -Infinity, 3e9, -3e9, 2 ** 31, 2147483647.9, -2147483647.9, -2147483648.9, -2147483649, 2.7, -2.7],
    want: [MIN, MIN, MIN, MIN, MIN, MIN, 2147483647, -2147483647, MIN, MIN, 2, -2],
  },
  {
    // 2^31, above it, below −2^31, −2^31, ±(2^31 − 2^23), NaN, ±inf, ±2.703125, −0.
    dtype: 'bfloat16',
    input: [0x4f00, 0x4f01, 0xcf01, 0xcf00, 0x4eff, 0xceff, 0x7fc0, 0x7f80, 0xff80, 0x402d, 0xc02d, 0x8000],
    want: [MIN, MIN, MIN, MIN, 2139095040, -2139095040, MIN, MIN, MIN, 2, -2, 0],
  },
  {
    // NaN, ±inf, ±65504 (the largest finite), ±2.69921875, −0.
    dtype: 'float16',
    input: [0x7e00, 0x7c00, 0xfc00, 0x7bff, 0xfbff, 0x4166, 0xc166, 0x8000],
    want: [MIN, MIN, MIN, 65504, -65504, 2, -2, 0],
  },
];

/** The case's source tensor on `device`. */
function int32CastSource(c: Int32CastCase, device: Tensor['device']): Tensor {
  const src = c.dtype === 'float16' || c.dtype === 'bfloat16' ? tensor(Uint16Array.from(c.input), { dtype: c.dtype }) : tensor([...c.input], { dtype: c.dtype });
  return src.to(device);
}

/** One way of converting a case: what it is, its int32 result, and the values it must hold. */
export interface Int32CastRun {
  how: string;
  out: Tensor;
  want: readonly number[];
}

/**
 * The case converted on `device` three ways: `to('int32')`, `copy_` into the odd elements of an
 * int32 tensor (a strided view; the even ones must stay 0), and the backend's `copy` from the
 * floating view straight into an int32 one (`copy_` casts first, the half copies of a backend go
 * this way).
 * @example
 * for (const c of INT32_CAST_CASES) for (const r of int32CastRuns(c, 'cpu')) expect(Array.from(r.out.dataSync())).toEqual(r.want);
 */
export function int32CastRuns(c: Int32CastCase, device: Tensor['device']): Int32CastRun[] {
  const src = int32CastSource(c, device);
  const n = c.input.length;
  const strided = zeros([n, 2], { dtype: 'int32' }).to(device);
  strided.select(1, 1).copy_(src);
  const direct = zeros([n], { dtype: 'int32' }).to(device);
  getBackend(device).copy(src.toView(), direct.toView());
  return [
    { how: "to('int32')", out: src.to('int32'), want: c.want },
    { how: 'copy_ into a strided int32 view', out: strided, want: c.want.flatMap((w) => [0, w]) },
    { how: 'backend.copy', out: direct, want: c.want },
  ];
}
