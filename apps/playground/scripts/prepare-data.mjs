#!/usr/bin/env node
/**
 * Writes public/mnist.bin for the page: a seeded sample of the `mnist` package's real digits as
 * bytes (pixels 0-255, 784 per digit, then one label byte per digit), about 3 MB instead of the
 * package's 21 MB of JSON. Header: "MNST", u32 count (little-endian).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const COUNT = 4000;
const images = [];
const labels = [];
for (let digit = 0; digit < 10; digit++) {
  const data = JSON.parse(readFileSync(require.resolve(`mnist/src/digits/${digit}.json`), 'utf8')).data;
  for (let i = 0; i + 784 <= data.length; i += 784) {
    images.push(data.slice(i, i + 784));
    labels.push(digit);
  }
}
// A seeded shuffle (mulberry32), so every build ships the same sample.
let seed = 7;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const order = images.map((_, i) => i);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}
const out = new Uint8Array(8 + COUNT * 785);
out.set([77, 78, 83, 84], 0);
new DataView(out.buffer).setUint32(4, COUNT, true);
order.slice(0, COUNT).forEach((k, r) => {
  for (let p = 0; p < 784; p++) out[8 + r * 784 + p] = Math.round(images[k][p] * 255);
  out[8 + COUNT * 784 + r] = labels[k];
});
mkdirSync('public', { recursive: true });
writeFileSync('public/mnist.bin', out);
console.log(`public/mnist.bin: ${COUNT} digits, ${out.length} bytes`);

// public/words.txt for the tiny GPT view: WORDS words of the `word-list` package made only of a to z,
// drawn by the same seeded shuffle, one per line (about 190 kB, 70 kB gzipped, against 2.8 MB for the list).
const WORDS = 20000;
const { default: wordListPath } = await import('word-list');
const list = readFileSync(wordListPath, 'utf8').split('\n').filter((w) => /^[a-z]+$/.test(w));
for (let i = 0; i < WORDS; i++) {
  const j = i + Math.floor(random() * (list.length - i));
  [list[i], list[j]] = [list[j], list[i]];
}
const text = list.slice(0, WORDS).join('\n') + '\n';
writeFileSync('public/words.txt', text);
console.log(`public/words.txt: ${WORDS} words, ${text.length} bytes`);
