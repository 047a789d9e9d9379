import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lbfgs, LbfgsSolver } from '../../src/scaling/lbfgs.ts';

const rosen = (x: Float64Array, g: Float64Array): number => {
  let f = 0;
  g.fill(0);
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i + 1]! - x[i]! ** 2;
    const b = 1 - x[i]!;
    f += 100 * a * a + b * b;
    g[i] = g[i]! - 400 * x[i]! * a - 2 * b;
    g[i + 1] = g[i + 1]! + 200 * a;
  }
  return f;
};

// Reference: SciPy 1.10.1 minimize(rosen, x0, jac=rosen_der, method='L-BFGS-B') on this machine
// (/usr/bin/python3): x0 = [-1.2, 1]: nit 36, nfev 44, x = [0.99999895, 0.99999802], f = 2.80765e-12;
// x0 = [-1.2, 1, -1.2, 1, -1.2]: nit 49, nfev 66, f = 1.42095e-11; both REL_REDUCTION_OF_F.
test('Rosenbrock 2-D: same path as SciPy L-BFGS-B', () => {
  const r = lbfgs(rosen, [-1.2, 1]);
  assert.equal(r.status, 'converged-reduction');
  assert.ok(r.converged);
  assert.equal(r.iterations, 36);
  assert.equal(r.evaluations, 44);
  assert.ok(Math.abs(r.x[0]! - 0.99999895) < 1e-7 && Math.abs(r.x[1]! - 0.99999802) < 1e-7, `x = ${Array.from(r.x)}`);
  assert.ok(Math.abs(r.f - 2.80765e-12) < 1e-16);
});

test('Rosenbrock 5-D: same iteration and evaluation counts as SciPy', () => {
  const r = lbfgs(rosen, [-1.2, 1, -1.2, 1, -1.2]);
  assert.equal(r.status, 'converged-reduction');
  assert.equal(r.iterations, 49);
  assert.equal(r.evaluations, 66);
  for (const v of r.x) assert.ok(Math.abs(v - 1) < 1e-5);
});

test('convex quadratic: converges on the gradient test to the exact minimiser', () => {
  const c = [1, -2, 3, 0.5];
  const d = [1, 10, 100, 1000];
  const f = (x: Float64Array, g: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < 4; i++) {
      s += 0.5 * d[i]! * (x[i]! - c[i]!) ** 2;
      g[i] = d[i]! * (x[i]! - c[i]!);
    }
    return s;
  };
  const r = lbfgs(f, [0, 0, 0, 0], { factr: 0, pgtol: 1e-10 });
  assert.equal(r.status, 'converged-gradient');
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(r.x[i]! - c[i]!) < 1e-9);
});

test('a wrong gradient is reported as a line-search failure, not as convergence', () => {
  // gradient with the wrong sign: every direction the solver tries goes uphill
  const f = (x: Float64Array, g: Float64Array): number => {
    g[0] = -2 * (x[0]! - 3);
    return (x[0]! - 3) ** 2;
  };
  const r = lbfgs(f, [0]);
  assert.equal(r.converged, false);
  assert.equal(r.status, 'line-search-failed');
});

test('non-finite objective at the start and iteration limits are reported honestly', () => {
  const bad = lbfgs((_x, g) => {
    g[0] = 0;
    return NaN;
  }, [1]);
  assert.equal(bad.status, 'non-finite');
  assert.equal(bad.converged, false);
  const r = lbfgs(rosen, [-1.2, 1], { maxIter: 5 });
  assert.equal(r.status, 'max-iterations');
  assert.equal(r.iterations, 5);
  assert.equal(r.converged, false);
});

test('the solver object is reusable across starts (workspace is reset)', () => {
  const s = new LbfgsSolver(2);
  s.minimize(rosen, [-1.2, 1]);
  const first = Array.from(s.x);
  s.minimize(rosen, [3, 3]);
  s.minimize(rosen, [-1.2, 1]);
  assert.deepEqual(Array.from(s.x), first);
  assert.equal(s.iterations, 36);
});
