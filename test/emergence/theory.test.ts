import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aroraGoyalCurves,
  aroraGoyalExcess,
  aroraGoyalSolve,
  bernoulliKL,
  binaryEntropy,
  mirageCurve,
  powerLawLoss,
  TheoryError,
} from '../../src/emergence/theory.ts';
import { classifyShape } from '../../src/emergence/curve.ts';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('mirage: DOMAIN.md values at c=1e8, alpha=-0.5, T=5, N=1e8', () => {
  const [r] = mirageCurve([1e8], { c: 1e8, alpha: -0.5, T: 5 });
  close(r!.loss, 1);
  close(r!.p, Math.exp(-1));
  close(r!.exactMatch, Math.exp(-5));
  close(r!.expectedTED, 3.1606027941427883);
  assert.equal(Number(r!.expectedTED.toFixed(4)), 3.1606);
  close(powerLawLoss(4e8, 1e8, -0.5), 0.5);
});

test('mirage: any L(N) function is accepted', () => {
  const Ns = Array.from({ length: 10 }, (_, i) => 10 ** (5 + i * 0.5));
  const rows = mirageCurve(Ns, { T: 10, loss: (N) => 3 * Math.pow(N / 1e5, -0.35) });
  rows.forEach((r) => {
    close(r.loss, 3 * Math.pow(r.N / 1e5, -0.35));
    close(r.exactMatch, Math.exp(-10 * r.loss), 1e-15);
    close(r.expectedTED, 10 * (1 - Math.exp(-r.loss)), 1e-12);
  });
  assert.throws(() => mirageCurve([1], { T: 0, c: 1, alpha: -1 }), TheoryError);
  assert.throws(() => mirageCurve([1], { T: 2 }), /loss\(N\) or both c and alpha/);
  assert.throws(() => mirageCurve([1], { T: 2, loss: () => -1 }), /≥ 0/);
});

test('mirage: on the same model exact match sits at its floor then jumps, edit distance improves from the start', () => {
  const Ns = Array.from({ length: 9 }, (_, i) => 10 ** (8 + i));
  const rows = mirageCurve(Ns, { c: 1e8, alpha: -0.5, T: 10 });
  const em = classifyShape(rows.map((r) => ({ x: r.N, y: r.exactMatch })));
  const ted = classifyShape(rows.map((r) => ({ x: r.N, y: r.expectedTED })), { higherIsBetter: false });
  assert.equal(em.label, 'emergent', em.reasons.join('; '));
  assert.equal(ted.label, 'smooth', ted.reasons.join('; '));
  // per-token loss itself is a straight line in log-log: the "smoothness" the mirage argument rests on
  const slope = (Math.log(rows[8]!.loss) - Math.log(rows[0]!.loss)) / (Math.log(rows[8]!.N) - Math.log(rows[0]!.N));
  close(slope, -0.5, 1e-12);
});

test('binary entropy and Bernoulli KL (nats) against direct formulas', () => {
  close(binaryEntropy(0.5), Math.log(2));
  close(binaryEntropy(0.1), -(0.1 * Math.log(0.1) + 0.9 * Math.log(0.9)));
  assert.equal(binaryEntropy(0), 0);
  close(bernoulliKL(0.2, 0.1), 0.2 * Math.log(2) + 0.8 * Math.log(0.8 / 0.9));
  close(bernoulliKL(1, 0.5), Math.log(2));
  assert.equal(bernoulliKL(0.3, 0.3), 0);
});

test('Arora–Goyal: theta=0.1, k=20, beta=2 gives alpha* = 0.270720', () => {
  const s = aroraGoyalSolve({ theta: 0.1, k: 20, beta: 2 });
  assert.equal(s.exists, true);
  assert.equal(s.alphaStar!.toFixed(6), '0.270720');
  close(aroraGoyalExcess(s.alphaStar!, s), 0, 1e-12);
  close(s.fractionCompetent, 1 - s.alphaStar!);
  close(s.competence, 0.8);
});

test('Arora–Goyal: a root exists iff k·theta·ln(beta) > H(theta); g is decreasing and sign-changes at the root', () => {
  const grid = [];
  for (const theta of [0.01, 0.05, 0.1, 0.2, 0.3]) for (const k of [1, 2, 5, 20, 50]) for (const beta of [1.2, 2, 3, 5]) grid.push({ theta, k, beta });
  let withRoot = 0;
  for (const p of grid) {
    const s = aroraGoyalSolve(p);
    assert.equal(s.exists, p.k * p.theta * Math.log(p.beta) > binaryEntropy(p.theta), JSON.stringify(p));
    // monotone decrease on a grid of (0, 1/beta)
    let prev = Infinity;
    for (let i = 1; i < 50; i++) {
      const g = aroraGoyalExcess((i / 50) / p.beta, p);
      assert.ok(g <= prev + 1e-12, `g not decreasing at ${JSON.stringify(p)}`);
      prev = g;
    }
    if (s.exists) {
      withRoot++;
      const a = s.alphaStar!;
      assert.ok(a > 0 && a < 1 / p.beta);
      assert.ok(aroraGoyalExcess(a * (1 - 1e-6), p) > 0 && aroraGoyalExcess(Math.min(a * (1 + 1e-6), 1 / p.beta), p) < 1e-9);
    } else {
      assert.equal(s.alphaStar, null);
      assert.equal(s.fractionCompetent, 0);
    }
  }
  assert.ok(withRoot > 10 && withRoot < grid.length);
  assert.throws(() => aroraGoyalSolve({ theta: 0.1, k: 20, beta: 1 }), /beta must be > 1/);
});

test("Arora–Goyal curves: halving theta moves the 2k'-tuple curve to where the k'-tuple curve was", () => {
  const thetas = [0.2, 0.1, 0.05, 0.025, 0.0125];
  const curves = aroraGoyalCurves({ k: 20, competence: 0.8, kPrimes: [1, 2, 4], thetas: [...thetas, ...thetas.map((t) => t / 2), ...thetas.map((t) => t / 4)] });
  const at = (kp: number, th: number) => curves.find((c) => c.kPrime === kp && Math.abs(c.theta - th) < 1e-15)!;
  for (const th of thetas) {
    for (const kp of [1, 2]) {
      const a = at(kp, th), b = at(2 * kp, th / 2);
      assert.equal(b.fraction, a.fraction, `k'=${kp}, theta=${th}`);
      close(b.competence, a.competence);
    }
  }
  // k'=1 at fixed beta is the single-skill solver
  const single = aroraGoyalCurves({ k: 20, beta: 2, kPrimes: [1], thetas: [0.1] })[0]!;
  assert.equal(single.alphaStar!.toFixed(6), '0.270720');
  // competence curve rises as theta falls (emergence with scale)
  const c1 = thetas.map((th) => at(1, th).fraction);
  for (let i = 1; i < c1.length; i++) assert.ok(c1[i]! >= c1[i - 1]!);
  assert.ok(at(4, 0.2).note !== undefined); // k'θ = 0.8: competence 0.8 out of reach
  assert.throws(() => aroraGoyalCurves({ k: 20, kPrimes: [1], thetas: [0.1] }), /exactly one of beta or competence/);
});
