import { formatNumber } from './format.js';

/**
 * The demo's conclusions come from what a run measured, and two measurements that differ by noise
 * must read as "no clear difference". These say when a difference is clear.
 */

/** Relative difference below which two norms count as alike (a few percent is run-to-run noise). */
export const NORM_TOLERANCE = 0.05;

/** 'smaller' or 'larger' when `a` differs from `b` by more than `relTol` of the larger, else 'alike'. */
export function compareNorms(a: number, b: number, relTol = NORM_TOLERANCE): 'smaller' | 'larger' | 'alike' {
  if (Math.abs(a - b) <= relTol * Math.max(Math.abs(a), Math.abs(b))) return 'alike';
  return a < b ? 'smaller' : 'larger';
}

/**
 * 'higher' or 'lower' when test accuracy `a` differs from `b` by more than two standard errors of the
 * difference of two proportions measured on `n` test digits each, else 'alike': on 2,000 digits at
 * 95% that is about ±1.4 points, so 91.9% vs 92.0% is no difference.
 */
export function compareAccuracies(a: number, b: number, n: number): 'higher' | 'lower' | 'alike' {
  const p = (a + b) / 2;
  const margin = 2 * Math.sqrt((2 * p * (1 - p)) / n);
  if (Math.abs(a - b) <= margin) return 'alike';
  return a > b ? 'higher' : 'lower';
}

/** An accuracy as a percentage with one decimal (`90.5%`). */
export function percent(accuracy: number): string {
  return `${formatNumber(Number((accuracy * 100).toFixed(1)))}%`;
}
