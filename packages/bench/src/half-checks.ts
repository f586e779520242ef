/**
 * float16 and bfloat16 on the adapter the packed benchmark finds (issue 25), checked against the CPU's
 * half results (themselves fixture-checked against PyTorch in the CI). The CI's WebGPU is SwiftShader,
 * which has no `shader-f16`, so there only the packed path runs; on a GPU with the feature these
 * checks are the native path's test. Every check is a count of elements off, with limit 0, except the
 * products and sums, whose summation order differs: those are relative errors against float64.
 */
import { binaryOp, tensor, unaryOp, Generator, type Tensor } from '@tsgrad/autograd';
import { BINARY_OPS, HALF_CODECS, UNARY_OPS, bfloat16Bits, float16Bits, getBackend, type BinaryOp, type HalfDType, type UnaryOp } from '@tsgrad/tensor';
import type { WebGPUBackend } from '@tsgrad/webgpu';

/** Records one check: `value` must be at most `limit`. */
export type Check = (name: string, value: number, limit: number) => void;

const HALVES: HalfDType[] = ['float16', 'bfloat16'];
/** Ops whose float32 kernels round correctly (or exactly) on every device: their half bits must agree. */
const EXACT = new Set<string>(['neg', 'relu', 'abs', 'sqrt', 'sign', 'logicalNot', 'hardtanh', 'leakyRelu', 'add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge']);

const isNaNBits = (dtype: HalfDType, b: number) => Number.isNaN(HALF_CODECS[dtype].decode(b));
/** Units in the last place between two half patterns (ordered like their values within a sign). */
const ulps = (a: number, b: number) => ((a ^ b) & 0x8000 ? (a & 0x7fff) + (b & 0x7fff) : Math.abs(a - b));
/** A bfloat16 subnormal is a float32 subnormal, which WGSL lets a device flush to ±0. */
const bf16Subnormal = (b: number) => (b & 0x7f80) === 0 && (b & 0x7f) !== 0;

/** The 16-bit patterns of a CPU half tensor. */
function bits(t: Tensor): Uint16Array {
  const c = t.contiguous();
  return Uint16Array.from(getBackend('cpu').readSync!(c.storage, c.storageOffset(), c.numel()));
}

/**
 * The absolute difference below which two transcendental results agree whatever their ulps: GELU's
 * x/2 (1 + erf(x/√2)), PyTorch's formula, cancels for x < −4, where float32's erf error (~1e-7 near −1)
 * is many float16 subnormal ulps (6e-8), and the two devices' float32 erf differ there by that much.
 */
const FLOAT32_NOISE = 2 ** -20;

/**
 * Elements of `got` more than `tol` ulps from `want` (NaN equals NaN; a flushed bfloat16 subnormal is
 * allowed; with `tol` > 0, a difference under FLOAT32_NOISE is too).
 */
function off(dtype: HalfDType, got: Uint16Array, want: Uint16Array, tol: number): number {
  const value = HALF_CODECS[dtype].decode;
  let n = 0;
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], want[i]];
    if (g === w) continue;
    if (isNaNBits(dtype, w)) {
      if (!isNaNBits(dtype, g)) n++;
      continue;
    }
    if (isNaNBits(dtype, g)) n++;
    else if (dtype === 'bfloat16' && bf16Subnormal(w) && (g & 0x7fff) === 0) continue;
    else if (ulps(g, w) > tol && !(tol > 0 && Math.abs(value(g) - value(w)) <= FLOAT32_NOISE)) n++;
  }
  return n;
}

/** Random half values (normal, scale 3) with NaN and ±∞ at every 7th element where asked. */
function sample(n: number, dtype: HalfDType, seed: number, specials: boolean): Tensor {
  const gen = new Generator(seed);
  const v = Float32Array.from({ length: n }, (_, i) => (specials && i % 7 === 3 ? [NaN, Infinity, -Infinity][i % 3] : gen.normal() * 3));
  return tensor(v).to(dtype);
}

/**
 * ‖a − b‖ / ‖b‖, the packed benchmark's measure of every check against its reference.
 * @example relative([1, 2], [1, 2.002]) // ≈ 9e-4
 */
export function relative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/**
 * Runs the half checks on `backend` ('webgpu'), naming its half path in each check.
 * @example await halfChecks(backend, check) // "ok   float16 native: widen every pattern: 0 off (limit 0)"
 */
export async function halfChecks(backend: WebGPUBackend, check: Check): Promise<void> {
  const path = backend.halfPath;
  console.log(`half path: ${path} (shader-f16: ${backend.gpu.features.has('shader-f16')})`);
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  for (const dtype of HALVES) {
    const tag = `${dtype} ${path}`;
    // Widening: every pattern, by value (NaN as NaN; a flushed bfloat16 subnormal allowed).
    const h = tensor(all, { dtype });
    const wide = await h.to('webgpu').to('float32').data();
    const want = h.to('float32').dataSync();
    let wrong = 0;
    for (let i = 0; i < 65536; i++) {
      const [g, w] = [wide[i], want[i]];
      if (Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w))) continue;
      if (dtype === 'bfloat16' && bf16Subnormal(i) && g === 0) continue;
      wrong++;
    }
    check(`${tag}: widen every pattern to float32`, wrong, 0);
    // Narrowing: every float32 exponent with random significands and the halfway patterns.
    const gen = new Generator(7);
    const f32 = new Uint32Array(1 << 16);
    for (let i = 0; i < f32.length; i++) {
      const m = i % 3 === 0 ? 0x1000 | ((i >> 8) << 13) : gen.nextUint32() & 0x7fffff;
      f32[i] = ((i >> 15) << 31) | ((i & 0xff) << 23) | (m & 0x7fffff);
    }
    const values = new Float32Array(f32.buffer);
    const encode = dtype === 'float16' ? float16Bits : bfloat16Bits;
    const narrowed = bits(await tensor(values).to('webgpu').to(dtype).cpu());
    // A float32 subnormal input may be flushed to ±0 first: its half is then ±0 (float16's is ±0 anyway).
    const wantNarrow = Uint16Array.from(values, (v, i) => ((f32[i] & 0x7f800000) === 0 && narrowed[i] === (f32[i] >>> 16 & 0x8000) ? narrowed[i] : encode(v)));
    check(`${tag}: narrow 65536 float32 values (every exponent, halfway cases)`, off(dtype, narrowed, wantNarrow, 0), 0);

    // Every elementwise op: GPU against CPU, bit for bit where the float32 kernel rounds correctly.
    const x = sample(4096, dtype, 1, true);
    const y = sample(4096, dtype, 2, true);
    const [xg, yg] = [x.to('webgpu'), y.to('webgpu')];
    let [exactOff, nearOff] = [0, 0];
    const failures: string[] = [];
    const compare = async (name: string, cpu: Tensor, dev: Tensor) => {
      if (cpu.dtype === 'bool') {
        const [g, w] = [await dev.data(), cpu.dataSync()];
        let n = 0;
        for (let i = 0; i < w.length; i++) if (Number(w[i]) !== Number(g[i])) n++;
        exactOff += n;
        if (n) failures.push(`${name} ${n}`);
        return;
      }
      const n = off(dtype, bits(await dev.cpu()), bits(cpu), EXACT.has(name) ? 0 : 1);
      if (EXACT.has(name)) exactOff += n;
      else nearOff += n;
      if (n) failures.push(`${name} ${n}`);
    };
    for (const op of Object.keys(UNARY_OPS) as UnaryOp[]) await compare(op, unaryOp(op, x), unaryOp(op, xg));
    for (const op of Object.keys(BINARY_OPS) as BinaryOp[]) await compare(op, binaryOp(op, x, y), binaryOp(op, xg, yg));
    if (failures.length) console.log(`  ${tag} ops off: ${failures.join(', ')}`);
    check(`${tag}: correctly rounded elementwise ops bit for bit (4096 values with NaN, ±∞)`, exactOff, 0);
    check(`${tag}: transcendental elementwise ops within 1 ulp (or float32 noise, 2^-20)`, nearOff, 0);

    // Products and sums (float32 accumulation, one rounding): relative error against float64 of the
    // same half inputs, at most the dtype's unit roundoff (2^-11 float16, 2^-8 bfloat16) plus slack.
    const u = dtype === 'float16' ? 2 ** -11 : 2 ** -8;
    const a = sample(192 * 256, dtype, 3, false).reshape([192, 256]);
    const b = sample(256 * 160, dtype, 4, false).reshape([256, 160]);
    const ref = a.to('float64').matmul(b.to('float64')).dataSync();
    check(`${tag}: matmul 192×256×160 vs float64 (≤ 2u)`, relative(await a.to('webgpu').matmul(b.to('webgpu')).to('float32').data(), ref), 2 * u);
    const r = sample(64 * 1000, dtype, 5, false).reshape([64, 1000]);
    check(`${tag}: row sums [64, 1000] vs float64 (≤ 2u)`, relative(await r.to('webgpu').sum(1).to('float32').data(), r.to('float64').sum(1).dataSync()), 2 * u);
    check(`${tag}: softmax [64, 1000] vs float64 (≤ 2u)`, relative(await r.to('webgpu').softmax(1).to('float32').data(), r.to('float64').softmax(1).dataSync()), 2 * u);
  }
}
