/**
 * How wd-lab prints a number: the shortest decimal that reads back as the value rounded to 6
 * significant digits, so a computed setting prints as the user typed it (3 × 0.003 is `0.009`, not
 * `0.009000000000000001`) while measured results keep 6 digits. NaN and ±Infinity print as themselves.
 */
export function formatNumber(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x);
}
