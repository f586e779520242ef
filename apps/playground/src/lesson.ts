import type { DecayRow, GroupDecay } from '@tsgrad/param-groups';
import type { Settings } from './settings.js';

/** What the lesson quotes: the settings on screen, their decay plan and formulas, the current run's norms, and a preset's comparison. */
export interface LessonInput extends Settings {
  rows: DecayRow[];
  decay: GroupDecay[];
  /** The norm chart's last points and its first ones (null before any training). */
  norms: { step: number; weights: number; others: number; first: { step: number; weights: number; others: number } } | null;
  /** The last preset: its question, where to look, and the comparison computed from its two runs. */
  comparison: { question: string; look: string; text: string } | null;
}

const count = (rows: DecayRow[]) => `${rows.length} tensor${rows.length === 1 ? '' : 's'} (${rows.reduce((n, r) => n + r.numel, 0).toLocaleString('en-US')} parameters)`;
const change = (from: number, to: number) => `${to > from ? 'grew' : 'shrank'} ${Math.abs((to / from - 1) * 100).toFixed(0)}%`;

/**
 * The teaching panel: what coupled (L2) and decoupled decay do, why norm layers and biases are
 * exempt, and how to read the norm chart, each claim quoting the numbers of the settings and the
 * run on screen and linking to the plan or chart that shows it.
 */
export function renderLesson(el: HTMLElement, x: LessonInput): void {
  const decayed = x.rows.filter((r) => r.group === 'decay');
  const exempt = x.rows.filter((r) => r.group === 'no_decay');
  const normOrBias = x.rows.filter((r) => r.module.startsWith('BatchNorm') || r.name.endsWith('bias'));
  const shrink = x.decay.find((g) => g.weightDecay > 0)?.shrink ?? null;
  const wd = x.weightDecay;
  const parts: string[] = [];
  if (x.comparison) {
    parts.push(`<div class="comparison"><h2>${x.comparison.question}</h2><p>${x.comparison.look}</p><p class="result">${x.comparison.text}</p></div>`);
  }
  parts.push('<h2>What you are watching</h2>');

  // 1. Coupled or decoupled, for the optimizer chosen.
  if (wd === 0) {
    parts.push('<p><b>No weight decay.</b> Weight decay is 0: every parameter is left alone, and both lines of the <a href="#norm-chart">norm chart</a> move with the gradients only. Set weight decay to 0.05 to see it act.</p>');
  } else if (x.optimizer === 'AdamW' && x.decayScale === 'schedule') {
    parts.push(
      `<p><b>Decoupled decay following the schedule (AdamW, decayScale “schedule”).</b> Each step first multiplies every decayed weight by (1 − η_t λ), η_t = γ_t / γ_0 the lr schedule's multiplier (1 at the start): now ×<b>${shrink?.toPrecision(6)}</b>, then takes Adam's step. ` +
        `λ = ${wd} alone sets the rate, whatever the learning rate; only the schedule scales it${x.schedule === 'constant' ? ' (constant here: pick “halves every 50 steps” to see the factor follow it)' : ''}. ` +
        'With “lr” (PyTorch) the same λ is multiplied by γ_t, so it is far weaker and changes when the lr does. (Formula per group: the last rows of the <a href="#plan">decay plan</a>.)</p>',
    );
  } else if (x.optimizer === 'AdamW') {
    parts.push(
      `<p><b>Decoupled decay (AdamW, chosen).</b> Each step first multiplies every decayed weight by (1 − γλ), γ the learning rate: (1 − ${x.lr}·${wd}) = <b>${shrink?.toPrecision(6)}</b>${x.schedule === 'halve50' ? ' now (γ follows the schedule)' : ''}, then takes Adam's step. ` +
        "The shrink is outside Adam's rescaling, so every decayed weight shrinks at the same rate whatever its gradients. " +
        'Choose Adam to see the coupled kind. (Formula per group: the last rows of the <a href="#plan">decay plan</a>.)</p>',
    );
  } else if (x.optimizer === 'Adam') {
    parts.push(
      `<p><b>Coupled (L2) decay (Adam, chosen).</b> Adam adds λ·θ = ${wd}·θ to the gradient before its moments, so the decay is divided by √v̂ like the gradient: ` +
        'weights with large gradients are barely decayed, weights with small ones are decayed hard. There is no fixed shrink per step ' +
        '(the <a href="#plan">decay plan</a> prints no factor). AdamW fixes this by decoupling the decay: choose AdamW to compare.</p>',
    );
  } else {
    parts.push(
      `<p><b>Coupled (L2) decay (SGD with momentum, chosen).</b> SGD adds λ·θ = ${wd}·θ to the gradient. Without momentum that is exactly a shrink by (1 − γλ), γ the learning rate: ${(1 - x.lr * wd).toPrecision(6)} per step: ` +
        'for plain SGD, L2 and decoupled decay are the same thing. With momentum (0.9 here) the decay term accumulates in the velocity like any gradient, so its effect is about 10× larger over time. ' +
        'Adam is where coupled and decoupled part: choose Adam, then AdamW.</p>',
    );
  }

  // 2. Why norm layers and biases are exempt, quoting this plan.
  if (x.exclude) {
    parts.push(
      `<p><b>Why BatchNorm and biases are exempt.</b> In the <a href="#plan">decay plan</a>, ${count(decayed)} are decayed and ${count(exempt)} are not: ` +
        `${exempt.map((r) => `<code>${r.name}</code>`).join(', ')} (BatchNorm's scale and shift are its <code>weight</code> and <code>bias</code>). ` +
        "The first Linear's weight feeds BatchNorm, which divides its scale out: shrinking it changes nothing the network computes, only how fast it learns. " +
        "BatchNorm's scale and shift and the biases are the opposite: few numbers that set each unit's scale and offset directly, so decaying them pulls the network's outputs toward zero for little regularization. " +
        'Untick “exempt BatchNorm &amp; biases” to decay them too (the plan updates).</p>',
    );
  } else {
    parts.push(
      `<p><b>Everything is decayed.</b> All ${count(x.rows)} are in one group, including ${normOrBias.map((r) => `<code>${r.name}</code>`).join(', ')}: ` +
        "BatchNorm's scale is pulled toward 0, shrinking the features BatchNorm hands on, and the biases toward 0, with no benefit a weight's decay would give. " +
        'Tick “exempt BatchNorm &amp; biases” to exempt them, as param-groups does by default.</p>',
    );
  }

  // 3. The norm chart, with this run's numbers.
  const n = x.norms;
  parts.push(
    '<p><b>The <a href="#norm-chart">norm chart</a></b> plots ‖θ‖ of the two Linear weights (red) and of BatchNorm’s scale and shift and the biases (purple) every 10 steps; earlier runs stay on the charts, faded and tagged A, B, … (the run list names their settings). ' +
      (n
        ? `At step ${n.step} of the current run the weights’ norm is ${n.weights.toFixed(2)} (it ${change(n.first.weights, n.weights)} since step ${n.first.step}) and BatchNorm &amp; biases’ is ${n.others.toFixed(2)} (${change(n.first.others, n.others)}). ` +
          (x.weightDecay > 0
            ? 'Gradients push the weights outward while decay pulls them in every step; over a long run the red line levels off where the two balance. Raise the weight decay and train again to see it grow less.</p>'
            : 'With no decay nothing pulls the weights back: set a weight decay and train again to compare.</p>')
        : 'Press Play (or Step) to fill it.</p>'),
  );
  el.innerHTML = parts.join('\n');
}
