import type { SparseTensor, Tensor } from '@tsgrad/autograd';
import { CpuStorage, numel, type TypedArray } from '@tsgrad/tensor';

/**
 * A sparse gradient as the optimizers' sparse paths read it: coalesced (unique sorted rows, the
 * update rules are non-linear), with the parameter's memory, per row.
 */
export interface SparseRows {
  rows: Int32Array;
  values: TypedArray;
  /** Elements per row. */
  width: number;
}

export function sparseRows(grad: Tensor, optimizer: string): SparseRows {
  if (grad.device !== 'cpu') throw new Error(`${optimizer}: sparse gradients are supported on the CPU only (this one is on ${grad.device})`);
  const g = (grad as SparseTensor).coalesce();
  const width = numel(g.shape.slice(1));
  return { rows: g.indices().dataSync() as Int32Array, values: g.values().dataSync(), width };
}

/** The CPU memory of a contiguous tensor (parameters and optimizer state are). */
export function cpuData(t: Tensor, optimizer: string): TypedArray {
  const s = t.storage;
  if (!(s instanceof CpuStorage) || !t.isContiguous()) throw new Error(`${optimizer}: sparse gradients need contiguous CPU parameters`);
  return s.data.subarray(t.storageOffset(), t.storageOffset() + t.numel());
}
