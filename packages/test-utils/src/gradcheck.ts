import type { CpuStorage } from '@tsgrad/tensor';
import type { Tensor} from '@tsgrad/autograd';
import { Generator, noGrad, tensor } from '@tsgrad/autograd';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed of the random cotangent that turns a non-scalar output into a scalar. */
  seed?: number;
}

/** Float64 element `i` (row-major over the view) of a CPU tensor, as a storage position. */
function storagePosition(t: Tensor, i: number): number {
  let pos = t.storageOffset();
  const shape = t.shape;
  const strides = t.stride();
  for (let d = shape.length - 1; d >= 0; d--) {
    pos += (i % shape[d]) * strides[d];
    i = Math.floor(i / shape[d]);
  }
  return pos;
}

/**
 * Compares autograd's gradients with central finite differences in float64 (PyTorch's `gradcheck`).
 * For a non-scalar output it checks the vector-Jacobian product with a fixed random cotangent v,
 * i.e. the gradient of sum(fn(inputs) * v). Inputs may be strided views; each element is perturbed
 * in place through its view. Throws naming the input, the element and both values on mismatch.
 * @example gradcheck((a, b) => a.mul(b).sum(), [randn([3], f64grad), randn([3], f64grad)])
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): void {
  const { eps = 1e-6, atol = 1e-6, rtol = 1e-5, seed = 1234 } = opts;
  for (const [k, t] of inputs.entries()) {
    if (t.requiresGrad && (t.dtype !== 'float64' || t.device !== 'cpu')) {
      throw new Error(`gradcheck: input ${k} must be a float64 CPU tensor, got ${t.dtype} on ${t.device}`);
    }
  }
  const out0 = noGrad(() => fn(...inputs));
  const gen = new Generator(seed);
  const v = tensor(Float64Array.from({ length: out0.numel() }, () => gen.normal())).reshape(out0.shape);
  const scalar = (o: Tensor) => (out0.dtype === 'float64' ? o : o.to('float64')).mul(v).sum();

  inputs.forEach((t) => (t.grad = null));
  scalar(fn(...inputs)).backward();
  const analytic = inputs.map((t) => (t.requiresGrad ? (t.grad ? Array.from(t.grad.dataSync()) : null) : null));

  inputs.forEach((t, k) => {
    if (!t.requiresGrad) return;
    const data = (t.storage as CpuStorage).data as Float64Array;
    const n = t.numel();
    for (let i = 0; i < n; i++) {
      const pos = storagePosition(t, i);
      const orig = data[pos];
      data[pos] = orig + eps;
      const fPlus = noGrad(() => scalar(fn(...inputs)).item());
      data[pos] = orig - eps;
      const fMinus = noGrad(() => scalar(fn(...inputs)).item());
      data[pos] = orig;
      const numeric = (fPlus - fMinus) / (2 * eps);
      const got = analytic[k] ? analytic[k]![i] : 0;
      if (!(Math.abs(got - numeric) <= atol + rtol * Math.abs(numeric))) {
        throw new Error(
          `gradcheck: input ${k} (shape [${t.shape.join(', ')}]) element ${i}: analytic ${got}, numeric ${numeric}, ` +
            `|diff| ${Math.abs(got - numeric)}`,
        );
      }
    }
  });
}
