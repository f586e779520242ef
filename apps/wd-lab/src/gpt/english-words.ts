import { readFileSync } from 'node:fs';
import wordListPath from 'word-list';

// Node only (it reads the package's file): the rest of src/gpt runs in a browser too (the playground's GPT view).

/** Every word of the `word-list` package (Sindre Sorhus, MIT; 274k English words) made only of a to z. */
export function englishWords(): string[] {
  return readFileSync(wordListPath, 'utf8').split('\n').filter((w) => /^[a-z]+$/.test(w));
}
