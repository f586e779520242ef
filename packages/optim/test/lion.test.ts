import { describe, expect, it } from 'vitest';
import { manualSeed, randn } from '@tsgrad/autograd';
import { Lion } from '@tsgrad/optim';

/** Lion's defining property, and a naive float64 implementation of optax's `lion` (its formula as written). */
describe('Lion', () => {
  it('moves every element by exactly lr without decay, and by lr plus lr·λ·θ with it', () => {
    manualSeed(4);
    for (const weightDecay of [0, 0.1]) {
      const p = randn([1000], { dtype: 'float64' }).requiresGrad_();
      const before = Array.from(p.dataSync());
      p.grad = randn([1000], { dtype: 'float64' });
      new Lion([p], { lr: 0.01, weightDecay }).step();
      Array.from(p.dataSync()).forEach((v, i) => {
        const decayed = before[i] * (1 - 0.01 * weightDecay);
        // |θ' − θ(1 − γλ)| = γ, to the rounding of one subtraction.
        expect(Math.abs(Math.abs(v - decayed) - 0.01)).toBeLessThanOrEqual(4 * Number.EPSILON * Math.max(1, Math.abs(decayed)));
      });
    }
  });

  it("follows optax's lion (u = sign((1 − b1) g + b1 m) + λθ; θ −= γu; m = (1 − b2) g + b2 m) over 20 steps", () => {
    manualSeed(5);
    const [lr, b1, b2, wd] = [3e-3, 0.9, 0.99, 0.05];
    const p = randn([64], { dtype: 'float64' }).requiresGrad_();
    const theta = Array.from(p.dataSync());
    const m = theta.map(() => 0);
    const opt = new Lion([p], { lr, betas: [b1, b2], weightDecay: wd });
    for (let t = 0; t < 20; t++) {
      const g = randn([64], { dtype: 'float64' });
      const gv = Array.from(g.dataSync());
      p.grad = g;
      opt.step();
      for (let i = 0; i < 64; i++) {
        const u = Math.sign((1 - b1) * gv[i] + b1 * m[i]) + wd * theta[i];
        theta[i] -= lr * u;
        m[i] = (1 - b2) * gv[i] + b2 * m[i];
      }
    }
    Array.from(p.dataSync()).forEach((v, i) => expect(Math.abs(v - theta[i])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(theta[i]))));
  });
});
