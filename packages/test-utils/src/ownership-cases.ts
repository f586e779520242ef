import { noGrad, randn, scope, tensor, type Tensor } from '@tsgrad/autograd';

/** What an ownership case needs of a module (test-utils does not depend on nn). */
export interface OwnedModule {
  parameters(): Tensor[];
  stateDict(): Map<string, Tensor>;
  to(target: string): unknown;
  registerBuffer(name: string, t: Tensor | null): void;
  buffers(): Tensor[];
}

/** The device under test: where tensors live, how many buffers its pool holds, a module on it. */
export interface OwnershipEnv {
  device: string;
  /**
   * Freed buffers waiting in the device's pool, less those the garbage collector gave back
   * (`buffersCollected`): +1 for each storage given back. Tensors that earlier tests left to the
   * collector come back whenever it runs, even across an `await` inside a case, so they must not count.
   */
  pooled(): number;
  /** A fresh module on the CPU in float32 (a `Linear(4, 3)`). */
  makeModule(): OwnedModule;
  /** A deep copy of a module (nn's `copyModule`, which `AveragedModel` uses). */
  copyModule(m: OwnedModule): OwnedModule;
  /** What `scope(() => module.to(target))` moves a CPU float32 module to on this device. */
  moveTarget: string;
}

export interface OwnershipCase {
  name: string;
  run(env: OwnershipEnv): Promise<void>;
}

const FREED = /this tensor was freed/;

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

async function expectFreed(t: Tensor, what: string): Promise<void> {
  const read = await t.data().then(
    () => null,
    (e: unknown) => e,
  );
  if (!(read instanceof Error) || !FREED.test(read.message)) throw new Error(`${what}: expected its memory to be freed, but it ${read === null ? 'was readable' : `threw ${String(read)}`}`);
}

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** A [8, 8] tensor of distinct values 0..63 on the device (its only handle), and those values. */
function numbered(device: string): [Tensor, number[]] {
  const expected = Array.from({ length: 64 }, (_, i) => i);
  const rows = Array.from({ length: 8 }, (_, r) => expected.slice(8 * r, 8 * r + 8));
  return [tensor(rows, { device }), expected];
}

/**
 * `dispose()` of an alias never frees memory another owner holds; memory goes back to the pool once,
 * when its last owner lets go (PyTorch's storage reference counting). Run on every device: the
 * pool must never receive a buffer twice, nor while a tensor still uses it.
 */
export const ownershipCases: OwnershipCase[] = [
  {
    name: 'a tensor disposed twice gives its buffer back once',
    async run({ device, pooled }) {
      const x = randn([64], { device });
      const before = pooled();
      x.dispose();
      x.dispose();
      expectEqual(pooled() - before, 1, 'buffers given back');
      await expectFreed(x, 'x');
    },
  },
  {
    name: "detach(): disposing the alias keeps the original's memory; the last of the two frees it",
    async run({ device, pooled }) {
      const [x, expected] = numbered(device);
      const alias = x.detach();
      const before = pooled();
      alias.dispose();
      alias.dispose();
      expectEqual(pooled() - before, 0, 'buffers given back after disposing the alias');
      expectEqual(await values(x), expected, 'x after disposing its alias');
      // The other order: the original goes first, twice, and the alias still reads its values.
      const alias2 = x.detach();
      x.dispose();
      x.dispose();
      expectEqual(pooled() - before, 0, 'buffers given back while an alias holds the memory');
      expectEqual(await values(alias2), expected, 'the alias after disposing the original twice');
      alias2.dispose();
      expectEqual(pooled() - before, 1, 'buffers given back by the last owner');
      await expectFreed(x, 'x');
    },
  },
  {
    name: 'views of views each hold the memory; it is freed when the last lets go',
    async run({ device, pooled }) {
      const [x, expected] = numbered(device);
      const v = x.view([4, 16]);
      const w = v.t();
      const before = pooled();
      w.dispose();
      expectEqual(await values(x), expected, 'x after disposing a view of its view');
      x.dispose();
      expectEqual(pooled() - before, 0, 'buffers given back while a view holds the memory');
      expectEqual(await values(v), expected, 'the view after disposing its base');
      v.dispose();
      expectEqual(pooled() - before, 1, 'buffers given back by the last view');
      await expectFreed(w, 'the view of the view');
    },
  },
  {
    name: 'a scope returning a view of a tensor it created keeps the memory; disposing the view frees it',
    async run({ device, pooled }) {
      const [x, expected] = numbered(device);
      let inner: Tensor | null = null;
      const view = scope(() => {
        inner = x.mul(3);
        return x.mul(2).reshape([4, 16]).t();
      });
      await expectFreed(inner!, 'an intermediate the scope did not return');
      // view[i][j] = 2·x.flat[16j + i]: read in its own (transposed) order.
      const transposed = Array.from({ length: 64 }, (_, k) => 2 * expected[16 * (k % 4) + Math.floor(k / 4)]);
      expectEqual(await values(view), transposed, 'the returned view');
      const before = pooled();
      view.dispose();
      expectEqual(pooled() - before, 1, 'buffers given back by disposing the returned view');
      await expectFreed(view, 'the returned view');
      expectEqual(await values(x), expected, 'x, from before the scope');
    },
  },
  {
    name: "outside a scope, matmul's own views let go: disposing its operands and its result frees all three",
    async run({ device, pooled }) {
      const a = randn([8, 8], { device });
      const b = randn([8], { device });
      const c = a.matmul(b); // batched views of a, b and of the [1, 8, 1] result inside
      const before = pooled();
      for (const t of [c, a, b]) t.dispose();
      expectEqual(pooled() - before, 3, 'buffers given back');
    },
  },
  {
    name: "disposing every stateDict() value keeps the module's weights",
    async run({ device, pooled, makeModule }) {
      const module = makeModule();
      module.to(device);
      const before = await Promise.all(module.parameters().map(values));
      const count = pooled();
      for (const t of module.stateDict().values()) t.dispose();
      expectEqual(pooled() - count, 0, 'buffers given back by disposing the state dict');
      expectEqual(await Promise.all(module.parameters().map(values)), before, 'the weights');
    },
  },
  {
    name: "scope(() => module.to(...)) keeps the module's new weights and their gradients",
    async run({ moveTarget, makeModule }) {
      const module = makeModule();
      const [first] = module.parameters();
      first.grad = noGrad(() => first.detach().mul(2));
      const before = await Promise.all(module.parameters().map(values));
      scope(() => module.to(moveTarget));
      expectEqual(await Promise.all(module.parameters().map(values)), before, 'the weights after the scope');
      expectEqual(await values(first.grad!), before[0].map((v) => 2 * v), 'the gradient after the scope');
    },
  },
  {
    name: "after module.to(...), disposing the module's parameters gives back one buffer each",
    async run({ moveTarget, pooled, makeModule }) {
      const module = makeModule();
      module.to(moveTarget);
      const params = module.parameters();
      const before = pooled();
      for (const p of params) p.dispose();
      expectEqual(pooled() - before, params.length, 'buffers given back');
    },
  },
  {
    name: 'a buffer registered inside a scope outlives it',
    async run({ device, makeModule }) {
      const module = makeModule();
      module.to(device);
      scope(() => module.registerBuffer('counts', tensor([1, 2, 3], { device }).mul(2)));
      expectEqual(await Promise.all(module.buffers().map(values)), [[2, 4, 6]], 'the buffer');
    },
  },
  {
    name: 'a module deep-copied inside a scope keeps its parameters and buffers',
    async run({ device, makeModule, copyModule }) {
      const module = makeModule();
      module.to(device);
      module.registerBuffer('counts', tensor([1, 2, 3], { device }));
      const copy = scope(() => copyModule(module));
      expectEqual(await Promise.all(copy.parameters().map(values)), await Promise.all(module.parameters().map(values)), 'the copied parameters');
      expectEqual(await Promise.all(copy.buffers().map(values)), [[1, 2, 3]], 'the copied buffer');
    },
  },
  {
    name: "gradients from backward inside nested scopes outlive the outer one (they are the tensor's)",
    async run({ device }) {
      const w = tensor([1, 2, 3], { device }).requiresGrad_();
      const x = tensor([2, 3, 4], { device });
      scope(() => {
        for (let step = 0; step < 2; step++) scope(() => w.mul(x).sum().backward());
      });
      // Two backward passes accumulate d/dw Σ w·x = x twice.
      expectEqual(await values(w.grad!), [4, 6, 8], 'the accumulated gradient');
    },
  },
  {
    name: 'a gradient assigned inside a scope outlives it; the gradient it replaces is freed',
    async run({ device, pooled }) {
      const p = randn([64], { device }).requiresGrad_();
      scope(() => {
        p.grad = tensor(Array.from({ length: 64 }, () => 1), { device }).mul(2);
      });
      expectEqual(await values(p.grad!), Array.from({ length: 64 }, () => 2), 'the assigned gradient');
      const first = p.grad!;
      const before = pooled();
      p.grad = null;
      expectEqual(pooled() - before, 1, 'buffers given back when the gradient is replaced');
      await expectFreed(first, 'the replaced gradient');
    },
  },
  {
    name: 'a forward in its own scope: the graph holds what backward reads until backward has run; the rest is freed at the scope end',
    async run({ device }) {
      const x = tensor([0, 0.5, 1], { device }).requiresGrad_();
      let doubled: Tensor | null = null;
      let exp: Tensor | null = null;
      const loss = scope(() => {
        doubled = x.mul(2);
        exp = doubled.add(1).exp();
        return exp.sum();
      });
      // Neither add nor exp reads its input (exp's gradient is its output): 2x and 2x + 1 are gone.
      await expectFreed(doubled!, 'x.mul(2), read by no gradient rule');
      // exp's node keeps its output alive, though the handle left its scope.
      expectEqual((await values(exp!)).map((v) => v.toFixed(5)), [1, 2, 3].map((v) => Math.exp(v).toFixed(5)), 'the kept exp output');
      loss.backward();
      expectEqual((await values(x.grad!)).map((v) => v.toFixed(4)), [1, 2, 3].map((v) => (2 * Math.exp(v)).toFixed(4)), 'x.grad = 2·exp(2x + 1)');
      await expectFreed(exp!, 'the exp output, once backward has run');
    },
  },
  {
    name: 'a graph that is never backpropagated frees with its tensors (an evaluation without noGrad)',
    async run({ device }) {
      const w = randn([8, 8], { device }).requiresGrad_();
      let exp: Tensor | null = null;
      let deep: Tensor | null = null;
      scope(() => {
        exp = w.exp(); // kept by its node, which its handle and the sum's node hold
        exp.sum();
        // A chain far deeper than the JavaScript stack lets go iteratively.
        let y = w.tanh();
        deep = y; // kept by its own node (tanh's gradient reads its output), held by the next tanh's
        for (let i = 0; i < 20_000; i++) y = y.tanh();
      });
      await expectFreed(exp!, 'the exp output');
      await expectFreed(deep!, 'the first of 20,000 tanh outputs');
    },
  },
];
