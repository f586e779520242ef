import { accessSync, constants, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from './flags.js';

/**
 * The report folder of `--out`, resolved against where the user ran the command (pnpm runs package
 * scripts inside the package), created and checked writable before any training.
 */
export function reportFolder(out: string): string {
  const folder = path.resolve(process.env.INIT_CWD ?? process.cwd(), out);
  try {
    mkdirSync(folder, { recursive: true });
    accessSync(folder, constants.W_OK);
  } catch (e) {
    throw new UsageError(`--out: cannot write the report folder ${folder} (${(e as Error).message})`);
  }
  return folder;
}

/** Writes through a temporary file and a rename, so a crash never leaves a truncated report file. */
export function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}
