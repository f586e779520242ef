import { describe, expect, it } from 'vitest';
import { checkSettings, halfLife, label, type RawSettings } from '../src/settings.js';

const raw = (o: Partial<RawSettings> = {}): RawSettings => ({ optimizer: 'AdamW', lr: '0.003', weightDecay: '0.05', exclude: true, decayScale: 'lr', schedule: 'constant', ...o });

describe('checkSettings: every field checked where it is typed', () => {
  it('accepts the defaults with no message', () => {
    const c = checkSettings(raw());
    expect(c.settings).toEqual({ optimizer: 'AdamW', lr: 0.003, weightDecay: 0.05, exclude: true, decayScale: 'lr', schedule: 'constant' });
    expect(c.errors).toEqual({});
    expect(c.warnings).toEqual({});
  });

  it('refuses a learning rate that is not a positive number, naming the value', () => {
    expect(checkSettings(raw({ lr: '-1' })).errors.lr).toBe('lr -1 is not allowed: the learning rate must be above 0 (a step against the gradient)');
    expect(checkSettings(raw({ lr: '0' })).errors.lr).toMatch(/^lr 0 is not allowed/);
    expect(checkSettings(raw({ lr: '' })).errors.lr).toBe('enter a number');
    expect(checkSettings(raw({ lr: 'abc' })).errors.lr).toBe('“abc” is not a number');
    expect(checkSettings(raw({ lr: '1e308' })).errors.lr).toMatch(/^lr 1e\+308 is too large: at most 1/);
    expect(checkSettings(raw({ lr: '-1' })).settings).toBeNull();
  });

  it('refuses a negative weight decay', () => {
    expect(checkSettings(raw({ weightDecay: '-0.1' })).errors.weightDecay).toMatch(/^weight decay -0.1 is not allowed: it must be 0 or more/);
  });

  it('refuses a weight decay whose shrink factor 1 − γλ is not above 0, quoting the factor', () => {
    // 1 − 0.003·1e9 = −2,999,999 (computed here by hand): every weight would flip sign each step.
    const c = checkSettings(raw({ weightDecay: '1e9' }));
    expect(c.settings).toBeNull();
    expect(c.errors.weightDecay).toContain('shrink factor per step -2999999');
    expect(c.errors.weightDecay).toContain('flips every weight’s sign');
    expect(c.errors.weightDecay).toContain('λ < 333.333');
    // Exactly 1/γ zeroes the weights: refused too; just below it is allowed, with a warning.
    expect(checkSettings(raw({ lr: '0.5', weightDecay: '2' })).errors.weightDecay).toContain('zeroes every weight');
    expect(checkSettings(raw({ optimizer: 'SGD', lr: '0.5', weightDecay: '1.9' })).settings).not.toBeNull();
    // decayScale 'schedule': the factor is 1 − λ at the start, so λ must stay below 1.
    expect(checkSettings(raw({ decayScale: 'schedule', weightDecay: '1' })).errors.weightDecay).toContain('λ < 1');
  });

  it('warns (without refusing) when decay halves the weights within 20 steps, with the half-life', () => {
    const c = checkSettings(raw({ weightDecay: '100' })); // ×0.7 per step
    expect(c.settings).not.toBeNull();
    expect(c.warnings.weightDecay).toBe(`strong: ×0.7000 per step halves the decayed weights every ${(Math.log(0.5) / Math.log(0.7)).toFixed(1)} steps`);
    expect(halfLife(0.5)).toBeCloseTo(1, 12);
    // No decay (factor 1): nothing to warn about.
    expect(checkSettings(raw({ weightDecay: '0' })).warnings).toEqual({});
    // Adam's coupled decay has no fixed factor: a large λ is explained, not refused.
    const adam = checkSettings(raw({ optimizer: 'Adam', weightDecay: '1e9' }));
    expect(adam.settings).not.toBeNull();
    expect(adam.warnings.weightDecay).toMatch(/^strong: λθ outweighs the gradient/);
  });

  it('says that decay scale is AdamW’s alone, and refuses unknown choices', () => {
    expect(checkSettings(raw({ optimizer: 'SGD', decayScale: 'schedule' })).warnings.decayScale).toBe('SGD decays coupled (L2): decay scale applies to AdamW only, and is ignored');
    expect(checkSettings(raw({ optimizer: 'Lion' })).errors.optimizer).toBe('unknown optimizer “Lion”: SGD, Adam or AdamW');
  });

  it('labels a run with its settings', () => {
    expect(label(checkSettings(raw({ decayScale: 'schedule', schedule: 'halve50', exclude: false })).settings!)).toBe(
      'AdamW, lr 0.003, λ 0.05, all decayed, decay × schedule, lr halves every 50 steps',
    );
  });
});
