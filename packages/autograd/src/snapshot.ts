import { shapesEqual, type View } from '@tsgrad/tensor';
import type { Tensor, VersionCounter } from './tensor.js';

/**
 * A tensor as the forward pass read it (its view and version), for values backward makes again
 * instead of keeping (recomputed-casts.ts, recomputed-sums.ts): remaking them from a tensor that has
 * changed since would give silently wrong gradients, so the change must be told apart.
 */
export interface Snapshot {
  readonly tensor: Tensor;
  /** Its view (storage, shape, strides, offset), version counter and version at forward time (`setData` swaps them). */
  readonly view: View;
  readonly version: VersionCounter;
  readonly versionValue: number;
}

/**
 * @internal `t` as it is now.
 * @example
 * const s = snapshot(w);
 * noGrad(() => w.mul_(2));
 * changeSince(s); // 'written'
 */
export function snapshot(t: Tensor): Snapshot {
  return { tensor: t, view: t.toView(), version: t._version, versionValue: t._version.value };
}

/**
 * @internal How the tensor changed since `s`: new data (`setData`, also the same memory
 * transposed), written in place, or not at all.
 * @example
 * changeSince(snapshot(w)); // null
 */
export function changeSince({ tensor, view, version, versionValue }: Snapshot): 'replaced' | 'written' | null {
  const now = tensor.toView();
  const sameView = now.storage === view.storage && now.dtype === view.dtype && now.offset === view.offset && shapesEqual(now.shape, view.shape) && shapesEqual(now.strides, view.strides);
  if (tensor._version !== version || !sameView) return 'replaced';
  return tensor._version.value !== versionValue ? 'written' : null;
}
