import { describe, expect, it } from 'vitest';
import { manualSeed, randn } from '@tsgrad/autograd';
import { LAMB } from '@tsgrad/optim';

/** LAMB's defining property: each layer moves by lr times its own norm, in the direction of its update. */
describe('LAMB', () => {
  it("scales each tensor's update by its trust ratio ‖θ‖ / ‖u‖ (first step: u = g / (|g| + ε) + λθ)", () => {
    manualSeed(9);
    const [lr, eps, wd] = [0.01, 1e-6, 0.1];
    const layers = [randn([4, 5], { dtype: 'float64' }).mul(3).requiresGrad_(), randn([5], { dtype: 'float64' }).mul(0.01).requiresGrad_()];
    const before = layers.map((p) => Array.from(p.dataSync()));
    const grads = layers.map((p) => randn(p.shape, { dtype: 'float64' }).mul(100));
    layers.forEach((p, k) => (p.grad = grads[k]));
    new LAMB(layers, { lr, eps, weightDecay: wd }).step();
    layers.forEach((p, k) => {
      const theta = before[k];
      const g = Array.from(grads[k].dataSync());
      const u = g.map((gi, i) => gi / (Math.abs(gi) + eps) + wd * theta[i]);
      const norm = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0));
      const ratio = norm(theta) / norm(u);
      const moved = Array.from(p.dataSync()).map((v, i) => theta[i] - v);
      // The step is lr · ratio · u, so its norm is lr · ‖θ‖: every layer moves by lr of its own size.
      moved.forEach((m, i) => expect(Math.abs(m - lr * ratio * u[i])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(theta[i]))));
      expect(Math.abs(norm(moved) - lr * norm(theta))).toBeLessThan(1e-12 * norm(theta) + 1e-15);
    });
  });
});
