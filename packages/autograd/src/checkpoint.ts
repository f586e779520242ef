import type * as NodeFsPromises from 'node:fs/promises';
import { checkOptionKeys } from '@tsgrad/tensor';
import { nodeModule, writeFileAtomic } from './atomic-write.js';
import { Tensor } from './tensor.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsReadOptions } from './safetensors.js';

/**
 * Checkpoints in the safetensors format. A flat `Map<string, Tensor>` (a module's `stateDict()`) is
 * written as a plain safetensors file that PyTorch's `safetensors.torch.load_file` reads. Nested
 * state (an optimizer's `{ state, param_groups }`) stores its tensors under dotted names
 * (`state.0.exp_avg`) and everything else (steps, options) as JSON in the metadata, and loads back
 * into the same shape.
 */
export type Checkpoint = Map<string, Tensor> | { [key: string]: unknown };

const STRUCTURE_KEY = 'tsgrad.structure';

/**
 * How deep a checkpoint's structure may nest (an optimizer's state dict is 4 levels). Deeper is an
 * Error with this number in it, on save and on load, instead of a stack overflow (or an endless loop
 * through a cycle on save).
 */
export const MAX_CHECKPOINT_DEPTH = 100;

function checkDepth(depth: number, path: string, what: 'save' | 'load'): void {
  if (depth > MAX_CHECKPOINT_DEPTH) {
    throw new Error(
      `checkpoint: cannot ${what} a structure nested more than ${MAX_CHECKPOINT_DEPTH} levels deep (at '${path.slice(0, 80) || '(root)'}${path.length > 80 ? '...' : ''}')` +
        (what === 'save' ? '; does it contain a cycle?' : ''),
    );
  }
}

/**
 * A number as JSON: finite numbers as they are; NaN, the infinities and -0 (which JSON would turn
 * into null, null and 0) tagged as `{ $number: 'NaN' | 'Infinity' | '-Infinity' | '-0' }`.
 */
function encodeNumber(n: number): unknown {
  if (Object.is(n, -0)) return { $number: '-0' };
  return Number.isFinite(n) ? n : { $number: String(n) };
}

/** A Map, not an object: a hostile `{ $number: 'constructor' }` must not find Object.prototype's. */
const TAGGED_NUMBERS = new Map([['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['-0', -0]]);

/** What a value is, for an Error: `function`, `undefined`, `Date`, `Float32Array`, ... */
function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return typeof value;
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  return proto === null ? 'an object with a null prototype' : (proto.constructor?.name ?? 'object');
}

/**
 * A Map key as JSON. Keys are the primitives `save` stores (strings, numbers, booleans, null), kept
 * with their type: a Map keyed by 0 loads keyed by 0, not '0'.
 */
function encodeKey(key: unknown, path: string): unknown {
  if (typeof key === 'string' || typeof key === 'boolean' || key === null) return key;
  if (typeof key === 'number') return encodeNumber(key);
  throw new Error(`checkpoint: cannot store a Map key of type ${describe(key)} in '${path || '(root)'}' (strings, numbers, booleans and null only)`);
}

/**
 * The name a tensor is stored under: its dotted path (`state.0.exp_avg`, readable and PyTorch-like),
 * or, where that is taken (a Map with keys 0 and '0', an object key 'a.b' beside a nested a.b) or
 * reserved (`__metadata__` is the safetensors header's own key), the first free `path#1`, `path#2`...
 * The structure refers to tensors by this name, so it need only be unique.
 */
function tensorName(path: string, taken: Map<string, Tensor>): string {
  if (path !== '__metadata__' && !taken.has(path)) return path;
  for (let i = 1; ; i++) if (!taken.has(`${path}#${i}`)) return `${path}#${i}`;
}

/**
 * JSON for the non-tensor part: tensors become {$tensor: name}; Maps, plain objects and special
 * numbers are tagged. Anything that would not come back as it went in (a function, undefined, a
 * class instance, a sparse array, a symbol key) is an Error naming where it is.
 */
function toStructure(value: unknown, path: string, tensors: Map<string, Tensor>, depth = 0): unknown {
  checkDepth(depth, path, 'save');
  if (value instanceof Tensor) {
    const name = tensorName(path, tensors);
    tensors.set(name, value);
    return { $tensor: name };
  }
  const at = path || '(root)';
  const child = (key: string) => (path ? `${path}.${key}` : key);
  if (value instanceof Map) {
    return { $map: [...value].map(([k, v]) => [encodeKey(k, path), toStructure(v, child(String(k)), tensors, depth + 1)]) };
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new Error(`checkpoint: cannot store a sparse array at '${at}' (index ${i} is a hole, which would load as null)`);
      out.push(toStructure(value[i], child(String(i)), tensors, depth + 1));
    }
    return out;
  }
  if (typeof value === 'number') return encodeNumber(value);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    if (Object.getOwnPropertySymbols(value).length > 0) throw new Error(`checkpoint: cannot store an object with symbol keys at '${at}' (string keys only)`);
    return { $object: Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toStructure(v, child(k), tensors, depth + 1)]) };
  }
  throw new Error(`checkpoint: cannot store ${describe(value)} at '${at}' (tensors, numbers, strings, booleans, null, arrays, plain objects and Maps only)`);
}

function decodeNumber(tag: unknown): number {
  const n = typeof tag === 'string' ? TAGGED_NUMBERS.get(tag) : undefined;
  if (n === undefined) throw new Error(`checkpoint: malformed $number ${JSON.stringify(tag)} in the structure metadata`);
  return n;
}

function decodeKey(key: unknown): unknown {
  if (key === null || typeof key === 'string' || typeof key === 'number' || typeof key === 'boolean') return key;
  if (typeof key === 'object' && '$number' in key) return decodeNumber(key.$number);
  throw new Error('checkpoint: malformed $map key in the structure metadata');
}

function fromStructure(node: unknown, tensors: Map<string, Tensor>, depth = 0): unknown {
  checkDepth(depth, '', 'load');
  if (Array.isArray(node)) return node.map((v) => fromStructure(v, tensors, depth + 1));
  if (node === null || typeof node !== 'object') return node;
  const n = node as Record<string, unknown>;
  if (typeof n.$tensor === 'string') {
    const t = tensors.get(n.$tensor);
    if (!t) throw new Error(`checkpoint: the structure refers to tensor '${n.$tensor}', which the file does not contain`);
    return t;
  }
  if ('$number' in n) return decodeNumber(n.$number);
  const pairs = (key: string): [unknown, unknown][] => {
    const list = n[key];
    if (!Array.isArray(list) || !list.every((p) => Array.isArray(p) && p.length === 2 && (key === '$map' || typeof p[0] === 'string'))) {
      throw new Error(`checkpoint: malformed ${key} entry in the structure metadata`);
    }
    return list as [unknown, unknown][];
  };
  if ('$map' in n) return new Map(pairs('$map').map(([k, v]) => [decodeKey(k), fromStructure(v, tensors, depth + 1)]));
  // fromEntries defines own properties: a key named __proto__ stays an ordinary key, no prototype is touched.
  if ('$object' in n) return Object.fromEntries(pairs('$object').map(([k, v]) => [k, fromStructure(v, tensors, depth + 1)]));
  throw new Error('checkpoint: unknown node in the structure metadata');
}

/**
 * A Map of tensors under string names is written as a plain safetensors file (PyTorch's
 * `load_file` reads it). A name the format cannot hold (`__metadata__`) or a non-string key sends it
 * through the structure instead, so it still loads as it was.
 */
const isFlat = (c: Checkpoint): c is Map<string, Tensor> =>
  c instanceof Map && [...c].every(([k, v]) => typeof k === 'string' && k !== '__metadata__' && v instanceof Tensor);

/**
 * The checkpoint as safetensors bytes (works in browsers: no file system involved).
 * @example
 * const bytes = await serializeCheckpoint({ model: model.stateDict(), optimizer: opt.stateDict(), epoch: 3 });
 */
export async function serializeCheckpoint(checkpoint: Checkpoint, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  if (STRUCTURE_KEY in metadata) throw new Error(`checkpoint: the metadata key '${STRUCTURE_KEY}' is tsgrad's own (it holds the saved structure)`);
  if (checkpoint === null || typeof checkpoint !== 'object' || checkpoint instanceof Tensor || !(checkpoint instanceof Map || Array.isArray(checkpoint) || Object.getPrototypeOf(checkpoint) === Object.prototype)) {
    throw new Error(`checkpoint: expected a Map, a plain object or an array at the top level, got ${describe(checkpoint)}`);
  }
  if (isFlat(checkpoint)) return encodeSafetensors(checkpoint, { format: 'pt', ...metadata });
  const tensors = new Map<string, Tensor>();
  const structure = toStructure(checkpoint, '', tensors);
  return encodeSafetensors(tensors, { ...metadata, [STRUCTURE_KEY]: JSON.stringify(structure) });
}

/**
 * Parses safetensors bytes; returns the saved structure, or a Map of tensors for a flat file (e.g. PyTorch's).
 * @example
 * const { model: weights } = deserializeCheckpoint(bytes) as { model: Map<string, Tensor> };
 */
export function deserializeCheckpoint(bytes: Uint8Array | ArrayBuffer, opts: SafetensorsReadOptions = {}): Checkpoint {
  checkOptionKeys('deserializeCheckpoint', opts, ['maxHeaderBytes']);
  const { tensors, metadata } = decodeSafetensors(bytes, opts);
  const structure = metadata.get(STRUCTURE_KEY);
  if (structure === undefined) return tensors;
  let parsed: unknown;
  try {
    parsed = JSON.parse(structure);
  } catch {
    throw new Error('checkpoint: the structure metadata is not valid JSON');
  }
  const out = fromStructure(parsed, tensors);
  if (out === null || typeof out !== 'object') throw new Error('checkpoint: the structure metadata does not describe an object');
  return out as Checkpoint;
}

/**
 * The platform's Blob: the DOM's in a browser project, Node's where `@types/node` is loaded, and for a
 * project with neither (`lib: ["es2022"]` alone) the part of a Blob these functions use, so that the
 * published .d.ts names no type that project's libraries lack.
 */
export type BlobLike = typeof globalThis extends { Blob: { prototype: infer B } } ? B : { readonly size: number; readonly type: string; arrayBuffer(): Promise<ArrayBuffer> };

/**
 * A Blob for downloads in the browser.
 * @example
 * // In the browser: download a checkpoint.
 * const blob = await checkpointToBlob({ model: model.stateDict() });
 * link.href = URL.createObjectURL(blob);
 */
export async function checkpointToBlob(checkpoint: Checkpoint): Promise<BlobLike> {
  // A fresh Uint8Array is backed by an ArrayBuffer, which every lib's BlobPart accepts.
  return new Blob([new Uint8Array(await serializeCheckpoint(checkpoint))], { type: 'application/octet-stream' });
}

/**
 * Reads a checkpoint from a Blob or File (e.g. an `<input type=file>`).
 * @example
 * // In the browser: an <input type="file"> upload.
 * const checkpoint = await checkpointFromBlob(input.files![0]);
 */
export async function checkpointFromBlob(blob: BlobLike): Promise<Checkpoint> {
  return deserializeCheckpoint(new Uint8Array(await blob.arrayBuffer()));
}

/**
 * Writes a checkpoint atomically: to a temporary file of its own beside the target (a short random
 * name: overlapping saves to one path each write their own, and a target name up to the file
 * system's limit still saves), flushed to disk, then renamed over it. A crash mid-write leaves the
 * old file or the new one, never a truncated one or a mix; concurrent saves end with one complete
 * file (the last rename). Temp files a killed save left are removed by the next save. Overwriting
 * keeps the file's permission bits (a 0600 file stays private); a new file follows the umask.
 * Whatever `save` accepts, `load` returns; what it cannot store is an Error before anything is written.
 * @example await save(model.stateDict(), 'model.safetensors'); await save(opt.stateDict(), 'opt.safetensors');
 */
export async function save(checkpoint: Checkpoint, path: string): Promise<void> {
  const bytes = await serializeCheckpoint(checkpoint);
  await writeFileAtomic(path, bytes);
}

/**
 * Reads a checkpoint written by `save` (or any safetensors file, e.g. from PyTorch: a Map of tensors).
 * The type parameter names what you saved, so a resume needs no cast (it is not checked at run
 * time: the loaders it feeds, `loadStateDict`, check what they get).
 * @example
 * model.loadStateDict(await load<Map<string, Tensor>>('model.safetensors'));
 * opt.loadStateDict(await load<OptimizerStateDict>('optim.safetensors'));
 */
export async function load<T = Checkpoint>(path: string, opts: SafetensorsReadOptions = {}): Promise<T> {
  checkOptionKeys('load', opts, ['maxHeaderBytes']);
  const fs = await nodeModule<typeof NodeFsPromises>('node:fs/promises');
  const buf = await fs.readFile(path);
  return deserializeCheckpoint(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), opts) as T;
}
