import { afterEach, describe, expect, it } from 'vitest';
import { detectAnomaly, isAnomalyEnabled, setDetectAnomaly, tensor } from '@tsgrad/autograd';

/** PyTorch's detect_anomaly: the first non-finite gradient names the forward op and where it was created. */
describe('detectAnomaly', () => {
  afterEach(() => setDetectAnomaly(false));

  it('names the op whose gradient turned infinite, with the stack of its forward call', () => {
    const x = tensor([0, 4], { dtype: 'float64', requiresGrad: true });
    let message = '';
    try {
      detectAnomaly(() => x.sqrt().sum().backward());
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

  it('off (the default), the same graphs give PyTorch\'s non-finite gradients silently', () => {
    const x = tensor([0, 4], { dtype: 'float64', requiresGrad: true });
    x.sqrt().sum().backward();
    expect(x.grad!.tolist()).toEqual([Infinity, 0.25]);
    expect(() => detectAnomaly(async () => 0)).toThrow(/detectAnomaly: fn returned a Promise/);
  });
});
