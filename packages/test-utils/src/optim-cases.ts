/**
 * Option sets of every dense optimizer for the float32-vs-float64 trajectory tests, run on every
 * device (optim's tests on the CPU, webgpu's on the GPU). Names are optim's class names; the tests
 * map them to classes (test-utils does not depend on optim).
 */
export interface OptimOptionCase {
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'Adagrad' | 'RMSprop' | 'Adamax' | 'NAdam' | 'RAdam' | 'Adadelta';
  options: Record<string, unknown>;
}

export const optimTrajectoryCases: OptimOptionCase[] = [
  { optimizer: 'SGD', options: { lr: 0.05 } },
  { optimizer: 'SGD', options: { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 } },
  { optimizer: 'SGD', options: { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, decoupledWeightDecay: true, maximize: false } },
  { optimizer: 'Adam', options: { lr: 0.01 } },
  { optimizer: 'Adam', options: { lr: 0.01, amsgrad: true, weightDecay: 0.1 } },
  { optimizer: 'AdamW', options: { lr: 0.01, weightDecay: 0.1 } },
  { optimizer: 'Adagrad', options: { lr: 0.05, lrDecay: 0.01, weightDecay: 0.01, initialAccumulatorValue: 0.1 } },
  { optimizer: 'RMSprop', options: { lr: 0.01 } },
  { optimizer: 'RMSprop', options: { lr: 0.01, momentum: 0.9, centered: true, weightDecay: 0.01 } },
  { optimizer: 'Adamax', options: { lr: 0.01, weightDecay: 0.01 } },
  { optimizer: 'NAdam', options: {} },
  { optimizer: 'NAdam', options: { lr: 0.003, weightDecay: 0.1 } },
  { optimizer: 'NAdam', options: { lr: 0.003, weightDecay: 0.1, decoupledWeightDecay: true, momentumDecay: 0.01 } },
  { optimizer: 'RAdam', options: { lr: 0.01 } },
  { optimizer: 'RAdam', options: { lr: 0.01, weightDecay: 0.1, decoupledWeightDecay: true } },
  { optimizer: 'Adadelta', options: { lr: 1, weightDecay: 0.01 } },
];
