import { Tensor } from './tensor.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

/**
 * Checkpoints in the safetensors format. A flat `Map<string, Tensor>` (a module's `stateDict()`) is
 * written as a plain safetensors file that PyTorch's `safetensors.torch.load_file` reads. Nested
 * state (an optimizer's `{ state, param_groups }`) stores its tensors under dotted names
 * (`state.0.exp_avg`) and everything else (steps, options) as JSON in the metadata, and loads back
 * into the same shape.
 */
export type Checkpoint = Map<string, Tensor> | { [key: string]: unknown };

const STRUCTURE_KEY = 'tsgrad.structure';

/** JSON for the non-tensor part: tensors become {$tensor: name}; Maps, NaN and infinities are tagged. */
function toStructure(value: unknown, path: string, tensors: Map<string, Tensor>): unknown {
  if (value instanceof Tensor) {
    if (tensors.has(path)) throw new Error(`checkpoint: two tensors would be stored under '${path}'`);
    tensors.set(path, value);
    return { $tensor: path };
  }
  const child = (key: string) => (path ? `${path}.${key}` : key);
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [k, toStructure(v, child(String(k)), tensors)]) };
  if (Array.isArray(value)) return value.map((v, i) => toStructure(v, child(String(i)), tensors));
  if (typeof value === 'number' && !Number.isFinite(value)) return { $number: String(value) };
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return { $object: Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toStructure(v, child(k), tensors)]) };
  }
  throw new Error(`checkpoint: cannot store ${typeof value} at '${path || '(root)'}' (tensors, numbers, strings, booleans, null, arrays, plain objects and Maps only)`);
}

function fromStructure(node: unknown, tensors: Map<string, Tensor>): unknown {
  if (Array.isArray(node)) return node.map((v) => fromStructure(v, tensors));
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
  if ('$map' in n) return new Map(pairs('$map').map(([k, v]) => [k, fromStructure(v, tensors)]));
  // fromEntries defines own properties: a key named __proto__ stays an ordinary key, no prototype is touched.
  if ('$object' in n) return Object.fromEntries(pairs('$object').map(([k, v]) => [k, fromStructure(v, tensors)]));
  throw new Error('checkpoint: unknown node in the structure metadata');
}

const isFlat = (c: Checkpoint): c is Map<string, Tensor> => c instanceof Map && [...c.values()].every((v) => v instanceof Tensor);

/** The checkpoint as safetensors bytes (works in browsers: no file system involved). */
export async function serializeCheckpoint(checkpoint: Checkpoint, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  if (isFlat(checkpoint)) return encodeSafetensors(checkpoint, { format: 'pt', ...metadata });
  const tensors = new Map<string, Tensor>();
  const structure = toStructure(checkpoint, '', tensors);
  return encodeSafetensors(tensors, { ...metadata, [STRUCTURE_KEY]: JSON.stringify(structure) });
}

/** Parses safetensors bytes; returns the saved structure, or a Map of tensors for a flat file (e.g. PyTorch's). */
export function deserializeCheckpoint(bytes: Uint8Array | ArrayBuffer): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes);
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

/** A Blob for downloads in the browser. */
export async function checkpointToBlob(checkpoint: Checkpoint): Promise<Blob> {
  // A fresh Uint8Array is backed by an ArrayBuffer, which every lib's BlobPart accepts.
  return new Blob([new Uint8Array(await serializeCheckpoint(checkpoint))], { type: 'application/octet-stream' });
}

/** Reads a checkpoint from a Blob or File (e.g. an `<input type=file>`). */
export async function checkpointFromBlob(blob: Blob): Promise<Checkpoint> {
  return deserializeCheckpoint(new Uint8Array(await blob.arrayBuffer()));
}

/**
 * Writes a checkpoint atomically: to a temporary file beside the target, flushed to disk, then
 * renamed over it, so a crash mid-write leaves the old file or the new one, never a truncated one.
 * @example await save(model.stateDict(), 'model.safetensors'); await save(opt.stateDict(), 'opt.safetensors');
 */
export async function save(checkpoint: Checkpoint, path: string): Promise<void> {
  const fs = await import(/* @vite-ignore */ 'node:fs/promises');
  const bytes = await serializeCheckpoint(checkpoint);
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (e) {
    await handle.close();
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Reads a checkpoint written by `save` (or any safetensors file, e.g. from PyTorch: a Map of tensors).
 * @example model.loadStateDict(await load('model.safetensors') as Map<string, Tensor>);
 */
export async function load(path: string): Promise<Checkpoint> {
  const fs = await import(/* @vite-ignore */ 'node:fs/promises');
  const buf = await fs.readFile(path);
  return deserializeCheckpoint(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
}
