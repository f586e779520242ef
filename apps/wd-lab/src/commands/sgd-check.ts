import { tensor } from '@tsgrad/autograd';
import { SGD } from '@tsgrad/optim';
import { DivergedError } from '../diverged.js';
import type { FlagSpec, Flags } from '../flags.js';
import { formatNumber } from '../format.js';

export const sgdCheckFlags = {
  lr: { type: 'number', default: 0.1, help: 'learning rate', range: 'positive', max: 100 },
  weightDecay: { type: 'number', default: 0.9, help: 'weight decay', range: 'non-negative', max: 100 },
} satisfies FlagSpec;

/** The forum's inputs (shared/seeds/000): numpy seed 123, np.random.random((3, 4)) and ((4, 5)), float64. */
export const FORUM_X = [
  [0.6964691855978616, 0.28613933495037946, 0.2268514535642031, 0.5513147690828912],
  [0.7194689697855631, 0.42310646012446096, 0.9807641983846155, 0.6848297385848633],
  [0.48093190148436094, 0.3921175181941505, 0.3431780161508694, 0.7290497073840416],
];
export const FORUM_W = [
  [0.4385722446796244, 0.05967789660956835, 0.3980442553304314, 0.7379954057320357, 0.18249173045349998],
  [0.17545175614749253, 0.5315513738418384, 0.5318275870968661, 0.6344009585513211, 0.8494317940777896],
  [0.7244553248606352, 0.6110235106775829, 0.7224433825702216, 0.3229589138531782, 0.3617886556223141],
  [0.22826323087895561, 0.29371404638882936, 0.6309761238544878, 0.09210493994507518, 0.43370117267952824],
];

/** numpy's `set_printoptions(8, suppress=True)`: 8 decimals, trailing zeros dropped, columns aligned. */
export function formatLikeNumpy(rows: number[][]): string {
  const strs = rows.map((r) => r.map((v) => (v.toFixed(8).replace(/0+$/, '').replace(/\.$/, '.'))));
  const width = Math.max(...strs.flat().map((s) => s.replace('-', '').length));
  const cell = (s: string) => (s.startsWith('-') ? s : ` ${s}`).padEnd(width + 1);
  return strs.map((r, i) => `${i === 0 ? '[[' : ' ['}${r.map(cell).join(' ')}]${i === strs.length - 1 ? ']' : ''}`).join('\n');
}

export interface SgdCheckResult {
  before: number[][];
  after: number[][];
  manual: number[][];
  maxDiff: number;
}

/**
 * Seed 000's forum example: one `SGD(lr, weightDecay)` step on loss = sum(x @ w), next to the manual
 * rule w − lr·(grad + λ·w). They agree, and `w.grad` is left untouched.
 */
export function sgdCheck(flags: Flags<typeof sgdCheckFlags>, log: (s: string) => void = () => {}): SgdCheckResult {
  const x = tensor(FORUM_X, { dtype: 'float64' });
  const w = tensor(FORUM_W, { dtype: 'float64', requiresGrad: true });
  const before = w.tolist() as number[][];
  const sgd = new SGD([w], { lr: flags.lr, weightDecay: flags.weightDecay });
  sgd.zeroGrad();
  x.matmul(w).sum().backward();
  const grad = w.grad!.tolist() as number[][];
  sgd.step();
  const after = w.tolist() as number[][];
  const manual = before.map((r, i) => r.map((v, j) => v - flags.lr * (grad[i][j] + flags.weightDecay * v)));
  const maxDiff = Math.max(...after.flatMap((r, i) => r.map((v, j) => Math.abs(v - manual[i][j]))));
  log('w before SGD');
  log(formatLikeNumpy(before));
  log(`w after SGD(lr=${formatNumber(flags.lr)}, weightDecay=${formatNumber(flags.weightDecay)})`);
  log(formatLikeNumpy(after));
  log('check_weight_decay: w - lr * (grad + weightDecay * w)');
  log(formatLikeNumpy(manual));
  if (!after.flat().every(Number.isFinite) || !Number.isFinite(maxDiff)) {
    log(`\nmax |difference| = ${maxDiff}`);
    throw new DivergedError(`the step diverged: w after SGD(lr=${formatNumber(flags.lr)}, weightDecay=${formatNumber(flags.weightDecay)}) is not finite, so nothing is checked. Try a smaller --lr or --weight-decay.`);
  }
  // Both sides compute the same float64 expression; anything above rounding would be a real disagreement.
  const agree = maxDiff <= 1e-12 * Math.max(1, ...after.flat().map(Math.abs));
  log(`\nmax |difference| = ${maxDiff.toExponential(2)}: ${agree ? "they agree, the optimizer's weightDecay adds λ·w to the gradient." : 'they DISAGREE: the optimizer is not w - lr × (gradient + weightDecay × w).'}`);
  log('w.grad is not modified by the step (the forum used PyTorch 1.0, which added λ·w into p.grad in place).');
  return { before, after, manual, maxDiff };
}
