import type { OptimizerKernel } from '@tsgrad/tensor';

/**
 * Fused optimizer steps in WGSL, one dispatch per parameter, state on the GPU. Same algorithms and
 * operation order as the CPU kernels (and @tsgrad/optim's reference steps); every value PyTorch keeps
 * in a tensor is stored and read back, so results round as float32 PyTorch's do.
 * `h` holds the hyperparameters as f32 in the order of each kernel's HYPER list.
 */
export const HYPER: Record<OptimizerKernel, string[]> = {
  sgd: ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize', 'decoupledWeightDecay', 'firstStep', 'hasBuffer'],
  adam: ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'amsgrad', 'maximize', 'decoupledWeightDecay', 'stepSize', 'bc2Sqrt'],
  adagrad: ['lr', 'clr', 'eps', 'weightDecay', 'maximize', 'decoupledWeightDecay'],
  rmsprop: ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered', 'maximize', 'decoupledWeightDecay'],
  adamax: ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'maximize', 'decoupledWeightDecay', 'clr'],
  nadam: ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'maximize', 'decoupledWeightDecay', 'bc2', 'gradScale', 'momentumScale'],
  radam: ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'maximize', 'decoupledWeightDecay', 'bc1', 'bc2Sqrt', 'rect', 'rectified'],
  adadelta: ['lr', 'rho', 'eps', 'weightDecay', 'maximize', 'decoupledWeightDecay'],
};

export const STATE: Record<OptimizerKernel, string[]> = {
  sgd: ['momentumBuffer'],
  adam: ['expAvg', 'expAvgSq', 'maxExpAvgSq'],
  adagrad: ['sum'],
  rmsprop: ['squareAvg', 'gradAvg', 'momentumBuffer'],
  adamax: ['expAvg', 'expInf'],
  nadam: ['expAvg', 'expAvgSq'],
  radam: ['expAvg', 'expAvgSq'],
  adadelta: ['squareAvg', 'accDelta'],
};

const PRELUDE = (k: OptimizerKernel) => `@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
${STATE[k].map((s, i) => `@group(0) @binding(${2 + i}) var<storage, read_write> ${s}: array<f32>;`).join('\n')}
@group(0) @binding(${2 + STATE[k].length}) var<storage, read> h: array<f32>;
@group(0) @binding(${3 + STATE[k].length}) var<storage, read> n: array<u32>;
${HYPER[k].map((name, i) => `fn ${name}() -> f32 { return h[${i}]; }`).join('\n')}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= n[0]) { return; }
    if (decoupledWeightDecay() != 0.0) { p[i] = p[i] * (1.0 - lr() * weightDecay()); }
    let w = p[i];
    var d = select(g[i], -g[i], maximize() != 0.0);
    if (decoupledWeightDecay() == 0.0) { d = d + weightDecay() * w; }`;

const BODY: Record<OptimizerKernel, string> = {
  sgd: `
    if (hasBuffer() != 0.0) {
        momentumBuffer[i] = select(momentumBuffer[i] * momentum() + (1.0 - dampening()) * d, d, firstStep() != 0.0);
        d = select(momentumBuffer[i], d + momentum() * momentumBuffer[i], nesterov() != 0.0);
    }
    p[i] = w - lr() * d;
}`,
  adam: `
    expAvg[i] = expAvg[i] * beta1() + (1.0 - beta1()) * d;
    expAvgSq[i] = expAvgSq[i] * beta2() + (1.0 - beta2()) * d * d;
    var second = expAvgSq[i];
    if (amsgrad() != 0.0) {
        if (second > maxExpAvgSq[i] || second != second) { maxExpAvgSq[i] = second; }
        second = maxExpAvgSq[i];
    }
    p[i] = w - stepSize() * (expAvg[i] / (sqrt(second) / bc2Sqrt() + eps()));
}`,
  adagrad: `
    sum[i] = sum[i] + d * d;
    p[i] = w - clr() * (d / (sqrt(sum[i]) + eps()));
}`,
  rmsprop: `
    squareAvg[i] = squareAvg[i] * alpha() + (1.0 - alpha()) * d * d;
    var avg: f32;
    if (centered() != 0.0) {
        gradAvg[i] = gradAvg[i] * alpha() + (1.0 - alpha()) * d;
        avg = sqrt(squareAvg[i] - gradAvg[i] * gradAvg[i]) + eps();
    } else {
        avg = sqrt(squareAvg[i]) + eps();
    }
    if (momentum() > 0.0) {
        momentumBuffer[i] = momentumBuffer[i] * momentum() + d / avg;
        p[i] = w - lr() * momentumBuffer[i];
    } else {
        p[i] = w - lr() * (d / avg);
    }
}`,
  adamax: `
    expAvg[i] = expAvg[i] * beta1() + (1.0 - beta1()) * d;
    let decayed = expInf[i] * beta2();
    let fresh = abs(d) + eps();
    expInf[i] = select(fresh, decayed, decayed > fresh || decayed != decayed);
    p[i] = w - clr() * (expAvg[i] / expInf[i]);
}`,
  nadam: `
    expAvg[i] = expAvg[i] * beta1() + (1.0 - beta1()) * d;
    expAvgSq[i] = expAvgSq[i] * beta2() + (1.0 - beta2()) * d * d;
    let denom = sqrt(expAvgSq[i] / bc2()) + eps();
    p[i] = w + gradScale() * (d / denom);
    p[i] = p[i] + momentumScale() * (expAvg[i] / denom);
}`,
  radam: `
    expAvg[i] = expAvg[i] * beta1() + (1.0 - beta1()) * d;
    expAvgSq[i] = expAvgSq[i] * beta2() + (1.0 - beta2()) * d * d;
    let corrected = expAvg[i] / bc1();
    if (rectified() != 0.0) {
        let adaptive = bc2Sqrt() / (sqrt(expAvgSq[i]) + eps());
        p[i] = w + -1.0 * (corrected * lr() * adaptive * rect());
    } else {
        p[i] = w + -1.0 * (corrected * lr());
    }
}`,
  adadelta: `
    squareAvg[i] = squareAvg[i] * rho() + (1.0 - rho()) * d * d;
    let rms = sqrt(squareAvg[i] + eps());
    let delta = (sqrt(accDelta[i] + eps()) / rms) * d;
    accDelta[i] = accDelta[i] * rho() + (1.0 - rho()) * delta * delta;
    p[i] = w - lr() * delta;
}`,
};

export function optimizerShader(kernel: OptimizerKernel): string {
  return PRELUDE(kernel) + BODY[kernel];
}
