import { tensor, type Device, type Generator, type Tensor } from '@tsgrad/autograd';

/** The end of a word (and the start of the next): token 0, printed as '.'. */
export const BOUNDARY = '.';
/** '.', then a to z: the vocabulary of the character-level model. */
export const ALPHABET = BOUNDARY + 'abcdefghijklmnopqrstuvwxyz';

/** `n` of `words` drawn without replacement (a Fisher–Yates shuffle by `generator`), split into train and validation. */
export function drawWords(words: readonly string[], n: number, generator: Generator): { train: string[]; val: string[] } {
  if (n > words.length) throw new Error(`drawWords: asked for ${n} words, the list has ${words.length}`);
  const pool = [...words];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(generator.random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const picked = pool.slice(0, n);
  const nVal = Math.max(1, Math.round(n / 10));
  return { train: picked.slice(nVal), val: picked.slice(0, nVal) };
}

/** Words as one token stream, each word followed by the boundary: '.' 'c' 'a' 't' '.' 'd' 'o' 'g' '.' */
export function encodeWords(words: readonly string[]): Int32Array {
  const text = BOUNDARY + words.join(BOUNDARY) + BOUNDARY;
  return Int32Array.from(text, (c) => ALPHABET.indexOf(c));
}

/**
 * A batch of `batchSize` windows of `blockSize` tokens from random places of `stream` (nanoGPT's
 * get_batch): inputs x and the next tokens y, both int32 [batchSize, blockSize].
 */
export function windowBatch(stream: Int32Array, opts: { batchSize: number; blockSize: number; generator: Generator; device: Device }): { x: Tensor; y: Tensor } {
  const { batchSize, blockSize, generator, device } = opts;
  const x = new Int32Array(batchSize * blockSize);
  const y = new Int32Array(batchSize * blockSize);
  for (let b = 0; b < batchSize; b++) {
    const start = Math.floor(generator.random() * (stream.length - blockSize - 1));
    x.set(stream.subarray(start, start + blockSize), b * blockSize);
    y.set(stream.subarray(start + 1, start + blockSize + 1), b * blockSize);
  }
  return { x: tensor(x).reshape([batchSize, blockSize]).to(device), y: tensor(y).reshape([batchSize, blockSize]).to(device) };
}
