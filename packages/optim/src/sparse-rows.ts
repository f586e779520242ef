import type { SparseTensor, Tensor } from '@tsgrad/autograd';
import { numel } from '@tsgrad/tensor';

/**
 * A sparse gradient as the optimizers' sparse steps read it: coalesced (unique sorted rows, the update
 * rules are non-linear), as a row index and the rows' values, which a program then visits through the
 * Backend contract (`ProgramItem.rows`; the CPU backend runs them).
 */
export interface SparseRows {
  index: Tensor;
  values: Tensor;
  /** Elements per row. */
  width: number;
}

export function sparseRows(grad: Tensor, optimizer: string): SparseRows {
  if (grad.device !== 'cpu') throw new Error(`${optimizer}: sparse gradients are supported on the CPU only (this one is on ${grad.device})`);
  const g = (grad as SparseTensor).coalesce();
  return { index: g.indices(), values: g.values().contiguous(), width: numel(g.shape.slice(1)) };
}
