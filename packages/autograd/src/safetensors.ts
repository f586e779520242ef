import { checkOptionKeys, formatShape, numel, type DType, type TypedArray } from '@tsgrad/tensor';
import { tensor } from './creation.js';
import { Tensor } from './tensor.js';
import { readStored } from './stored.js';

/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__ }`,
 * then the raw little-endian tensor bytes. Written with PyTorch's dtype names (F32, F64, F16, BF16,
 * I32, BOOL); F16 and BF16 are read into float16 and bfloat16 tensors bit for bit (no widening), and
 * U8, I8, I16 and I64 into int32.
 *
 * The parser trusts nothing: every length, offset, dtype and shape is checked against the file,
 * names go into a Map (a tensor called `__proto__` is just a name), and each problem is an Error
 * naming the entry and the value.
 */
const WRITE_DTYPE: Record<DType, string> = { float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16', int32: 'I32', bool: 'BOOL' };
const READ_DTYPE: Record<string, { size: number; as: DType }> = {
  F32: { size: 4, as: 'float32' },
  F64: { size: 8, as: 'float64' },
  I32: { size: 4, as: 'int32' },
  BOOL: { size: 1, as: 'bool' },
  U8: { size: 1, as: 'int32' },
  I8: { size: 1, as: 'int32' },
  I16: { size: 2, as: 'int32' },
  I64: { size: 8, as: 'int32' },
  F16: { size: 2, as: 'float16' },
  BF16: { size: 2, as: 'bfloat16' },
};
/**
 * The default cap on a header's size: 16 MiB, about 150,000 tensor entries, far above any model's
 * (the format itself allows 100 MB, which costs tens of seconds and gigabytes to parse in JavaScript).
 * Pass `{ maxHeaderBytes }` to read a larger one.
 */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** Options of `decodeSafetensors` (and of `load` / `deserializeCheckpoint`, which pass them on). */
export interface SafetensorsReadOptions {
  /**
   * The largest header accepted, in bytes.
   * @defaultValue `MAX_HEADER_BYTES` (16 MiB)
   */
  maxHeaderBytes?: number;
}

/**
 * The keys of the top-level JSON object `text` (already known to be valid JSON), in order and with
 * repeats: `JSON.parse` keeps only the last of duplicate names, which would silently drop a tensor.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        keys.push(JSON.parse(text.slice(i, j + 1)) as string);
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Map<string, string>;
}

function fail(msg: string): never {
  throw new Error(`safetensors: ${msg}`);
}

/**
 * Encodes CPU or device tensors (read asynchronously) into one safetensors buffer.
 * @example
 * const bytes = await encodeSafetensors(new Map([['weight', randn([2, 3])]]), { format: 'pt' });
 */
export async function encodeSafetensors(tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const entries: { name: string; dtype: DType; shape: number[]; bytes: Uint8Array }[] = [];
  for (const [name, t] of tensors) {
    // The format reserves this key for the metadata: such a file would not load (save() picks another name).
    if (name === '__metadata__') fail(`a tensor cannot be named '__metadata__' (the header's key for the metadata)`);
    if (typeof name !== 'string') fail(`tensor names must be strings, got ${typeof name} ${String(name)}`);
    if (!(t instanceof Tensor)) fail(`'${name}' is not a Tensor`);
    // Stored elements: float16 and bfloat16 as their bits, the file's F16 and BF16 as they are.
    const data = await readStored(t);
    entries.push({ name, dtype: t.dtype, shape: t.shape, bytes: toLittleEndianBytes(data) });
  }
  for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') fail(`__metadata__ value of '${k}' must be a string, got ${typeof v}`);
  // The header is written by hand, in the Map's order: an object would move integer-like names
  // ('0', '1') first, and the Map read back would come out in another order than it went in.
  const fields = Object.keys(metadata).length > 0 ? [`"__metadata__":${JSON.stringify(metadata)}`] : [];
  let offset = 0;
  for (const e of entries) {
    const spec = { dtype: WRITE_DTYPE[e.dtype], shape: e.shape, data_offsets: [offset, offset + e.bytes.length] };
    fields.push(`${JSON.stringify(e.name)}:${JSON.stringify(spec)}`);
    offset += e.bytes.length;
  }
  let json = `{${fields.join(',')}}`;
  // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
  const headerBytes = new TextEncoder().encode(json);
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  json += ' '.repeat(padded - headerBytes.length);
  const jsonBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + jsonBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  out.set(jsonBytes, 8);
  let pos = 8 + jsonBytes.length;
  for (const e of entries) {
    out.set(e.bytes, pos);
    pos += e.bytes.length;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function toLittleEndianBytes(a: TypedArray): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
  if (LITTLE_ENDIAN || a.BYTES_PER_ELEMENT === 1) return bytes;
  for (let i = 0; i < bytes.length; i += a.BYTES_PER_ELEMENT) bytes.subarray(i, i + a.BYTES_PER_ELEMENT).reverse();
  return bytes;
}

function decodeValues(dtype: string, view: DataView, n: number, name: string): TypedArray {
  switch (dtype) {
    // Floats as their bits: a value through a JavaScript number may come back as another NaN (a
    // signalling NaN is quietened), and the file's bytes must load and save as they are.
    case 'F32': {
      const out = new Float32Array(n);
      const words = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) words[i] = view.getUint32(i * 4, true);
      return out;
    }
    case 'F64': {
      const out = new Float64Array(n);
      const words = new Uint32Array(out.buffer);
      const [lo, hi] = LITTLE_ENDIAN ? [0, 1] : [1, 0];
      for (let i = 0; i < n; i++) {
        words[2 * i + lo] = view.getUint32(i * 8, true);
        words[2 * i + hi] = view.getUint32(i * 8 + 4, true);
      }
      return out;
    }
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getUint8(i) ? 1 : 0;
      return out;
    }
    case 'F16':
    case 'BF16': {
      // The bits, which tensor() takes as they are for a half dtype.
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getUint16(i * 2, true);
      return out;
    }
    default: {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        let v: number;
        if (dtype === 'I32') v = view.getInt32(i * 4, true);
        else if (dtype === 'I16') v = view.getInt16(i * 2, true);
        else if (dtype === 'I8') v = view.getInt8(i);
        else if (dtype === 'U8') v = view.getUint8(i);
        else {
          const big = view.getBigInt64(i * 8, true);
          if (big > 2147483647n || big < -2147483648n) fail(`tensor '${name}': int64 value ${big} does not fit int32`);
          v = Number(big);
        }
        out[i] = v;
      }
      return out;
    }
  }
}

/**
 * Parses and validates a safetensors buffer.
 * @example
 * const file = decodeSafetensors(bytes);
 * file.tensors.get('weight')?.shape // [2, 3]
 */
export function decodeSafetensors(input: Uint8Array | ArrayBuffer, opts: SafetensorsReadOptions = {}): SafetensorsFile {
  checkOptionKeys('decodeSafetensors', opts, ['maxHeaderBytes']);
  const maxHeader = opts.maxHeaderBytes ?? MAX_HEADER_BYTES;
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length < 8) fail(`file of ${bytes.length} bytes is too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) fail(`header length ${declared} exceeds the file (${bytes.length - 8} bytes after the length field)`);
  if (declared > BigInt(maxHeader)) {
    fail(`header of ${declared} bytes exceeds the cap of ${maxHeader} bytes (MAX_HEADER_BYTES, 16 MiB by default); pass { maxHeaderBytes } to read it if you trust the file`);
  }
  const n = Number(declared);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`header must be a JSON object starting with '{', got ${JSON.stringify(text.slice(0, 20))}`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header must be a JSON object');
  const seen = new Set<string>();
  for (const key of topLevelKeys(text)) {
    if (seen.has(key)) fail(`the header names '${key}' more than once (a duplicate entry would silently replace the first)`);
    seen.add(key);
  }
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata = new Map<string, string>();
  const specs: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  // In the file's order (topLevelKeys), not the parsed object's, which moves integer-like names first.
  const byName = new Map(Object.entries(header as Record<string, unknown>));
  for (const name of seen) {
    const raw = byName.get(name);
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value of '${k}' must be a string, got ${typeof v}`);
        metadata.set(k, v);
      }
      continue;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(`entry '${name}' must be an object`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in READ_DTYPE)) fail(`tensor '${name}': unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(READ_DTYPE).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}': invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor '${name}': invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLength) fail(`tensor '${name}': data_offsets [${begin}, ${end}] outside the ${dataLength} data bytes`);
    const count = numel(shape as number[]);
    if (!Number.isSafeInteger(count) || count * READ_DTYPE[dtype].size !== end - begin) {
      fail(`tensor '${name}': shape ${formatShape(shape as number[])} of ${dtype} needs ${count * READ_DTYPE[dtype].size} bytes, data_offsets span ${end - begin}`);
    }
    specs.push({ name, dtype, shape: shape as number[], begin, end });
  }
  // The byte buffer must be covered exactly once: no holes, no overlaps (the format's rule).
  const sorted = [...specs].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const s of sorted) {
    if (s.begin !== cursor) fail(`tensor '${s.name}': data starts at ${s.begin}, expected ${cursor} (overlapping or missing bytes)`);
    cursor = s.end;
  }
  if (cursor !== dataLength) fail(`${dataLength - cursor} trailing data bytes belong to no tensor`);
  const tensors = new Map<string, Tensor>();
  for (const s of specs) {
    const slice = new DataView(bytes.buffer, bytes.byteOffset + dataStart + s.begin, s.end - s.begin);
    const values = decodeValues(s.dtype, slice, numel(s.shape), s.name);
    const dtype = READ_DTYPE[s.dtype].as;
    tensors.set(s.name, tensor(values, { dtype }).reshape(s.shape));
  }
  return { tensors, metadata };
}
