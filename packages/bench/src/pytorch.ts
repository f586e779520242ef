import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './timing.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../scripts/bench_torch.py', import.meta.url));

/** What scripts/bench_torch.py prints: its rows, notes to print beside them, its GPT's parameter count. */
export interface PyTorchResult {
  rows: BenchRow[];
  /** E.g. that this torch calls a generic reference BLAS (detected from torch.__config__), so its rows understate PyTorch. */
  notes: string[];
  gptParams?: number;
  skipped?: string;
}

/**
 * PyTorch's CPU numbers on the same cases, from scripts/bench_torch.py, when /usr/bin/python3 has
 * torch (Debian: `apt-get install python3-torch`). Reported beside tsgrad, never required: returns
 * no rows, with the reason, when torch is missing.
 */
export function benchPyTorch(sizes: number[]): PyTorchResult {
  if (!existsSync(PYTHON)) return { rows: [], notes: [], skipped: `${PYTHON} not found` };
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { rows: [], notes: [], skipped: `${PYTHON} has no torch (apt-get install python3-torch)` };
  const run = spawnSync(PYTHON, [SCRIPT, sizes.join(',')], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) return { rows: [], notes: [], skipped: `bench_torch.py failed: ${run.stderr.trim().split('\n').pop()}` };
  return JSON.parse(run.stdout) as PyTorchResult;
}

/** PyTorch's GPT step on one thread, timed on request (bench_torch.py --gpt-steps). */
export interface PyTorchGptStepper {
  /** The median milliseconds of `steps` steps (after one warm-up step). */
  time(steps: number): Promise<number>;
  close(): void;
}

/**
 * Starts bench_torch.py's GPT step server, for rounds that alternate it with tsgrad's step
 * (gpt.ts, alternatingRounds); null when /usr/bin/python3 has no torch. Only one process runs at a
 * time: each side waits while the other computes.
 * @example
 * const torch = await pytorchGptStepper(); const ms = await torch?.time(5); torch?.close();
 */
export async function pytorchGptStepper(): Promise<PyTorchGptStepper | null> {
  if (!existsSync(PYTHON) || spawnSync(PYTHON, ['-c', 'import torch']).status !== 0) return null;
  const child = spawn(PYTHON, [SCRIPT, '--gpt-steps'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error('bench_torch.py --gpt-steps exited');
    return line.value;
  };
  if ((await next()) !== 'ready') throw new Error('bench_torch.py --gpt-steps did not start');
  return {
    async time(steps) {
      child.stdin.write(`${steps}\n`);
      return Number(await next());
    },
    close() {
      child.stdin.end();
    },
  };
}
