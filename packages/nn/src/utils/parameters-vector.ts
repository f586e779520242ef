import { cat, noGrad, type Tensor } from '@tsgrad/autograd';
import { formatShape } from '@tsgrad/tensor';

/**
 * Every parameter flattened and concatenated into one vector, PyTorch's
 * `torch.nn.utils.parameters_to_vector` (differentiable, on the parameters' device).
 * @example const flat = parametersToVector(model.parameters()); // [numel of all]
 */
export function parametersToVector(parameters: Iterable<Tensor>): Tensor {
  const list = [...parameters];
  if (list.length === 0) throw new Error('parametersToVector: no parameters');
  const device = list[0].device;
  list.forEach((p, i) => {
    if (p.device !== device) throw new Error(`parametersToVector: parameters[${i}] is on ${p.device}, parameters[0] on ${device}`);
  });
  return cat(list.map((p) => p.reshape([-1])), 0);
}

/**
 * Copies consecutive slices of `vec` into the parameters, PyTorch's
 * `torch.nn.utils.vector_to_parameters`; `vec` must have exactly as many elements as the parameters.
 * @example vectorToParameters(parametersToVector(other.parameters()), model.parameters());
 */
export function vectorToParameters(vec: Tensor, parameters: Iterable<Tensor>): void {
  const list = [...parameters];
  const total = list.reduce((n, p) => n + p.numel(), 0);
  if (vec.ndim !== 1) throw new Error(`vectorToParameters: expected a 1-D vector, got shape ${formatShape(vec.shape)}`);
  if (vec.numel() !== total) throw new Error(`vectorToParameters: the vector has ${vec.numel()} elements, the parameters ${total}`);
  let offset = 0;
  noGrad(() => {
    for (const p of list) {
      p.copy_(vec.narrow(0, offset, p.numel()).reshape(p.shape));
      offset += p.numel();
    }
  });
}
