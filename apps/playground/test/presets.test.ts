import { describe, expect, it } from 'vitest';
import { PRESETS, type RunSummary } from '../src/presets.js';

const summary = (i: 0 | 1, id: string, o: Partial<RunSummary>): RunSummary => ({
  settings: PRESETS.find((p) => p.id === id)!.runs[i],
  step: 100,
  accuracy: null,
  weights: 1,
  others: 1,
  shrinkStart: null,
  shrinkNow: null,
  ...o,
});

describe('presets: one per seed question, two runs differing in one setting', () => {
  it('each pair differs in exactly the setting its question is about', () => {
    const diff = (id: string) => {
      const [a, b] = PRESETS.find((p) => p.id === id)!.runs;
      return (Object.keys(a) as (keyof typeof a)[]).filter((k) => a[k] !== b[k]);
    };
    expect(diff('exempt')).toEqual(['exclude']);
    expect(diff('decoupled')).toEqual(['optimizer']);
    expect(diff('schedule')).toEqual(['decayScale']);
  });

  it('the comparison quotes the runs’ numbers and computes its verdicts from them', () => {
    const exempt = PRESETS[0].compare(summary(0, 'exempt', { others: 12.06, accuracy: 90.0 }), summary(1, 'exempt', { others: 4.03, accuracy: 88.125 }));
    // (4.03 / 12.06 − 1) = −66.6%: "67% lower"; 90.0 − 88.1 = 1.9 points.
    expect(exempt).toContain('<b>12.06</b> with the exemption and <b>4.03</b> with everything decayed (67% lower)');
    expect(exempt).toContain('Test accuracy: 90.0% (exempt) vs 88.1% (all decayed): exempt is ahead of all decayed by 1.9 points.');
    const level = PRESETS[0].compare(summary(0, 'exempt', { others: 12, accuracy: 87.0 }), summary(1, 'exempt', { others: 12.5, accuracy: 87.1 }));
    expect(level).toContain('Here decay did not pull them down');
    expect(level).toContain('Test accuracy is level: 87.0% vs 87.1%.');

    const decoupled = PRESETS[1].compare(summary(0, 'decoupled', { weights: 2.87 }), summary(1, 'decoupled', { weights: 10.94, shrinkNow: 0.9997 }));
    expect(decoupled).toContain('<b>2.87</b> with Adam (L2) and <b>10.94</b> with AdamW');
    expect(decoupled).toContain(`Same λ, ${(10.94 / 2.87).toFixed(1)}× apart`);
    expect(decoupled).toContain('×0.99970 per step');

    const schedule = PRESETS[2].compare(
      summary(0, 'schedule', { weights: 9.33, shrinkStart: 1 - 0.003 * 0.01, shrinkNow: 1 - 0.003 * 0.5 ** 2 * 0.01 }),
      summary(1, 'schedule', { weights: 6.14, shrinkStart: 0.99, shrinkNow: 1 - 0.5 ** 2 * 0.01 }),
    );
    expect(schedule).toContain('with “lr” the shrink per step went ×0.99997 → ×0.99999, with “schedule” ×0.99000 → ×0.99750');
    expect(schedule).toContain('so it is 333× weaker');
    expect(schedule).toContain('<b>9.33</b> (“lr”) vs <b>6.14</b> (“schedule”, 34% lower)');
  });
});
