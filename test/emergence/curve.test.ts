import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normal, Rng } from '../../src/emergence/rng.ts';
import {
  analyzeCurve,
  breakthroughness,
  classifyShape,
  CurveError,
  curveFromCsv,
  emergencePoint,
  lmlabLinearity,
  orderByScale,
  quadraticFitR2,
  spearmanWithOrder,
  type CurvePoint,
  type ShapeLabel,
} from '../../src/emergence/curve.ts';

const close = (a: number, b: number, tol = 1e-9): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('breakthroughness: DOMAIN.md values', () => {
  close(breakthroughness([0, 0.25, 0.5, 0.75, 1]).value, 4);
  close(breakthroughness([0, 0.01, 0.02, 0.03, 1]).value, 100);
  // decreasing: max before min → negative sign
  close(breakthroughness([1, 0.75, 0.5, 0.25, 0]).value, -4);
  // odd number of steps: plain middle value; [0,.1,.3,.6] steps² .01,.04,.09 → median .04 → 0.6/0.2 = 3
  close(breakthroughness([0, 0.1, 0.3, 0.6]).value, 3);
  const c = breakthroughness([0.3, 0.3, 0.3]);
  assert.equal(c.value, 0);
  assert.equal(c.floored, false);
});

test('breakthroughness: zero median step is floored and flagged as infinite', () => {
  const b = breakthroughness([0, 0, 0, 0, 1]);
  assert.equal(b.infinite, true);
  assert.equal(b.floored, true);
  close(b.value, 1000); // default floor 1e-3 · range
  const b2 = breakthroughness([0, 0, 0, 0, 1], { denominatorFloor: 0.05 });
  close(b2.value, 20);
  // tiny but non-zero median: floored, not infinite
  const b3 = breakthroughness([0, 1e-6, 2e-6, 3e-6, 1]);
  assert.equal(b3.floored, true);
  assert.equal(b3.infinite, false);
  assert.throws(() => breakthroughness([1]), CurveError);
});

test('lmlab_linearity equals the squared Pearson correlation of y and log10 x', () => {
  const xs = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8];
  const exact = lmlabLinearity(xs.map((x) => ({ x, y: 0.1 + 0.05 * Math.log10(x) })));
  close(exact.lmlab_linearity!, 1);
  close(exact.slope, 0.05);
  const r = new Rng(2);
  const pts = xs.map((x) => ({ x, y: 0.1 * Math.log10(x) + 0.3 * normal(r) }));
  const t = pts.map((p) => Math.log10(p.x)), y = pts.map((p) => p.y);
  const mt = t.reduce((a, b) => a + b) / t.length, my = y.reduce((a, b) => a + b) / y.length;
  const cov = t.reduce((s, v, i) => s + (v - mt) * (y[i]! - my), 0);
  const vt = t.reduce((s, v) => s + (v - mt) ** 2, 0), vy = y.reduce((s, v) => s + (v - my) ** 2, 0);
  close(lmlabLinearity(pts).lmlab_linearity!, (cov * cov) / (vt * vy), 1e-12);
  assert.equal(lmlabLinearity(xs.map((x) => ({ x, y: 0.5 }))).lmlab_linearity, null);
  assert.equal(lmlabLinearity([{ x: 0, y: 0 }, { x: 1, y: 1 }, { x: 2, y: 3 }]).xTransform, 'identity');
});

test('quadratic R² is 1 on an exact parabola; Spearman handles ties', () => {
  const t = [0, 1, 2, 3, 4, 5];
  close(quadraticFitR2(t, t.map((v) => 2 - 3 * v + 0.7 * v * v))!, 1, 1e-9);
  close(spearmanWithOrder([1, 2, 3, 4]), 1);
  close(spearmanWithOrder([4, 3, 2, 1]), -1);
  close(spearmanWithOrder([0, 0, 1]), Math.sqrt(3) / 2); // ranks 1.5,1.5,3 vs 1,2,3
});

test('emergence point: log-interpolated halfway crossing with its bracket', () => {
  const xs = [1e6, 1e7, 1e8, 1e9, 1e10];
  const e = emergencePoint(xs.map((x, i) => ({ x, y: i / 4 })));
  close(e.x!, 1e8, 1e-3);
  close(e.threshold, 0.5);
  const e2 = emergencePoint([1, 10, 100, 1000].map((x, i) => ({ x, y: [0, 0.2, 0.6, 1][i]! })));
  close(e2.x!, Math.pow(10, 1.75), 1e-9);
  assert.deepEqual(e2.bracket, [10, 100]);
  assert.equal(e2.interpolation, 'log');
  // step axis including 0: linear interpolation
  const e3 = emergencePoint([0, 100, 200].map((x, i) => ({ x, y: [0, 0.4, 1][i]! })));
  close(e3.x!, 100 + 100 / 6, 1e-9);
  assert.equal(e3.interpolation, 'linear');
  // given floor (chance 0.25) and ceiling 1: threshold 0.625
  const e4 = emergencePoint([1, 10, 100].map((x, i) => ({ x, y: [0.25, 0.5, 0.75][i]! })), { floor: 0.25, ceiling: 1 });
  close(e4.threshold, 0.625);
  close(e4.x!, Math.pow(10, 1.5), 1e-9);
  // never reached with an explicit ceiling
  const e5 = emergencePoint([1, 10, 100].map((x, i) => ({ x, y: [0.25, 0.3, 0.35][i]! })), { floor: 0.25, ceiling: 1 });
  assert.equal(e5.x, null);
  assert.match(e5.note!, /never/);
});

test('emergence point on the loss axis and for a falling metric', () => {
  // validation loss: smaller x = more scale; metric rises as loss falls
  const pts = [{ x: 4, y: 0 }, { x: 3, y: 0.1 }, { x: 2, y: 0.9 }, { x: 1, y: 1 }];
  const e = emergencePoint(pts, { axis: 'loss' });
  assert.equal(e.direction, 'up');
  close(e.x!, Math.exp(Math.log(3) + 0.5 * (Math.log(2) - Math.log(3))), 1e-12);
  assert.deepEqual(orderByScale(pts, 'loss').map((p) => p.x), [4, 3, 2, 1]);
  // edit distance falls with N: direction 'down', threshold halfway between max and min
  const d = emergencePoint([1, 10, 100, 1000].map((x, i) => ({ x, y: [5, 4.5, 1, 0.5][i]! })));
  assert.equal(d.direction, 'down');
  close(d.threshold, 2.75);
});

test('bootstrap interval: contains the estimate, shrinks with the standard error, binomial variant works', () => {
  const xs = [1e6, 1e7, 1e8, 1e9, 1e10, 1e11];
  const ys = [0.02, 0.03, 0.05, 0.6, 0.9, 0.95];
  const wide = emergencePoint(xs.map((x, i) => ({ x, y: ys[i]!, se: 0.05 })), { seed: 1 });
  const narrow = emergencePoint(xs.map((x, i) => ({ x, y: ys[i]!, se: 0.005 })), { seed: 1 });
  assert.ok(wide.interval && narrow.interval);
  for (const e of [wide, narrow]) assert.ok(e.interval![0] <= e.x! && e.x! <= e.interval![1], JSON.stringify(e));
  const w = (e: typeof wide): number => Math.log(e.interval![1] / e.interval![0]);
  assert.ok(w(narrow) < w(wide), `${w(narrow)} < ${w(wide)}`);
  assert.equal(wide.bootstrapReplicates, 1000);
  const bin = emergencePoint(xs.map((x, i) => ({ x, y: ys[i]!, count: 200 })), { seed: 2, bootstrap: 300 });
  assert.ok(bin.interval![0] <= bin.x! && bin.x! <= bin.interval![1]);
  assert.equal(emergencePoint(xs.map((x, i) => ({ x, y: ys[i]! }))).interval, undefined);
  assert.throws(() => emergencePoint(xs.map((x, i) => ({ x, y: ys[i]! })), { bootstrap: 10 }), /se or count/);
});

// ---- shapes on synthetic curves -------------------------------------------------------------------

const XS = [1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13];
const T = XS.map((x) => Math.log10(x));
const frac = T.map((t) => (t - 6) / 7);

function synth(shape: ShapeLabel, r: Rng): number[] {
  const noise = (s: number): number => s * normal(r);
  switch (shape) {
    case 'smooth': {
      const lo = 0.05 + 0.1 * Math.abs(normal(r)), hi = 0.8 + 0.1 * Math.abs(normal(r));
      return frac.map((f) => lo + (hi - lo) * f + noise(0.02));
    }
    case 'emergent': {
      const center = 9.5 + 2.5 * ((normal(r) + 3) / 6); // somewhere in the upper half of the axis
      return T.map((t) => 0.02 + 0.9 / (1 + Math.exp(-(t - center) / 0.12)) + noise(0.01));
    }
    case 'flat':
      return T.map(() => 0.25 + noise(0.006));
    case 'inverse':
      return frac.map((f) => 0.9 - 0.6 * f + noise(0.02));
    case 'U-shaped': {
      const mid = 8.8 + 1.4 * ((normal(r) + 3) / 6);
      return T.map((t) => 0.15 + 0.7 * ((t - mid) / 3.5) ** 2 + noise(0.02));
    }
    case 'uncorrelated':
      return T.map((_, i) => (i % 2 === 0 ? 0.3 : 0.7) + noise(0.05));
  }
}

test('shape labels on synthetic curves of every shape (20 noisy draws each)', () => {
  const shapes: ShapeLabel[] = ['smooth', 'emergent', 'flat', 'inverse', 'U-shaped', 'uncorrelated'];
  for (const shape of shapes) {
    const r = new Rng(`shape-${shape}`);
    for (let k = 0; k < 20; k++) {
      const ys = synth(shape, r);
      const res = classifyShape(XS.map((x, i) => ({ x, y: ys[i]! })));
      assert.equal(res.label, shape, `${shape} draw ${k}: got ${res.label} (${res.reasons.join('; ')}) for ${ys.map((v) => v.toFixed(3))}`);
    }
  }
});

test('shape edge cases: saturating curve is smooth, pure jump is emergent, inverted U, orientation, loss axis', () => {
  const lab = (ys: number[], o = {}): string => classifyShape(ys.map((y, i) => ({ x: 10 ** (i + 6), y })), o).label;
  assert.equal(lab([0, 0.5, 1, 1, 1, 1]), 'smooth'); // B is floored-infinite here, the label is not fooled
  assert.equal(lab([0, 0, 1]), 'emergent');
  assert.equal(lab([0, 1, 1, 1]), 'smooth'); // no floor region observed before the rise
  const inv = classifyShape([0.2, 0.5, 0.8, 0.85, 0.5, 0.25].map((y, i) => ({ x: 10 ** i, y })));
  assert.equal(inv.label, 'U-shaped');
  assert.equal(inv.orientation, 'inverted-U');
  // loss falling with N: smooth when lower is better, inverse when read as higher-is-better
  const loss = [4, 3.6, 3.3, 3.0, 2.8, 2.6];
  assert.equal(lab(loss, { higherIsBetter: false }), 'smooth');
  assert.equal(lab(loss), 'inverse');
  // metric vs validation loss (axis 'loss'): accuracy rises as loss falls
  const pts: CurvePoint[] = [{ x: 4, y: 0.01 }, { x: 3.5, y: 0.02 }, { x: 3, y: 0.02 }, { x: 2.5, y: 0.8 }, { x: 2, y: 0.9 }];
  assert.equal(classifyShape(pts, { axis: 'loss' }).label, 'emergent');
  assert.equal(classifyShape(pts, { axis: 'scale' }).label, 'inverse');
  assert.throws(() => classifyShape([{ x: 1, y: 0 }, { x: 2, y: 1 }]), /at least 3/);
  assert.throws(() => orderByScale([{ x: 1, y: 0 }, { x: 1, y: 1 }]), /duplicate/);
});

test('analyzeCurve bundles everything; CSV parsing names bad fields', () => {
  const csv = '# a comment\nN,acc,se\n1e6,0.01,0.01\n1e7,0.02,0.01\n1e8,0.03,0.01\n1e9,0.9,0.01\n1e10,0.95,0.01\n';
  const pts = curveFromCsv(csv, { y: 'acc', se: 'se' });
  assert.equal(pts.length, 5);
  assert.equal(pts[3]!.se, 0.01);
  const a = analyzeCurve(pts, { seed: 3 });
  assert.equal(a.shape.label, 'emergent');
  close(a.breakthroughness.value, 0.94 / Math.sqrt((0.01 ** 2 + 0.05 ** 2) / 2), 1e-9);
  assert.ok(a.emergencePoint.interval);
  assert.ok(a.linearity.lmlab_linearity! > 0 && a.linearity.lmlab_linearity! < 1);
  assert.throws(() => curveFromCsv('N,acc\n1e6,abc\n', {}, 'c.csv'), /c\.csv: row 2, column 'acc': 'abc'/);
  assert.throws(() => curveFromCsv('N,acc\n1e6,1\n', { y: 'loss' }, 'c.csv'), /no column 'loss'/);
  assert.throws(() => curveFromCsv('N,acc\n1e6\n', {}, 'c.csv'), /row 2 has 1 fields/);
});

test('pure noise on 12 points is labeled uncorrelated in at least 90% of draws', () => {
  const xs = Array.from({ length: 12 }, (_, i) => 10 ** (6 + i / 2));
  const r = new Rng('iid');
  let unc = 0;
  for (let k = 0; k < 100; k++) {
    const res = classifyShape(xs.map((x) => ({ x, y: 0.5 + 0.2 * normal(r) })));
    if (res.label === 'uncorrelated') unc++;
  }
  assert.ok(unc >= 90, `${unc}/100 uncorrelated`);
});
