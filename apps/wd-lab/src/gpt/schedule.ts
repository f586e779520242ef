/** nanoGPT's learning-rate schedule (train.py's `get_lr`). */
export interface NanoGptSchedule {
  learningRate: number;
  minLr: number;
  warmupIters: number;
  lrDecayIters: number;
}

/**
 * nanoGPT's `get_lr(it)`: a linear warmup to `learningRate` over `warmupIters` steps (step it gets
 * (it + 1)/(warmupIters + 1) of it), then a cosine decay to `minLr` at `lrDecayIters`, `minLr` after.
 * Used through `LambdaLR` as the factor `nanoGptLr(s)(it) / s.learningRate` of the base lr.
 */
export function nanoGptLr(s: NanoGptSchedule): (it: number) => number {
  return (it) => {
    if (it < s.warmupIters) return (s.learningRate * (it + 1)) / (s.warmupIters + 1);
    if (it > s.lrDecayIters) return s.minLr;
    const decayRatio = (it - s.warmupIters) / (s.lrDecayIters - s.warmupIters);
    const coeff = 0.5 * (1 + Math.cos(Math.PI * decayRatio));
    return s.minLr + coeff * (s.learningRate - s.minLr);
  };
}
