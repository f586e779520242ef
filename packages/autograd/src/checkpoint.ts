import type * as NodeCrypto from 'node:crypto';
import type * as NodeFsPromises from 'node:fs/promises';
import type * as NodePath from 'node:path';
import { checkOptionKeys } from '@tsgrad/tensor';
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

/** JSON for the non-tensor part: tensors become {$tensor: name}; Maps, NaN and infinities are tagged. */
function toStructure(value: unknown, path: string, tensors: Map<string, Tensor>, depth = 0): unknown {
  checkDepth(depth, path, 'save');
  if (value instanceof Tensor) {
    if (tensors.has(path)) throw new Error(`checkpoint: two tensors would be stored under '${path}'`);
    tensors.set(path, value);
    return { $tensor: path };
  }
  const child = (key: string) => (path ? `${path}.${key}` : key);
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [k, toStructure(v, child(String(k)), tensors, depth + 1)]) };
  if (Array.isArray(value)) return value.map((v, i) => toStructure(v, child(String(i)), tensors, depth + 1));
  if (typeof value === 'number' && !Number.isFinite(value)) return { $number: String(value) };
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return { $object: Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toStructure(v, child(k), tensors, depth + 1)]) };
  }
  throw new Error(`checkpoint: cannot store ${typeof value} at '${path || '(root)'}' (tensors, numbers, strings, booleans, null, arrays, plain objects and Maps only)`);
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
  if (typeof n.$number === 'string') return Number(n.$number);
  const pairs = (key: string): [string, unknown][] => {
    const list = n[key];
    if (!Array.isArray(list) || !list.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string')) {
      throw new Error(`checkpoint: malformed ${key} entry in the structure metadata`);
    }
    return list as [string, unknown][];
  };
  if ('$map' in n) return new Map(pairs('$map').map(([k, v]) => [k, fromStructure(v, tensors, depth + 1)]));
  // fromEntries defines own properties: a key named __proto__ stays an ordinary key, no prototype is touched.
  if ('$object' in n) return Object.fromEntries(pairs('$object').map(([k, v]) => [k, fromStructure(v, tensors, depth + 1)]));
  throw new Error('checkpoint: unknown node in the structure metadata');
}

const isFlat = (c: Checkpoint): c is Map<string, Tensor> => c instanceof Map && [...c.values()].every((v) => v instanceof Tensor);

/**
 * The checkpoint as safetensors bytes (works in browsers: no file system involved).
 * @example
 * const bytes = await serializeCheckpoint({ model: model.stateDict(), optimizer: opt.stateDict(), epoch: 3 });
 */
export async function serializeCheckpoint(checkpoint: Checkpoint, metadata: Record<string, string> = {}): Promise<Uint8Array> {
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
 * A Blob for downloads in the browser.
 * @example
 * // In the browser: download a checkpoint.
 * const blob = await checkpointToBlob({ model: model.stateDict() });
 * link.href = URL.createObjectURL(blob);
 */
export async function checkpointToBlob(checkpoint: Checkpoint): Promise<Blob> {
  // A fresh Uint8Array is backed by an ArrayBuffer, which every lib's BlobPart accepts.
  return new Blob([new Uint8Array(await serializeCheckpoint(checkpoint))], { type: 'application/octet-stream' });
}

/**
 * Reads a checkpoint from a Blob or File (e.g. an `<input type=file>`).
 * @example
 * // In the browser: an <input type="file"> upload.
 * const checkpoint = await checkpointFromBlob(input.files![0]);
 */
export async function checkpointFromBlob(blob: Blob): Promise<Checkpoint> {
  return deserializeCheckpoint(new Uint8Array(await blob.arrayBuffer()));
}

type NodeFs = typeof NodeFsPromises;

/**
 * Node's modules, imported through a variable as @tsgrad/tensor does: a bundler then leaves them
 * alone, so browser builds of apps that use tsgrad stay silent (save/load are Node-only; the Blob
 * helpers are the browser's path).
 */
async function nodeModule<T>(name: 'node:fs/promises' | 'node:path' | 'node:crypto'): Promise<T> {
  const specifier: string = name;
  return (await import(/* @vite-ignore */ specifier)) as T;
}

/** Temp files of saves in flight in this process (a later save must not remove them). */
const savesInFlight = new Set<string>();

/** `model.safetensors.tmp-<pid>-<random>`: one name per save, so overlapping saves never share a file. */
const TEMP_NAME = /^(.*)\.tmp-(\d+)-[0-9a-f-]{36}$/;

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp files that a killed save left beside `path`: those of processes that no longer run,
 * and this process's own that no save of it is writing. Another live process's save is left alone.
 */
async function removeStaleTemps(fs: NodeFs, path: string): Promise<void> {
  const { dirname, basename, join } = await nodeModule<typeof NodePath>('node:path');
  const dir = dirname(path);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || m[1] !== basename(path)) continue;
    const full = join(dir, name);
    const pid = Number(m[2]);
    const stale = pid === process.pid ? !savesInFlight.has(full) : !processIsAlive(pid);
    if (stale) await fs.rm(full, { force: true });
  }
}

/**
 * Writes a checkpoint atomically: to a temporary file of its own beside the target (a random name:
 * overlapping saves to one path each write their own), flushed to disk, then renamed over it. A crash
 * mid-write leaves the old file or the new one, never a truncated one or a mix; concurrent saves end
 * with one complete file (the last rename). Temp files a killed save left are removed by the next save.
 * @example await save(model.stateDict(), 'model.safetensors'); await save(opt.stateDict(), 'opt.safetensors');
 */
export async function save(checkpoint: Checkpoint, path: string): Promise<void> {
  const fs = await nodeModule<NodeFs>('node:fs/promises');
  const bytes = await serializeCheckpoint(checkpoint);
  await removeStaleTemps(fs, path);
  const { randomUUID } = await nodeModule<typeof NodeCrypto>('node:crypto');
  const tmp = `${path}.tmp-${process.pid}-${randomUUID()}`;
  savesInFlight.add(tmp);
  try {
    const handle = await fs.open(tmp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  } finally {
    savesInFlight.delete(tmp);
  }
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
  const fs = await nodeModule<NodeFs>('node:fs/promises');
  const buf = await fs.readFile(path);
  return deserializeCheckpoint(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), opts) as T;
}
