"""Epoch AI's Chinchilla approach-3 fit with scipy, for bench/fit.ts (run with /usr/bin/python3).

Same data, preprocessing, objective and 4500-start grid as lmlab's `fitChinchilla`:
  * data: ../shared/data/chinchilla/svg_extracted_data.csv, D = C/(6N), drop the 5 highest losses -> 240 rows;
  * objective: summed Huber (delta = 1e-3) of log L - LSE(a - alpha log N, b - beta log D, e);
  * scipy.optimize.minimize(method='L-BFGS-B') from every point of the grid, best successful result kept.
Two variants are timed:
  fd       -- exactly Epoch's call (no jac: scipy's 2-point finite-difference gradient);
  analytic -- jac=True with the analytic gradient (what lmlab does).
Prints one JSON line per variant.  Usage: python3 bench/fit_scipy.py [csv] [--only fd|analytic]
"""
import csv, json, sys, time
from itertools import product
import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

here = __file__.rsplit('/', 1)[0] if '/' in __file__ else '.'
argv = sys.argv[1:]
only = None
if '--only' in argv:
    k = argv.index('--only')
    only = argv[k + 1]
    del argv[k:k + 2]
path = argv[0] if argv else here + '/../../shared/data/chinchilla/svg_extracted_data.csv'

rows = list(csv.DictReader(open(path)))
N = np.array([float(r['Model Size']) for r in rows])
C = np.array([float(r['Training FLOP']) for r in rows])
L = np.array([float(r['loss']) for r in rows])
D = C / (6.0 * N)
cut = sorted(L)[-5]
keep = L < cut
N, D, L = N[keep], D[keep], L[keep]
logN, logD, logL = np.log(N), np.log(D), np.log(L)
DELTA = 1e-3

def pred(p):
    a, b, e, al, be = p
    return logsumexp(np.stack([a - al * logN, b - be * logD, np.full_like(logN, e)]), axis=0)

def obj(p):
    r = logL - pred(p)
    ar = np.abs(r)
    return np.sum(np.where(ar <= DELTA, 0.5 * r * r, DELTA * (ar - 0.5 * DELTA)))

def obj_grad(p):
    a, b, e, al, be = p
    t = np.stack([a - al * logN, b - be * logD, np.full_like(logN, e)])
    m = t.max(axis=0)
    w = np.exp(t - m)
    s = w.sum(axis=0)
    lse = m + np.log(s)
    w /= s
    r = logL - lse
    ar = np.abs(r)
    f = np.sum(np.where(ar <= DELTA, 0.5 * r * r, DELTA * (ar - 0.5 * DELTA)))
    psi = np.where(ar <= DELTA, r, DELTA * np.sign(r))
    g = -psi  # d huber / d lse
    grad = np.array([np.sum(g * w[0]), np.sum(g * w[1]), np.sum(g * w[2]),
                     -np.sum(g * w[0] * logN), -np.sum(g * w[1] * logD)])
    return f, grad

grid = list(product(np.arange(0, 2.5, 0.5), np.arange(0, 2.5, 0.5), np.arange(-1, 1.5, 0.5),
                    np.arange(0, 30, 5), np.arange(0, 30, 5)))

def run(variant):
    best, bestx, nsucc, nit = np.inf, None, 0, 0
    t0 = time.perf_counter()
    for al, be, e, a, b in grid:
        x0 = np.array([a, b, e, al, be], dtype=float)
        if variant == 'fd':
            res = minimize(obj, x0, method='L-BFGS-B')
        else:
            res = minimize(obj_grad, x0, jac=True, method='L-BFGS-B')
        nit += res.nit
        if res.success:
            nsucc += 1
            if res.fun < best:
                best, bestx = res.fun, res.x
    dt = time.perf_counter() - t0
    a, b, e, al, be = bestx
    print(json.dumps({'variant': variant, 'seconds': dt, 'starts': len(grid), 'converged': nsucc,
                      'iterations': int(nit), 'objective': best, 'A': float(np.exp(a)), 'B': float(np.exp(b)),
                      'E': float(np.exp(e)), 'alpha': float(al), 'beta': float(be), 'points': int(len(L)),
                      'scipy': __import__('scipy').__version__}), flush=True)

for v in ['analytic', 'fd']:
    if only is None or only == v:
        run(v)
