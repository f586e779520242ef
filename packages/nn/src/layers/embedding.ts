import { checkOptionKeys } from '@tsgrad/tensor';
import { noGrad, type Tensor } from '@tsgrad/autograd';
import { empty } from '../empty.js';
import { embedding } from '../functional/embedding.js';
import { normal_ } from '../init.js';
import { expectTensor } from '../input.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';

/**
 * A lookup table of `numEmbeddings` vectors (PyTorch's `nn.Embedding`), weight from N(0, 1); the row
 * `paddingIdx`, if given, starts at zero and never receives a gradient.
 * @example new Embedding(1000, 64, { paddingIdx: 0 }).forward(tokens) // int32 [B, T] -> [B, T, 64]
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  /** Gradients of `weight` as `SparseTensor`s of the looked-up rows (for Adagrad, SparseAdam, SGD); CPU only, backward on another device is an Error. */
  readonly sparse: boolean;
  weight: Parameter;

  constructor(numEmbeddings: number, embeddingDim: number, opts: { paddingIdx?: number; sparse?: boolean } = {}) {
    super();
    checkOptionKeys('Embedding', opts, ['paddingIdx', 'sparse']);
    for (const [n, v] of [['numEmbeddings', numEmbeddings], ['embeddingDim', embeddingDim]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`Embedding: Invalid ${n}: ${v} (expected a non-negative integer)`);
    }
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    let pad = opts.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad >= numEmbeddings || pad < -numEmbeddings) throw new Error(`Embedding: paddingIdx must be within num_embeddings, got ${pad}`);
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    this.sparse = opts.sparse ?? false;
    this.weight = new Parameter(empty([numEmbeddings, embeddingDim]));
    normal_(this.weight);
    if (pad !== null) {
      const row = this.weight.select(0, pad);
      noGrad(() => row.zero_());
    }
  }

  /**
   * The rows of the weight at int32 `indices`: shape [...indices.shape, embeddingDim].
   * @example
   * new Embedding(1000, 64).forward(tensor([[1, 2]], { dtype: 'int32' })).shape // [1, 2, 64]
   */
  override forward(indices: Tensor): Tensor {
    expectTensor(indices, this.toString());
    return embedding(indices, this.weight, { paddingIdx: this.paddingIdx, sparse: this.sparse, who: 'Embedding' });
  }

  /**
   * numEmbeddings, embeddingDim (and paddingIdx, sparse), as printed.
   * @example
   * new Embedding(1000, 64).extraRepr()
   */
  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}${this.sparse ? ', sparse=True' : ''}`;
  }
}
