import { beforeAll, describe, expect, it } from 'vitest';
import { autocast, manualSeed, matmulAdd, randint, tensor, type Tensor } from '@tsgrad/autograd';
import { Linear, functional as F } from '@tsgrad/nn';
import type { HalfDType } from '@tsgrad/tensor';
import { gpu } from './gpu.js';

/**
 * A half bias joins before the one rounding on WebGPU too (PyTorch's addmm): F.linear, F.conv2d and
 * matmulAdd give the CPU's bits, which nn/test/bias-rounding.test.ts checks against a float64
 * reference. Rounding the product first (the code before) differs in many elements.
 */

beforeAll(async () => {
  await gpu();
}, 60_000);

/** Values k/2^shift, |k| < 128, in `dtype` (exact there), as a tensor of `shape`. */
function dyadic(shape: number[], dtype: HalfDType, shift: number): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(Array.from(randint(-127, 128, [n]).dataSync(), (k) => k / 2 ** shift), { dtype }).reshape(shape);
}

/** A run's values on the CPU and on WebGPU (half values widen exactly: equal values, equal bits here, no NaN). */
const equalOnDevices = async (run: (device: 'cpu' | 'webgpu') => Tensor) => {
  const cpu = await run('cpu').to('float32').data();
  const gpuValues = await run('webgpu').to('float32').data();
  return { cpu: Array.from(cpu), gpu: Array.from(gpuValues) };
};

describe('a half bias joins before the one rounding on webgpu', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    it(`${dtype}: F.linear and matmulAdd give the CPU's values; product-then-bias differs`, async () => {
      manualSeed(3);
      const x = dyadic([2, 16, 8], dtype, 6);
      const w = dyadic([12, 8], dtype, 7);
      const b = dyadic([12], dtype, 9);
      const on = (d: 'cpu' | 'webgpu') => [x.to(d), w.to(d), b.to(d)] as const;
      const linear = await equalOnDevices((d) => F.linear(...on(d)));
      expect(linear.gpu).toEqual(linear.cpu);
      const add = await equalOnDevices((d) => {
        const [xd, wd, bd] = on(d);
        return matmulAdd(xd, wd.t(), bd.reshape([1, 12]));
      });
      expect(add.gpu).toEqual(linear.cpu);
      const twice = await equalOnDevices((d) => {
        const [xd, wd, bd] = on(d);
        return xd.matmul(wd.t()).add(bd);
      });
      expect(twice.gpu.filter((v, i) => v !== linear.cpu[i]).length).toBeGreaterThan(10);
    });

    it(`${dtype}: F.conv2d with a bias (groups 1 and 2) gives the CPU's values`, async () => {
      manualSeed(11);
      for (const groups of [1, 2]) {
        const x = dyadic([2, 4, 3, 3], dtype, 6);
        const w = dyadic([6, 4 / groups, 2, 2], dtype, 7);
        const b = dyadic([6], dtype, 9);
        const args = { stride: [1, 1] as [number, number], padding: [0, 0] as [number, number], dilation: [1, 1] as [number, number], groups };
        const r = await equalOnDevices((d) => F.conv2d(x.to(d), w.to(d), b.to(d), args));
        expect(r.gpu).toEqual(r.cpu);
      }
    });
  }

  it('Linear under bfloat16 autocast on webgpu: 1·1 + 1·2^-8 + 2^-9 is 1.0078125, not 1', async () => {
    const lin = new Linear(2, 1);
    lin.weight.setData(tensor([[1, 2 ** -8]]));
    lin.bias!.setData(tensor([2 ** -9]));
    lin.to('webgpu');
    const y = autocast({ device: 'webgpu', dtype: 'bfloat16' }, () => lin.forward(tensor([[1, 1]]).to('webgpu')));
    expect(y.dtype).toBe('bfloat16');
    // bfloat16's 8 bits: 1 + 2^-8 + 2^-9 rounds up to 1 + 2^-7; 1 + 2^-8 alone ties to even, 1.
    expect(Array.from(await y.to('float32').data())).toEqual([1.0078125]);
  });
});
