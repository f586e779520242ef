import { describe, expect, it } from 'vitest';
import { checkGptSettings, gptLabel } from '../src/gpt-settings.js';

const raw = (o: Partial<{ grouping: string; lr: string; weightDecay: string }> = {}) => ({ grouping: 'nanoGPT: dim >= 2', lr: '0.005', weightDecay: '0.1', ...o });

describe('checkGptSettings: the GPT view checks its fields where they are typed', () => {
  it('accepts the defaults with no message, and labels the run', () => {
    const c = checkGptSettings(raw());
    expect(c).toEqual({ settings: { grouping: 'nanoGPT: dim >= 2', lr: 0.005, weightDecay: 0.1 }, errors: {}, warnings: {} });
    expect(gptLabel(c.settings!)).toBe('nanoGPT: dim >= 2, lr 0.005, λ 0.1');
  });

  it('takes each of the three groupings and refuses another, naming the valid ones', () => {
    for (const grouping of ['decay everything', 'matmul weights only', 'nanoGPT: dim >= 2']) expect(checkGptSettings(raw({ grouping })).settings?.grouping).toBe(grouping);
    const c = checkGptSettings(raw({ grouping: 'all' }));
    expect(c.settings).toBeNull();
    expect(c.errors.grouping).toBe('unknown grouping “all”: decay everything, matmul weights only, nanoGPT: dim >= 2');
  });

  it("gives lr and weight decay the MNIST view's AdamW messages", () => {
    expect(checkGptSettings(raw({ lr: '-1' })).errors).toEqual({ lr: 'lr -1 is not allowed: the learning rate must be above 0 (a step against the gradient)' });
    expect(checkGptSettings(raw({ lr: '' })).errors.lr).toBe('enter a number');
    expect(checkGptSettings(raw({ weightDecay: '-1' })).errors.weightDecay).toMatch(/^weight decay -1 is not allowed/);
    // 1 − 0.005·300 = −0.5 (by hand): the factor must stay above 0, so λ < 1/0.005 = 200.
    const big = checkGptSettings(raw({ weightDecay: '300' }));
    expect(big.settings).toBeNull();
    expect(big.errors.weightDecay).toContain('makes the shrink factor per step -0.5');
    expect(big.errors.weightDecay).toContain('λ < 200');
    // 1 − 0.005·100 = 0.5 per step: halves the decayed weights every step, a warning that does not block.
    const strong = checkGptSettings(raw({ weightDecay: '100' }));
    expect(strong.settings).not.toBeNull();
    expect(strong.warnings.weightDecay).toMatch(/^strong: ×0\.5000 per step halves the decayed weights every 1\.0 steps/);
  });
});
