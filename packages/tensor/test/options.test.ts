import { describe, expect, it } from 'vitest';
import { checkOptionKeys, nearestName, unknownOptionMessage } from '@tsgrad/tensor';

describe('option names', () => {
  it('finds the valid name a typo, a snake_case spelling or a longer/shorter form stands for', () => {
    expect(nearestName('weight_decay', ['lr', 'weightDecay'])).toBe('weightDecay');
    expect(nearestName('momentun', ['lr', 'momentum', 'dampening'])).toBe('momentum');
    // Levenshtein alone puts these 4 and 5 edits away, past a third of their length.
    expect(nearestName('epsilon', ['weight', 'bias', 'eps'])).toBe('eps');
    expect(nearestName('approx', ['approximate'])).toBe('approximate');
    // Among plausible names the closest wins: 'epss' is 'eps' misspelt, not 'epsRoot'.
    expect(nearestName('epss', ['epsRoot', 'eps'])).toBe('eps');
    expect(nearestName('eps_root', ['eps', 'epsRoot'])).toBe('epsRoot');
  });

  it('suggests nothing for an unrelated name, or a two-letter prefix', () => {
    expect(nearestName('foo', ['lr', 'betas', 'eps'])).toBeNull();
    expect(nearestName('mo', ['momentum'])).toBeNull();
    expect(unknownOptionMessage('Adam', 'foo', ['lr', 'betas'])).toBe("Adam: unknown option 'foo'; valid options: lr, betas");
  });

  it('checkOptionKeys throws for the first unknown key, naming the function', () => {
    expect(() => checkOptionKeys('layer_norm', { eps: 1e-5, epsilon: 1e-3 }, ['weight', 'bias', 'eps'])).toThrow("layer_norm: unknown option 'epsilon'; did you mean 'eps'?");
    expect(() => checkOptionKeys('layer_norm', { eps: 1e-5 }, ['weight', 'bias', 'eps'])).not.toThrow();
    expect(() => checkOptionKeys('layer_norm', undefined, ['eps'])).not.toThrow();
  });

  it('checkOptionKeys rejects a bag that is not an object: a positional habit from PyTorch would be ignored', () => {
    expect(() => checkOptionKeys('Linear', false, ['bias'])).toThrow("Linear: expected an options object { bias }, got false");
    expect(() => checkOptionKeys('mse_loss', 'sum', ['reduction'])).toThrow('mse_loss: expected an options object { reduction }, got "sum"');
    expect(() => checkOptionKeys('layer_norm', null, ['eps'])).toThrow('layer_norm: expected an options object { eps }, got null');
    expect(() => checkOptionKeys('Conv2d', [1, 1], ['stride'])).toThrow('Conv2d: expected an options object { stride }, got an array');
  });
});
