/**
 * The native Chinchilla objective (native/fit.c, AVX2 vector exp/log) against the float64 TypeScript reference
 * (max-shifted log-sum-exp, Math.exp/Math.log), and a full fit through it. Skipped where the addon is not built
 * (the TypeScript objective is then the one in use, and test/scaling/chinchilla.test.ts covers it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chinchillaObjectiveNative, chinchillaObjectiveReference, chinchillaObjectiveJs, toLogData, fitChinchilla } from '../../src/scaling/chinchilla.ts';
import { readCsv, toPoints } from '../../src/scaling/data.ts';
import { nativeAvailable } from '../../src/engine/native/index.ts';
import { Rng } from '../../src/scaling/rng.ts';

const CSV = new URL('../../../shared/data/chinchilla/svg_extracted_data.csv', import.meta.url).pathname;
const skip = nativeAvailable() ? false : 'native addon not built';

/** |a − b| against the scale of the summed terms (a gradient component can cancel to ~0). */
function close(a: number, b: number, scale: number, tol: number): boolean {
  return Math.abs(a - b) <= tol * (Math.abs(b) + scale);
}

test('native Chinchilla objective equals the reference (f and gradient) at random and extreme points, with weights', { skip }, () => {
  const pts = toPoints(readCsv(CSV), { need: ['N', 'D'], dropHighestLoss: 5 });
  const data = toLogData(pts.N!, pts.D!, pts.loss);
  const nat = chinchillaObjectiveNative(data)!;
  const ref = chinchillaObjectiveReference(data);
  assert.ok(nat !== null, 'native objective available when the addon is');
  const rng = new Rng(3);
  const g1 = new Float64Array(5), g2 = new Float64Array(5);
  const check = (x: Float64Array, what: string): void => {
    const f1 = nat(x, g1), f2 = ref(x, g2);
    assert.ok(close(f1, f2, 1e-300, 1e-12), `${what}: f native ${f1} vs reference ${f2}`);
    // gradient scale: Σ|terms| is at most δ·Σw·(1 + |ln N| or |ln D|) — use the norm of the reference gradient + δ·n
    const scale = 1e-3 * data.lnL.length;
    for (let k = 0; k < 5; k++) assert.ok(close(g1[k]!, g2[k]!, scale, 1e-12), `${what}: g[${k}] native ${g1[k]} vs reference ${g2[k]}`);
  };
  for (let t = 0; t < 3000; t++) {
    const x = Float64Array.from([rng.next() * 30, rng.next() * 30, rng.next() * 3 - 1, rng.next() * 1.2, rng.next() * 1.2]);
    check(x, `random x=[${Array.from(x).map((v) => v.toFixed(3))}]`);
  }
  // near Epoch's optimum (most points in the Huber linear region, some in the quadratic one)
  check(Float64Array.from([Math.log(477.8), Math.log(2143), Math.log(1.8172), 0.3473, 0.3672]), 'optimum');
  // far from any fit: the scalar max-shifted path (L̂ overflows / underflows the fast path's range)
  check(Float64Array.from([900, 5, 0.5, 0.3, 0.3]), 'a = 900');
  check(Float64Array.from([-800, -800, -800, 0.3, 0.3]), 'all terms tiny');
  check(Float64Array.from([5, 5, 0.5, -30, 0.3]), 'alpha = -30');
  // weights (bootstrap multiplicities, zeros included), changed between evaluations
  for (let i = 0; i < data.w.length; i++) data.w[i] = i % 7 === 0 ? 0 : 1 + (i % 3);
  check(Float64Array.from([6, 7.6, 0.6, 0.34, 0.37]), 'weighted');
  data.w.fill(1);
  check(Float64Array.from([6, 7.6, 0.6, 0.34, 0.37]), 'weights reset');
  // a non-finite parameter gives NaN, as the reference does
  assert.ok(Number.isNaN(nat(Float64Array.from([NaN, 7, 0.5, 0.3, 0.3]), g1)), 'NaN parameter -> NaN objective');
  // the TypeScript fast path agrees too (it is what runs without the addon)
  const js = chinchillaObjectiveJs(data);
  const x = Float64Array.from([6, 7.6, 0.6, 0.34, 0.37]);
  assert.ok(close(js(x, g1), nat(x, g2), 1e-300, 1e-12), 'TypeScript fast path equals native');
});

test('the 4500-start fit through the native objective reproduces Epoch AI (E, α, β ±1%, A, B ±5%)', { skip }, () => {
  const pts = toPoints(readCsv(CSV), { need: ['N', 'D'], dropHighestLoss: 5 });
  const fit = fitChinchilla(pts, { validate: false });
  const p = fit.params;
  const rel = (a: number, b: number): number => Math.abs(a - b) / b;
  assert.ok(rel(p.E, 1.8172) < 0.01, `E ${p.E}`);
  assert.ok(rel(p.alpha, 0.3473) < 0.01, `alpha ${p.alpha}`);
  assert.ok(rel(p.beta, 0.3672) < 0.01, `beta ${p.beta}`);
  assert.ok(rel(p.A, 477.8) < 0.05, `A ${p.A}`);
  assert.ok(rel(p.B, 2143) < 0.05, `B ${p.B}`);
});
