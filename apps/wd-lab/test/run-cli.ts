import { vi } from 'vitest';
import { main } from '../src/cli.js';

/** Runs the CLI in-process and returns its exit code with everything it printed (stdout and stderr). */
export async function runCli(argv: string[]): Promise<{ code: number; text: string }> {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
  const err = vi.spyOn(console, 'error').mockImplementation((s: string) => void out.push(s));
  try {
    const code = await main(argv);
    return { code, text: out.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}
