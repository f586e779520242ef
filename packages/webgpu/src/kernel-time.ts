/** One row of a `profile()` table: an op, how many kernels of it ran, their total GPU time. */
export interface KernelTime {
  op: string;
  calls: number;
  ms: number;
}
