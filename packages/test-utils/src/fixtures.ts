import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tensor, type DType, type NestedArray, type Tensor } from '@tsgrad/autograd';

/** Absolute path of a committed fixture file (written by scripts/gen_fixtures.py). */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

export function loadFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8')) as T;
}

export interface EncodedTensor {
  shape: number[];
  dtype: DType;
  data: (number | boolean)[];
  /** Stored transposed: rebuild as a transposed view of a contiguous tensor (strided input). */
  t?: boolean;
}

/** Rebuilds a fixture tensor, as a transposed view when the fixture says so. */
export function decodeTensor(e: EncodedTensor, opts: { requiresGrad?: boolean } = {}): Tensor {
  const values = e.data.map(Number);
  let x: Tensor;
  if (e.t && e.shape.length >= 2) {
    const n = e.shape.length;
    const base = [...e.shape.slice(0, -2), e.shape[n - 1], e.shape[n - 2]];
    // The data is row-major over the view; write it through a transposed view of fresh storage.
    x = tensor(values, { dtype: e.dtype }).reshape(e.shape).transpose(-1, -2).contiguous().reshape(base).transpose(-1, -2);
  } else {
    x = tensor(values, { dtype: e.dtype }).reshape(e.shape);
  }
  x = x.detach();
  if (opts.requiresGrad) x.requiresGrad_(true);
  return x;
}

export interface OpFixtureCase {
  op: string;
  note: string;
  inputs: EncodedTensor[];
  args: Record<string, unknown>;
  output: EncodedTensor;
  cotangent?: number[];
  grads?: (number[] | null)[];
}

/** One layer case of nn.json (scripts/gen_nn_fixtures.py): a layer, its state, inputs, outputs, gradients. */
export interface LayerCase {
  layer: string;
  args: unknown[];
  options: Record<string, unknown>;
  mode: 'train' | 'eval';
  stateDict: Record<string, EncodedTensor>;
  inputs: EncodedTensor[];
  output: EncodedTensor;
  cotangent: EncodedTensor;
  inputGrads: (EncodedTensor | null)[];
  paramGrads: Record<string, EncodedTensor>;
  buffersAfter: Record<string, EncodedTensor>;
}

export type { NestedArray };
