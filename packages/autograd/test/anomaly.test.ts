import { afterEach, describe, expect, it } from 'vitest';
import { detectAnomaly, isAnomalyEnabled, setDetectAnomaly, tensor } from '@tsgrad/autograd';

/**
 * PyTorch's detect_anomaly: the first NaN gradient names the forward op and where it was created;
 * ±∞ gradients only with `checkInf` (PyTorch checks NaN only).
 */
describe('detectAnomaly', () => {
  afterEach(() => setDetectAnomaly(false));

  it('with checkInf, names the op whose gradient turned infinite, with the stack of its forward call', () => {
    const x = tensor([0, 4], { dtype: 'float64', requiresGrad: true });
    let message = '';
    try {
      detectAnomaly(() => x.sqrt().sum().backward(), { checkInf: true });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^backward: the gradient of sqrt \(input 0\) has infinite values \(element 0\); that sqrt was created at:\n/);
    expect(message).toContain('anomaly.test.ts');
    expect(x.grad).toBeNull(); // nothing was accumulated
    expect(isAnomalyEnabled()).toBe(false);
  });

  it('names the op whose gradient turned NaN (log at 0 behind a multiplication by 0)', () => {
    const x = tensor([0, 1], { dtype: 'float64', requiresGrad: true });
    setDetectAnomaly(true);
    const loss = x.log().mul(0).sum();
    expect(() => loss.backward()).toThrow(/the gradient of log \(input 0\) has NaN values/);
  });

  it("by default an infinite gradient is no anomaly, as in PyTorch: log at 0 gives 1/x = [inf, 0.25]", () => {
    for (const run of [(f: () => void) => detectAnomaly(f), (f: () => void) => (setDetectAnomaly(true), f())]) {
      const x = tensor([0, 4], { dtype: 'float64', requiresGrad: true });
      run(() => x.log().sum().backward());
      expect(x.grad!.tolist()).toEqual([1 / 0, 1 / 4]);
      setDetectAnomaly(false);
    }
    const y = tensor([0, 4], { dtype: 'float64', requiresGrad: true });
    setDetectAnomaly(true, { checkInf: true });
    expect(() => y.log().sum().backward()).toThrow(/the gradient of log \(input 0\) has infinite values \(element 0\)/);
  });

  it('checkNan: false (PyTorch\'s check_nan=False) records stacks but lets NaN through', () => {
    const x = tensor([0, 1], { dtype: 'float64', requiresGrad: true });
    detectAnomaly(() => x.log().mul(0).sum().backward(), { checkNan: false });
    // d/dx (0·log x) = 0/x: NaN at 0, 0 at 1.
    expect(x.grad!.tolist()).toEqual([NaN, 0]);
  });

  it('options are checked: an unknown key names the nearest valid one, a non-boolean is an Error', () => {
    expect(() => detectAnomaly(() => 0, { checkInfs: true } as never)).toThrow(/detectAnomaly.*checkInfs.*did you mean 'checkInf'/);
    expect(() => setDetectAnomaly(true, { check_nan: false } as never)).toThrow(/setDetectAnomaly.*check_nan.*checkNan/);
    expect(() => detectAnomaly(() => 0, { checkInf: 1 } as never)).toThrow(/detectAnomaly: checkInf must be true or false, got 1/);
    expect(isAnomalyEnabled()).toBe(false);
  });

  it('off (the default), the same graphs give PyTorch\'s non-finite gradients silently', () => {
    const x = tensor([0, 4], { dtype: 'float64', requiresGrad: true });
    x.sqrt().sum().backward();
    expect(x.grad!.tolist()).toEqual([Infinity, 0.25]);
    expect(() => detectAnomaly(async () => 0)).toThrow(/detectAnomaly: fn returned a Promise/);
  });
});
