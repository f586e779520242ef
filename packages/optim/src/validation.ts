/**
 * Option checks shared by the optimizers. Each throws an Error naming the option and the bad value
 * (PyTorch raises ValueError("Invalid learning rate: -1")).
 */
export function nonNegative(name: string, value: unknown): void {
  if (typeof value !== 'number' || !(value >= 0)) {
    throw new Error(`Invalid ${name}: ${String(value)} (expected a number >= 0)`);
  }
}

export function unitInterval(name: string, value: unknown, opts: { closedRight?: boolean } = {}): void {
  const ok = typeof value === 'number' && value >= 0 && (opts.closedRight ? value <= 1 : value < 1);
  if (!ok) throw new Error(`Invalid ${name}: ${String(value)} (expected a number in [0, 1${opts.closedRight ? ']' : ')'})`);
}

export function betaPair(value: unknown): void {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new Error(`Invalid betas: ${JSON.stringify(value)} (expected two numbers, e.g. [0.9, 0.999])`);
  }
  unitInterval('betas[0]', value[0]);
  unitInterval('betas[1]', value[1]);
}

export function boolean(name: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new Error(`Invalid ${name}: ${String(value)} (expected true or false)`);
}
