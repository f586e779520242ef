import { spawnSync } from 'node:child_process';
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
