import { Tensor } from '@tsgrad/autograd';

/**
 * Throws unless `x` is a Tensor, naming the layer and what it got: `Linear.forward([1, 2])` would
 * otherwise fail deep inside with a TypeError about `shape`.
 */
export function expectTensor(x: unknown, who: string): asserts x is Tensor {
  if (x instanceof Tensor) return;
  const got = Array.isArray(x) ? 'a plain array' : x === null ? 'null' : typeof x === 'object' ? `a ${x.constructor?.name ?? 'object'}` : `a ${typeof x}`;
  throw new Error(`${who}: expected a Tensor input, got ${got}${Array.isArray(x) ? '; wrap it with tensor(...)' : ''}`);
}
