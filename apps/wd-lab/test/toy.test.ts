import { describe, expect, it } from 'vitest';
import { trainToy } from '../src/commands/toy.js';
import { parseFlags, UsageError } from '../src/flags.js';
import { toyFlags } from '../src/commands/toy.js';

describe('wd-lab toy', () => {
  it('drives the loss of a 2-layer MLP down with a hand-written SGD loop', () => {
    const { losses, accuracy } = trainToy({ steps: 200, lr: 0.5, hidden: 16, seed: 0, every: 50 });
    // Cross-entropy of a 2-class guess starts near ln 2.
    expect(losses[0]).toBeGreaterThan(0.6);
    expect(losses[losses.length - 1]).toBeLessThan(0.3 * losses[0]);
    expect(accuracy).toBeGreaterThan(0.9);
  });

  it('parses flags and rejects unknown or malformed ones', () => {
    expect(parseFlags(['--steps', '5', '--lr=0.1'], toyFlags)).toMatchObject({ steps: 5, lr: 0.1, hidden: 16 });
    expect(() => parseFlags(['--stpes', '5'], toyFlags)).toThrow(UsageError);
    expect(() => parseFlags(['--lr', 'fast'], toyFlags)).toThrow("flag '--lr' expects a number, got 'fast'");
  });
});
