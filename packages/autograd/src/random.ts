/**
 * The global random generator: xoshiro128** seeded through splitmix32. Numbers are drawn on the host
 * and uploaded, so a seed gives the same tensors on every device. Not PyTorch's mt19937 stream:
 * tsgrad reproduces PyTorch's arithmetic, not its random numbers (tests load PyTorch's data instead).
 * @example
 * const g = new Generator(42);
 * g.nextUint32(); // the same number on every machine for seed 42
 */
export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /**
   * Reseeds this generator (the same seed gives the same stream on every machine).
   * @example
   * const g = new Generator();
   * g.manualSeed(7).random() === new Generator(7).random() // true
   */
  manualSeed(seed: number): this {
    if (!Number.isFinite(seed)) throw new Error(`manualSeed: seed must be a finite number, got ${seed}`);
    let x = (Math.trunc(seed) ^ Math.trunc(seed / 2 ** 32)) >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    this.spare = null;
    return this;
  }

  /**
   * A uniform 32-bit unsigned integer.
   * @example
   * new Generator(1).nextUint32() // a 32-bit unsigned integer
   */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /**
   * A uniform double in [0, 1) with 53 random bits.
   * @example
   * new Generator(1).random() // in [0, 1)
   */
  random(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * A standard normal sample (Box-Muller, the second value kept for the next call).
   * @example
   * new Generator(1).normal() // mean 0, standard deviation 1
   */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * A uniform integer in [low, high).
   * @example
   * new Generator(1).int(0, 10) // one of 0..9
   */
  int(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** PyTorch's default seed, so an unseeded program is still reproducible. */
export const defaultGenerator = new Generator(67280421310721);

/**
 * Seeds the global generator used by `rand`, `randn`, `randint`, `randperm` and the nn initializers.
 * @example manualSeed(0); const a = rand([2]); manualSeed(0); rand([2]).tolist() // equals a.tolist()
 */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}
