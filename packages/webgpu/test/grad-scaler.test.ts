import { beforeAll, describe, expect, it, vi } from 'vitest';
import { scope, tensor } from '@tsgrad/autograd';
import { GradScaler, SGD } from '@tsgrad/optim';
import { referenceTrajectory, relativeDistance, SCALER_CASES } from '@tsgrad/test-utils';
import { gpu, values } from './gpu.js';

beforeAll(async () => {
  await gpu();
}, 60_000);

/**
 * GradScaler on WebGPU gradients (float32): the trajectory with forced overflows of the CPU test,
 * against the same naive float64 reference of PyTorch 2.x: identical scales and skipped steps,
 * parameters to float32 precision; and the inf checks read once per device per step.
 */
describe('GradScaler on webgpu', () => {
  it('overflows, NaN and growth: scales and skipped steps identical to the reference', async () => {
    const c = SCALER_CASES[0];
    const expected = referenceTrajectory(c);
    const backend = await gpu();
    const w = tensor(c.w0, { device: 'webgpu', requiresGrad: true });
    const opt = new SGD([w], { lr: c.lr, momentum: c.momentum });
    const scaler = new GradScaler(c.options);
    const read = vi.spyOn(backend, 'read');
    try {
      for (const [step, a] of c.coefficients.entries()) {
        opt.zeroGrad();
        scope(() => scaler.scale(tensor(a, { device: 'webgpu' }).mul(w).mul(w).sum()).backward());
        // A refused synchronous step changes nothing (unscale_ is still allowed after it).
        if (step === 0) expect(() => scaler.step(opt)).toThrow(/use await scaler.stepAsync\(optimizer\)/);
        if (step === 0 || step % 2 === 1) scaler.unscale_(opt);
        read.mockClear();
        await scaler.stepAsync(opt);
        scaler.update();
        expect(read, `reads in step ${step}`).toHaveBeenCalledTimes(1);
        expect(scaler.getScale(), `scale after step ${step}`).toBe(expected.scales[step]);
        expect(relativeDistance(await values(w), expected.params[step]), `params after step ${step}`).toBeLessThan(1e-5);
      }
    } finally {
      read.mockRestore();
    }
  });

  it('one read for many gradients on one device; unscale_ multiplies by the float32 1/scale', async () => {
    const backend = await gpu();
    const data = [[1.5, -2], [3, 1e-3, 7], [0.25]];
    const params = data.map((d) => tensor(d, { device: 'webgpu', requiresGrad: true }));
    const opt = new SGD(params, { lr: 1 });
    const scaler = new GradScaler({ initScale: 3 });
    scaler.scale(params.map((p) => p.mul(p).sum()).reduce((x, y) => x.add(y))).backward();
    const read = vi.spyOn(backend, 'read');
    try {
      scaler.unscale_(opt);
      expect(read).not.toHaveBeenCalled();
      await scaler.stepAsync(opt);
      expect(read).toHaveBeenCalledTimes(1);
    } finally {
      read.mockRestore();
    }
    const inv = Math.fround(1 / 3);
    for (const [i, p] of params.entries()) {
      // grad 2·3·x rounded in float32, then times inv in float32; SGD with lr 1 subtracts it.
      const want = data[i].map((x) => Math.fround(Math.fround(x) - Math.fround(Math.fround(6 * Math.fround(x)) * inv)));
      expect(relativeDistance(await values(p.grad!), data[i].map((x) => Math.fround(Math.fround(6 * Math.fround(x)) * inv))), `grad ${i}`).toBeLessThan(1e-7);
      expect(relativeDistance(await values(p), want), `param ${i}`).toBeLessThan(1e-6);
    }
  });
});
