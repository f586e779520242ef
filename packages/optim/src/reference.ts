import type { TypedArray } from '@tsgrad/tensor';

/**
 * An optimizer's readable single-tensor loop, element by element (PyTorch keeps `_single_tensor_adam`
 * for the same reason): the oracle that every rendering of its program is tested against, not a
 * runtime path. Float64 arrays give PyTorch's float64 numbers; float32 arrays round where it does.
 * @internal
 */
export type ReferenceStep<S extends string, H> = (param: TypedArray, grad: TypedArray, state: Partial<Record<S, TypedArray>>, hyper: H) => void;
