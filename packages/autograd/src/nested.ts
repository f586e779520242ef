import { formatShape } from '@tsgrad/tensor';

/** Arbitrarily nested arrays of numbers or booleans, as `tolist()` returns and `tensor()` accepts. */
export type NestedArray = number | boolean | NestedArray[];

/**
 * Infers the shape of a nested array and flattens it, rejecting ragged input with the culprit's path.
 * `allBool`: every leaf is a boolean (then the tensor is bool). A mix of booleans and numbers is
 * numeric, as in PyTorch (`torch.tensor([True, 2])` is [1, 2]); it used to become bool, so 2 read true.
 */
export function flattenNested(data: NestedArray): { shape: number[]; values: number[]; allBool: boolean } {
  const shape: number[] = [];
  for (let cur: NestedArray = data; Array.isArray(cur); cur = cur[0]) {
    shape.push(cur.length);
    if (cur.length === 0) break;
  }
  const values: number[] = [];
  let hasBool = false;
  let hasNumber = false;
  const walk = (node: NestedArray, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node === 'boolean') {
        hasBool = true;
        values.push(node ? 1 : 0);
      } else if (typeof node === 'number') {
        hasNumber = true;
        values.push(node);
      } else {
        throw new Error(`tensor: expected a number at ${path || 'the top level'} for shape ${formatShape(shape)}, got ${describe(node)}`);
      }
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new Error(
        `tensor: ragged nested array: expected a sequence of length ${shape[depth]} at ${path || 'the top level'}, got ${describe(node)}`,
      );
    }
    node.forEach((child, i) => walk(child, depth + 1, `${path}[${i}]`));
  };
  walk(data, 0, '');
  return { shape, values, allBool: hasBool && !hasNumber };
}

function describe(x: unknown): string {
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  return `${typeof x} ${JSON.stringify(x)}`;
}

/** Rebuilds nested arrays of `shape` from flat values (row-major). */
export function nest(values: ArrayLike<number>, shape: readonly number[], asBool = false): NestedArray {
  const conv = (v: number): number | boolean => (asBool ? v !== 0 : v);
  if (shape.length === 0) return conv(values[0]);
  let pos = 0;
  const build = (d: number): NestedArray[] => {
    const out: NestedArray[] = [];
    for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? conv(values[pos++]) : build(d + 1));
    return out;
  };
  return build(0);
}
