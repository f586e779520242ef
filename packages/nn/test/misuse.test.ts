import { describe, expect, it } from 'vitest';
import { ones, tensor, zeros } from '@tsgrad/autograd';
import {
  AvgPool2d, BatchNorm1d, BCEWithLogitsLoss, Conv2d, CrossEntropyLoss, Dropout, Embedding, functional as F, GELU, init, LayerNorm, Linear, MaxPool2d, Module, MSELoss, Parameter,
} from '@tsgrad/nn';

/** Layer misuse is an Error naming the layer, the option and the nearest valid name: never a silently ignored setting. */
const cases: [string, () => unknown, RegExp][] = [
  ['Linear with a typo', () => new Linear(2, 3, { baias: false } as object), /Linear: unknown option 'baias'; did you mean 'bias'\?/],
  ["Linear with PyTorch's positional bias", () => new Linear(2, 3, false as never), /Linear: expected an options object \{ bias \}, got false/],
  ['Conv2d with PyTorch spelling', () => new Conv2d(1, 2, 3, { padding_mode: 'zeros' } as object), /Conv2d: unknown option 'padding_mode'; did you mean 'paddingMode'\?/],
  ["Conv2d paddingMode 'reflect'", () => new Conv2d(1, 2, 3, { paddingMode: 'reflect' as 'zeros' }), /Conv2d: paddingMode 'reflect' is not supported: tsgrad pads with zeros only/],
  ['BatchNorm1d with PyTorch spelling', () => new BatchNorm1d(4, { track_running_stats: false } as object), /BatchNorm1d: unknown option 'track_running_stats'; did you mean 'trackRunningStats'\?/],
  ['LayerNorm with a typo', () => new LayerNorm(4, { elementwiseAfine: false } as object), /LayerNorm: unknown option 'elementwiseAfine'; did you mean 'elementwiseAffine'\?/],
  ['Embedding with PyTorch spelling', () => new Embedding(10, 4, { padding_idx: 0 } as object), /Embedding: unknown option 'padding_idx'; did you mean 'paddingIdx'\?/],
  ['MaxPool2d with a typo', () => new MaxPool2d(2, { strides: 2 } as object), /MaxPool2d: unknown option 'strides'; did you mean 'stride'\?/],
  ['AvgPool2d with PyTorch spelling', () => new AvgPool2d(2, { count_include_pad: false } as object), /AvgPool2d: unknown option 'count_include_pad'; did you mean 'countIncludePad'\?/],
  ['CrossEntropyLoss with PyTorch spelling', () => new CrossEntropyLoss({ label_smoothing: 0.1 } as object), /CrossEntropyLoss: unknown option 'label_smoothing'; did you mean 'labelSmoothing'\?/],
  ['MSELoss with a typo', () => new MSELoss({ reducton: 'sum' } as object), /MSELoss: unknown option 'reducton'; did you mean 'reduction'\?/],
  ['BCEWithLogitsLoss with PyTorch spelling', () => new BCEWithLogitsLoss({ pos_weight: null } as object), /BCEWithLogitsLoss: unknown option 'pos_weight'; did you mean 'posWeight'\?/],
  ["GELU approximate 'fast'", () => new GELU({ approximate: 'fast' as 'tanh' }), /GELU: approximate must be 'none' or 'tanh', got fast/],
  ['Linear.forward of a plain array', () => new Linear(2, 1).forward([1, 2] as never), /Linear\(in_features=2, out_features=1, bias=True\): expected a Tensor input, got a plain array; wrap it with tensor\(\.\.\.\)/],
  ['Conv2d.forward of null', () => new Conv2d(1, 1, 1).forward(null as never), /Conv2d\(.*\): expected a Tensor input, got null/],
  ['loadStateDict(null)', () => new Linear(2, 1).loadStateDict(null as never), /Linear.loadStateDict: expected a Map or an object of tensors \(a state dict\), got null/],
  // PyTorch 2.x: "uniform_ expects to return a [from, to) range, but found from=1 > to=0", "normal expects
  // std >= 0.0, but found std -1", "check_uniform_bounds" / "normal_kernel_cpu" not implemented for 'Int'.
  ['init.uniform_ with from > to', () => init.uniform_(zeros([3]), 1, 0), /uniform_: expects to return a \[from, to\) range, but found from=1 > to=0/],
  ['init.normal_ with a negative std', () => init.normal_(zeros([3]), 0, -1), /normal_: expects std >= 0.0, but found std -1/],
  ['init.uniform_ of an int32 tensor', () => init.uniform_(zeros([3], { dtype: 'int32' }), 0, 10), /uniform_: expected a floating tensor, got int32/],
  ['init.kaimingNormal_ of an int32 tensor', () => init.kaimingNormal_(zeros([3, 3], { dtype: 'int32' })), /normal_: expected a floating tensor, got int32/],
  // PyTorch: "result type Float can't be cast to the desired output type Int" (0 < p < 1, training).
  ['F.dropout of an int32 tensor', () => F.dropout(tensor([1, 2], { dtype: 'int32' }), 0.5), /dropout: expected a floating input, got int32 \(the kept values are scaled by 1\/\(1 - p\) = 2\)/],
  ['Dropout.forward of an int32 tensor', () => new Dropout(0.25).forward(tensor([1, 2], { dtype: 'int32' })), /dropout: expected a floating input, got int32/],
  ['loadStateDict with an unknown option', () => new Linear(2, 1).loadStateDict(new Linear(2, 1).stateDict(), { stict: false } as object), /Linear.loadStateDict: unknown option 'stict'; did you mean 'strict'\?/],
];

describe('layer misuse', () => {
  it.each(cases)('%s', (_, f, pattern) => {
    expect(f).toThrow(pattern);
  });

  it('registerBuffer over a parameter, and registerParameter over a buffer, are Errors (PyTorch\'s KeyError)', () => {
    const m = new Linear(2, 1);
    expect(() => m.registerBuffer('weight', zeros([1, 2]))).toThrow(/registerBuffer: attribute 'weight' already exists \(a parameter\)/);
    const bn = new BatchNorm1d(3);
    expect(() => bn.registerParameter('runningMean', new Parameter(zeros([3])))).toThrow(/registerParameter: attribute 'runningMean' already exists \(a buffer\)/);
    expect(() => bn.registerBuffer('training', zeros([1]))).toThrow(/attribute 'training' already exists \(a boolean attribute\)/);
    expect(() => bn.registerModule('runningVar', new Linear(1, 1))).toThrow(/registerModule: attribute 'runningVar' already exists \(a buffer\)/);
    expect(() => bn.registerModule('weight', null)).toThrow(/registerModule: attribute 'weight' already exists \(a parameter\)/);
    expect(() => bn.registerModule('child', 3 as never)).toThrow(/registerModule: cannot assign number 3 as child module 'child' \(Module or null required\)/);
    // Re-registering the same kind is allowed, as in PyTorch, and the state dict follows.
    bn.registerBuffer('runningMean', ones([3]));
    m.registerParameter('bias', null);
    expect([...m.stateDict().keys()]).toEqual(['weight']);
    expect(bn.stateDict().get('running_mean')!.tolist()).toEqual([1, 1, 1]);
  });

  it('valid options still construct layers that compute', () => {
    class Net extends Module {
      conv = new Conv2d(1, 2, 3, { padding: 1, paddingMode: 'zeros', bias: false });
    }
    const y = new Net().conv.forward(ones([1, 1, 4, 4]));
    expect(y.shape).toEqual([1, 2, 4, 4]);
    expect(new Linear(2, 1, { bias: false }).forward(tensor([[1, 2]])).shape).toEqual([1, 1]);
  });
});
