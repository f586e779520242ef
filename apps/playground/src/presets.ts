import { label, type Settings } from './settings.js';

/** Where a run stands: what the lesson compares (the charts' last points, and the decay's factor). */
export interface RunSummary {
  settings: Settings;
  step: number;
  /** Last test accuracy (%), null before the first evaluation. */
  accuracy: number | null;
  /** ‖θ‖ of the two Linear weights, and of BatchNorm's scale and shift and the biases. */
  weights: number;
  others: number;
  /** The decayed group's factor per step at step 0 and now (null: coupled adaptive decay, or none). */
  shrinkStart: number | null;
  shrinkNow: number | null;
}

/** One seed question, as two runs that differ in one setting, and what to look at. */
export interface Preset {
  id: 'exempt' | 'decoupled' | 'schedule';
  question: string;
  /** The two runs, trained one after the other to the same step. */
  runs: [Settings, Settings];
  /** Where to look, before the numbers exist. */
  look: string;
  /** The comparison, computed from the two runs (a first, b second). */
  compare(a: RunSummary, b: RunSummary): string;
}

const base: Settings = { optimizer: 'AdamW', lr: 0.003, weightDecay: 0.05, exclude: true, decayScale: 'lr', schedule: 'constant' };

const pct = (v: number | null) => (v === null ? 'not measured yet' : `${v.toFixed(1)}%`);
const fixed = (v: number) => v.toFixed(2);
/** “X% lower/higher” of `b` against `a`. */
const relative = (a: number, b: number) => `${Math.abs((b / a - 1) * 100).toFixed(0)}% ${b < a ? 'lower' : 'higher'}`;
/** Which run's accuracy is ahead, and by how much, in words. */
function accuracyVerdict(a: RunSummary, b: RunSummary, names: [string, string]): string {
  if (a.accuracy === null || b.accuracy === null) return '';
  // The difference of the numbers as printed, so the sentence's arithmetic checks out.
  const d = Number(a.accuracy.toFixed(1)) - Number(b.accuracy.toFixed(1));
  if (Math.abs(d) < 0.25) return ` Test accuracy is level: ${pct(a.accuracy)} vs ${pct(b.accuracy)}.`;
  const [ahead, behind] = d > 0 ? names : [names[1], names[0]];
  return ` Test accuracy: ${pct(a.accuracy)} (${names[0]}) vs ${pct(b.accuracy)} (${names[1]}): ${ahead} is ahead of ${behind} by ${Math.abs(d).toFixed(1)} points.`;
}
const factor = (f: number | null) => (f === null ? 'no fixed factor' : `×${f.toFixed(5)}`);

/** The three seed questions (see /work/shared/seeds: forum threads 000 and 003, Q&A 002). */
export const PRESETS: Preset[] = [
  {
    id: 'exempt',
    question: 'Decay BatchNorm and biases?',
    runs: [
      { ...base, optimizer: 'SGD', lr: 0.03, weightDecay: 0.05, exclude: true },
      { ...base, optimizer: 'SGD', lr: 0.03, weightDecay: 0.05, exclude: false },
    ],
    look:
      'SGD with momentum, λ = 0.05, trained twice: first with BatchNorm and the biases exempt, then with everything decayed. Watch the purple line (BatchNorm’s scale and shift and the biases): exempt, it keeps growing; decayed, it is pulled down.',
    compare: (a, b) =>
      `At step ${b.step}, BatchNorm &amp; biases’ norm is <b>${fixed(a.others)}</b> with the exemption and <b>${fixed(b.others)}</b> with everything decayed (${relative(a.others, b.others)}). ` +
      `${b.others < a.others ? 'Decay drags the scale and shift toward 0, and BatchNorm re-normalizes the layer before it, so these few numbers alone set each unit’s size.' : 'Here decay did not pull them down: train longer (Play) to see the lines part.'}` +
      accuracyVerdict(a, b, ['exempt', 'all decayed']),
  },
  {
    id: 'decoupled',
    question: 'L2 or decoupled?',
    runs: [
      { ...base, optimizer: 'Adam', lr: 0.003, weightDecay: 0.1 },
      { ...base, optimizer: 'AdamW', lr: 0.003, weightDecay: 0.1 },
    ],
    look:
      'The same λ = 0.1 and lr 0.003, first as Adam’s L2 (λθ added to the gradient, then divided by √v̂ with it), then as AdamW’s decoupled shrink (×(1 − γλ) per step). Watch the red line, the weights’ norm.',
    compare: (a, b) =>
      `At step ${b.step} the weights’ norm is <b>${fixed(a.weights)}</b> with Adam (L2) and <b>${fixed(b.weights)}</b> with AdamW (decoupled). ` +
      (a.weights < b.weights
        ? `Same λ, ${(b.weights / a.weights).toFixed(1)}× apart: in Adam λθ is rescaled like a gradient, so weights whose gradients are small are pushed to 0 at about γ per step, while AdamW shrinks every weight by the same ×${b.shrinkNow?.toFixed(5) ?? '?'} per step.`
        : 'Here L2 has not shrunk the weights more than AdamW: train longer (Play) to see them part.') +
      accuracyVerdict(a, b, ['Adam', 'AdamW']),
  },
  {
    id: 'schedule',
    question: 'Decay that follows the schedule',
    runs: [
      { ...base, optimizer: 'AdamW', lr: 0.003, weightDecay: 0.01, schedule: 'halve50', decayScale: 'lr' },
      { ...base, optimizer: 'AdamW', lr: 0.003, weightDecay: 0.01, schedule: 'halve50', decayScale: 'schedule' },
    ],
    look:
      'AdamW with λ = 0.01 and an lr that halves every 50 steps, twice: decayScale “lr” (PyTorch: shrink by 1 − γ_t λ, so λ is multiplied by the lr) and “schedule” (Loshchilov &amp; Hutter: 1 − η_t λ, η_t = γ_t / γ_0, so λ alone sets the rate and only the schedule scales it). Watch the red line and the shrink factors below.',
    compare: (a, b) =>
      `Same λ = ${b.settings.weightDecay}: with “lr” the shrink per step went ${factor(a.shrinkStart)} → ${factor(a.shrinkNow)}, with “schedule” ${factor(b.shrinkStart)} → ${factor(b.shrinkNow)} ` +
      `(both follow the lr’s halving; “lr” multiplies λ by γ = ${a.settings.lr}, so it is ${Number((1 / a.settings.lr).toPrecision(3))}× weaker). At step ${b.step} the weights’ norm is <b>${fixed(a.weights)}</b> (“lr”) vs <b>${fixed(b.weights)}</b> (“schedule”, ${relative(a.weights, b.weights)}).` +
      accuracyVerdict(a, b, ['“lr”', '“schedule”']),
  },
];

/** The runs list's entry: the settings, short, and where the run stands. */
export const describeRun = (s: RunSummary) => `${label(s.settings)} — step ${s.step}`;
