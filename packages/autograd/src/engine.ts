import { formatShape, shapesEqual } from '@tsgrad/tensor';
import { checkGradient, isAnomalyEnabled } from './anomaly.js';
import { ones } from './creation.js';
import { GRADIENTS, type GradRule } from './gradients.js';
import { noGrad } from './grad-mode.js';
import { scope } from './scope.js';
import type { PrimitiveOp } from './primitives.js';
import type { Tensor } from './tensor.js';

/**
 * Tensors reachable from `root` through graph nodes, each after everything it depends on.
 * An explicit stack instead of recursion: JavaScript stacks overflow at a few thousand frames, and
 * an unrolled RNN or a long chain of ops easily makes deeper graphs.
 */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const next = top[0].gradFn?.next ?? [];
    let child: Tensor | null = null;
    while (top[1] < next.length && child === null) {
      const candidate = next[top[1]++];
      if (candidate && !visited.has(candidate)) child = candidate;
    }
    if (child) {
      visited.add(child);
      stack.push([child, 0]);
    } else {
      stack.pop();
      order.push(top[0]);
    }
  }
  return order;
}

/** Reverse-mode sweep from `root` (see `Tensor.backward`). */
export function backward(root: Tensor, gradient: Tensor | undefined, retainGraph: boolean): void {
  if (!root.requiresGrad) {
    throw new Error('element 0 of tensors does not require grad and does not have a grad_fn');
  }
  let seed: Tensor;
  if (gradient === undefined) {
    if (root.numel() !== 1) {
      throw new Error(`grad can be implicitly created only for scalar outputs; got shape ${formatShape(root.shape)}, pass a gradient to backward()`);
    }
    seed = ones(root.shape, { dtype: root.dtype, device: root.device });
  } else {
    if (typeof (gradient as Partial<Tensor> | null)?.toView !== 'function') {
      const got = Array.isArray(gradient) ? 'a plain array' : gradient === null ? 'null' : typeof gradient;
      throw new Error(`backward: gradient must be a Tensor of shape ${formatShape(root.shape)}, got ${got}${Array.isArray(gradient) ? '; wrap it: backward(tensor([...]))' : ''}`);
    }
    if (!shapesEqual(gradient.shape, root.shape)) {
      throw new Error(`backward: gradient has shape ${formatShape(gradient.shape)} but the tensor has shape ${formatShape(root.shape)}`);
    }
    if (gradient.dtype !== root.dtype) {
      throw new Error(`backward: gradient has dtype ${gradient.dtype} but the tensor has dtype ${root.dtype}`);
    }
    seed = gradient.detach();
  }
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>([[root, seed]]);
    // How many entries of `grads` hold each gradient handle. A gradient that none holds once it has
    // been used (passed up, summed, accumulated into a leaf) lets go of its memory then, as PyTorch
    // frees it, instead of at the end of the enclosing scope: backward's peak is the live gradients.
    const holding = new Map<Tensor, number>([[seed, 1]]);
    const hold = (g: Tensor) => holding.set(g, (holding.get(g) ?? 0) + 1);
    const unhold = (g: Tensor) => {
      const n = (holding.get(g) ?? 1) - 1;
      if (n > 0) holding.set(g, n);
      else holding.delete(g);
    };
    const releaseIfUnused = (g: Tensor) => {
      if (!holding.has(g) && !g.isSparse) g._release();
    };
    const order = topologicalOrder(root);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      unhold(g);
      const node = t.gradFn;
      if (!node) {
        t._accumulateGrad(g);
        releaseIfUnused(g);
        continue;
      }
      if (t.retainsGrad) t._accumulateGrad(g);
      const saved = node.saved;
      if (!saved) {
        throw new Error(
          'Trying to backward through the graph a second time (or directly access saved tensors after they have ' +
            'already been freed). Saved intermediate values of the graph are freed when you call backward(), and ' +
            'when every tensor referring to the graph has been disposed or has left its scope. ' +
            'Specify backward(gradient, { retainGraph: true }) if you need to backward through the graph a second time.',
        );
      }
      node.checkVersions();
      const rule = GRADIENTS[node.op] as GradRule<PrimitiveOp> | null;
      if (!rule) continue;
      // The rule's own temporaries go when it returns (outside any scope too); its results stay.
      const inputGrads = scope(() => rule(node.forRule(saved), g));
      // PyTorch frees a node's saved variables once its backward has run (without retain_graph).
      if (!retainGraph) {
        node.releaseSaved();
        // Marked freed now, not only after the sweep: if a later node throws (an anomaly, a version
        // check), a retry gets PyTorch's "second time" message instead of reading freed memory.
        node.saved = null;
      }
      // Released only once every input has its gradient: a rule may pass one handle to several inputs
      // (add's g to both operands) while an earlier one's pending gradient is that same handle.
      const replaced: Tensor[] = [];
      node.next.forEach((input, k) => {
        const ig = inputGrads[k];
        if (!input || !ig) return;
        if (isAnomalyEnabled()) scope(() => checkGradient(ig, node.op, k, node.trace)); // its reads' copies go
        const prev = grads.get(input);
        const sum = prev ? prev.add(ig) : ig;
        grads.set(input, sum);
        hold(sum);
        if (prev) {
          unhold(prev);
          replaced.push(prev);
        }
      });
      for (const used of [...replaced, ...inputGrads, g]) if (used) releaseIfUnused(used);
    }
    // Without retainGraph, every node of this graph lets go of its saved tensors and inputs, also the
    // ones no gradient reached (PyTorch frees the whole graph's buffers).
    if (!retainGraph) for (const t of order) t.gradFn?.release();
  });
}
