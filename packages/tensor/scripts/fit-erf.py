#!/usr/bin/env python3
"""Fits the polynomials of the float32 erf kernel (assembly/transcendental.ts, erfv).

  |x| < 1:      erf(x) = x P(x^2),               P of degree 6, minimising the relative error
  1 <= |x| < 4: erf(x) = 1 - exp(-x^2) R(x - 2.5), R of degree 8, minimising the error of
                exp(-x^2) R (the absolute error of erf)

Lawson's algorithm (iteratively reweighted least squares, converging to the minimax fit) on 400 and 600
Chebyshev nodes, against mpmath at 30 digits. Needs numpy and mpmath (/usr/bin/python3 has both).
Prints each polynomial's coefficients, constant term first, and its worst error.
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 30


def lawson(xs, f, degree, shift, weight, iterations=60):
    a = np.array([[(x - shift) ** k for k in range(degree + 1)] for x in xs])
    y = np.array([float(f(x)) for x in xs])
    w = np.array([float(weight(x)) for x in xs])
    lawson_weights = np.full(len(xs), 1 / len(xs))
    for _ in range(iterations):
        s = np.sqrt(lawson_weights) * w
        c = np.linalg.lstsq(a * s[:, None], y * s, rcond=None)[0]
        err = np.abs((a @ c - y) * w)
        lawson_weights = lawson_weights * err
        lawson_weights /= lawson_weights.sum()
    return c, err.max()


def nodes(lo, hi, n=600):
    return lo + (hi - lo) * (1 - np.cos(np.pi * (np.arange(n) + 0.5) / n)) / 2


def p_target(t):
    return mp.erf(mp.sqrt(t)) / mp.sqrt(t)


p, p_err = lawson(nodes(0, 1, 400), p_target, 6, 0, lambda t: 1 / p_target(t))
print('P (in t = x^2), relative error %.3g:' % p_err, list(p))
r, r_err = lawson(nodes(1, 4), lambda x: mp.erfc(x) * mp.exp(x * x), 8, 2.5, lambda x: mp.exp(-x * x))
print('R (in u = |x| - 2.5), error of exp(-x^2) R %.3g:' % r_err, list(r))
