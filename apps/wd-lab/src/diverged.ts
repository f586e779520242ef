/**
 * A run whose numbers stopped being finite (a learning rate far too large, a decay that flips the
 * weights' sign). The command prints what it measured, then throws this; the CLI prints the message
 * and exits with code 1, so a diverged run never passes for a result.
 */
export class DivergedError extends Error {}

/** The first index where `values` is NaN or infinite, or -1 when every value is finite. */
export function firstNonFinite(values: readonly number[]): number {
  return values.findIndex((v) => !Number.isFinite(v));
}

/**
 * The runs whose training loss stopped being finite, each as `'label' (loss NaN at step 12)`; empty
 * when every run stayed finite.
 */
export function divergedRuns(runs: readonly { label: string; losses: readonly number[] }[]): string[] {
  return runs.flatMap((r) => {
    const at = firstNonFinite(r.losses);
    return at < 0 ? [] : [`'${r.label}' (loss ${r.losses[at]} at step ${at + 1})`];
  });
}

/** Throws a DivergedError naming the diverged runs and the flags to lower, when there are any. */
export function throwIfDiverged(runs: readonly { label: string; losses: readonly number[] }[], lower: string): void {
  const diverged = divergedRuns(runs);
  if (diverged.length) throw new DivergedError(`training diverged: ${diverged.join(', ')}; its numbers mean nothing. Try a smaller ${lower}.`);
}
