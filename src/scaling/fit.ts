/**
 * One entry point for `lmlab fit`: read a CSV, choose the form, run the fit (with goodness of fit,
 * leave-largest-out validation and optional seeded bootstrap), return a JSON-able result, and format
 * it as text. The CLI is a thin shell over runFit / formatFit.
 */
import { basename } from 'node:path';
import { detectColumns, readCsv, toPoints, type Points, type Role, type Table, filterRows } from './data.ts';
import { fitChinchilla, fitChinchillaWith, prepareChinchilla, type ChinchillaFit } from './chinchilla.ts';
import { fitApproach1, fitApproach2, type ApproachFit } from './approaches.ts';
import { fitKaplanJoint, fitKaplanOne, fitLogLinear, fitOffsetPowerLaw, type KaplanJointFit, type KaplanOneFit, type LogLinearFit, type OffsetPowerFit } from './powerlaw.ts';
import { ScalingInputError } from './errors.ts';
import { createPool } from './parallel.ts';

export const FORMS = ['chinchilla', 'kaplan', 'approach1', 'approach2', 'power'] as const;
export type Form = (typeof FORMS)[number];

export interface FitRequest {
  /** CSV path, or an already parsed table. */
  input: string | Table;
  form: Form;
  bootstrap?: number;
  seed?: number;
  level?: number;
  where?: Record<string, string>;
  dropHighestLoss?: number;
  skipInvalid?: boolean;
  columns?: Partial<Record<Role, string>>;
  /** power / kaplan: the size variable (default C for power; kaplan: N and D if both present). */
  x?: 'N' | 'D' | 'C';
  /** power: response column (default: the loss column). */
  y?: string;
  /** power: fit y = k·x^s (no irreducible term) by least squares in log-log space. */
  noOffset?: boolean;
  /** power: x values at which to predict with intervals. */
  predictAt?: number[];
  holdoutFactor?: number;
  validate?: boolean;
  /** approach 2 */
  window?: number;
  budgetTolDex?: number;
  /** approach 1 */
  gridPoints?: number;
  /** chinchilla */
  bootstrapStarts?: 'best' | 'grid';
  validationStarts?: 'best' | 'grid';
  /** chinchilla: worker threads for the multi-start fits (1 = in this thread). */
  threads?: number;
}

export type FitResult = ChinchillaFit | ApproachFit | KaplanJointFit | KaplanOneFit | OffsetPowerFit | (LogLinearFit & { form: 'loglinear'; x: string; y: string });

export interface FitOutput {
  form: Form;
  input: { source: string; points: number; notes: string[] };
  result: FitResult;
  /** Worker threads used (chinchilla) and their start-up time. */
  threads?: { count: number; startupMs: number; note?: string };
  wallMs: number;
}

export async function runFit(req: FitRequest): Promise<FitOutput> {
  if (!FORMS.includes(req.form)) throw new ScalingInputError(`--form must be one of ${FORMS.join(', ')}, got '${req.form}'`);
  const t0 = performance.now();
  const table0 = typeof req.input === 'string' ? readCsv(req.input) : req.input;
  const table = req.where && Object.keys(req.where).length > 0 ? filterRows(table0, req.where) : table0;
  if (table.rows.length === 0) throw new ScalingInputError(`${table.source}: no data rows${req.where ? ' after --where filtering' : ''}`);
  const columns = { ...(req.columns ?? {}) };
  if (req.y !== undefined) columns.loss = req.y;
  const load = (need: ('N' | 'D' | 'C')[]): Points =>
    toPoints(table, { need, columns, skipInvalid: req.skipInvalid, dropHighestLoss: req.dropHighestLoss });
  const level = req.level ?? 0.95;
  const common = { bootstrap: req.bootstrap ?? 0, seed: req.seed ?? 0, level };
  let pts: Points;
  let result: FitResult;
  let threads: FitOutput['threads'];
  switch (req.form) {
    case 'chinchilla': {
      pts = load(['N', 'D']);
      const opts = {
        ...common,
        bootstrapStarts: req.bootstrapStarts,
        validationStarts: req.validationStarts,
        validate: req.validate ?? true,
        ...(req.holdoutFactor !== undefined ? { holdoutFactor: req.holdoutFactor } : {}),
      };
      const T = req.threads ?? 1;
      if (T > 1) {
        const prob = prepareChinchilla(pts, opts);
        const pool = await createPool(prob.data, prob.delta, {}, T);
        if (pool) {
          try {
            result = await fitChinchillaWith(pts, opts, pool.solve);
          } finally {
            await pool.close();
          }
          threads = { count: pool.threads, startupMs: pool.startupMs };
        } else {
          result = fitChinchilla(pts, opts);
          threads = { count: 1, startupMs: 0, note: 'worker threads unavailable; fitted in the main thread' };
        }
      } else {
        result = fitChinchilla(pts, opts);
        threads = { count: 1, startupMs: 0 };
      }
      break;
    }
    case 'kaplan': {
      const cols = detectColumns(table, columns);
      const hasN = cols.N !== undefined;
      const hasD = cols.D !== undefined || (cols.C !== undefined && hasN);
      const which = req.x ?? (hasN && hasD ? 'ND' : hasN ? 'N' : hasD ? 'D' : null);
      if (which === null) throw new ScalingInputError(`${table.source}: the kaplan form needs an N and/or a D column`);
      if (which === 'C') throw new ScalingInputError('--x C is not a Kaplan form here; use --form power --x C for L(C) = E + A C^-alpha');
      const hv = req.holdoutFactor ?? 1.25;
      if (which === 'ND') {
        pts = load(['N', 'D']);
        result = fitKaplanJoint(pts.N!, pts.D!, pts.loss, { ...common, holdoutFactor: hv });
      } else {
        pts = load([which]);
        result = fitKaplanOne(which, which === 'N' ? pts.N! : pts.D!, pts.loss, { ...common, holdoutFactor: hv });
      }
      break;
    }
    case 'approach1':
      pts = load(['N', 'C']);
      result = fitApproach1(pts, { ...common, ...(req.gridPoints !== undefined ? { gridPoints: req.gridPoints } : {}), ...(req.validate === false ? { holdoutFraction: 0 } : {}) });
      break;
    case 'approach2':
      pts = load(['N', 'C']);
      result = fitApproach2(pts, {
        ...common,
        ...(req.window !== undefined ? { window: req.window } : {}),
        ...(req.budgetTolDex !== undefined ? { budgetTolDex: req.budgetTolDex } : {}),
        validate: req.validate ?? true,
      });
      break;
    case 'power': {
      const x = req.x ?? 'C';
      pts = load([x]);
      const xs = x === 'N' ? pts.N! : x === 'D' ? pts.D! : pts.C!;
      const hv = req.validate === false ? 0 : (req.holdoutFactor ?? 1.25);
      if (req.noOffset) {
        const f = fitLogLinear(xs, pts.loss, { ...common, holdoutFactor: hv });
        result = { ...f, form: 'loglinear', x, y: req.y ?? 'loss' };
      } else {
        result = fitOffsetPowerLaw(xs, pts.loss, { ...common, holdoutFactor: hv, predictAt: req.predictAt ?? [] });
      }
      break;
    }
  }
  return {
    form: req.form,
    input: { source: pts.source, points: pts.loss.length, notes: pts.notes },
    result,
    ...(threads ? { threads } : {}),
    wallMs: performance.now() - t0,
  };
}

// ---------------------------------------------------------------------------------------------
// text output

export function fmt(v: number, digits = 5): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

function ci(iv: { lo: number; hi: number } | undefined | null): string {
  return iv ? `[${fmt(iv.lo, 4)}, ${fmt(iv.hi, 4)}]` : '';
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  return rows.map((r) => '  ' + r.map((c, j) => c.padEnd(w[j]!)).join('  ').trimEnd()).join('\n');
}

export function formatFit(out: FitOutput): string {
  const L: string[] = [];
  const r = out.result;
  L.push(`${describe(r)} — ${basename(out.input.source)}, ${out.input.points} points`);
  for (const n of out.input.notes) L.push(`  input: ${n}`);
  switch (r.form) {
    case 'chinchilla': {
      const b = r.bootstrap;
      const head = ['param', 'estimate', b ? `${Math.round(b.level * 100)}% CI (bootstrap, ${b.converged}/${b.resamples} resamples, seed ${b.seed})` : ''];
      const rows = [head];
      const keys = [['A', r.params.A], ['B', r.params.B], ['E', r.params.E], ['alpha', r.params.alpha], ['beta', r.params.beta], ['a = beta/(alpha+beta)', r.allocation.a], ['b = alpha/(alpha+beta)', r.allocation.b], ['G', r.allocation.G]] as const;
      for (const [k, v] of keys) {
        const key = (k.startsWith('a =') ? 'a' : k.startsWith('b =') ? 'b' : k) as keyof NonNullable<typeof b>['intervals'];
        rows.push([k, fmt(v), b ? ci(b.intervals[key]) : '']);
      }
      L.push('  L(N, D) = E + A/N^alpha + B/D^beta');
      L.push(table(rows));
      L.push(`  objective: summed Huber (delta = ${r.delta}) of log-loss residuals = ${fmt(r.objective, 6)}`);
      const o = r.optimizer;
      const st = Object.entries(o.statuses).map(([k, v]) => `${v} ${k}`).join(', ');
      L.push(`  optimizer: L-BFGS from ${o.starts} starts, ${o.converged} converged (${st}); ${o.iterations} iterations, ${o.evaluations} evaluations; best from start #${o.bestStart} [a,b,e,alpha,beta] = [${o.start.join(', ')}]`);
      L.push(`  goodness: R^2 (log L) = ${fmt(r.goodness.r2Log, 4)}, RMSE (log L) = ${fmt(r.goodness.rmseLog, 4)}, max |residual| = ${fmt(r.goodness.maxAbsResidualLog, 4)}`);
      const v = r.validation;
      if (v) {
        if (v.refit) {
          L.push(`  validation: ${v.rule}: ${v.heldOut} held out, ${v.trainedOn} used; refit alpha = ${fmt(v.refit.alpha, 4)}, beta = ${fmt(v.refit.beta, 4)}, E = ${fmt(v.refit.E, 4)}`);
          for (const p of v.points) L.push(`    N = ${fmt(p.N, 3)}, D = ${fmt(p.D, 3)}: loss ${fmt(p.loss, 4)}, predicted ${fmt(p.predicted, 4)} (${(p.relError * 100).toFixed(2)}%)`);
        } else L.push(`  validation: ${v.rule}: ${v.note}`);
      }
      const t = r.timings;
      L.push(`  time: fit ${(t.fitMs / 1000).toFixed(2)} s, validation ${(t.validationMs / 1000).toFixed(2)} s, bootstrap ${(t.bootstrapMs / 1000).toFixed(2)} s${out.threads && out.threads.count > 1 ? ` (${out.threads.count} worker threads, start-up ${(out.threads.startupMs / 1000).toFixed(2)} s)` : ''}`);
      break;
    }
    case 'approach1':
    case 'approach2': {
      const b = r.bootstrap;
      L.push(`  N_opt = ${fmt(r.N.coef, 4)} * C^${fmt(r.N.exponent, 4)}   (a: OLS ${Math.round(r.level * 100)}% CI ${ci(r.N.ci)}${b ? `, bootstrap ${ci(b.a)} from ${b.converged}/${b.resamples} resamples, seed ${b.seed}` : ''})`);
      L.push(`  D_opt = ${fmt(r.D.coef, 4)} * C^${fmt(r.D.exponent, 4)}   (b: OLS CI ${ci(r.D.ci)}${b ? `, bootstrap ${ci(b.b)}` : ''})`);
      L.push(`  goodness: R^2 (log N_opt vs log C) = ${fmt(r.N.r2Log, 4)} over ${r.optima.length} optima`);
      if (r.form === 'approach2' && r.budgets) {
        const rows = [['budget C', 'points', 'used', 'N_opt', 'D_opt', 'L_opt', 'note']];
        for (const bd of r.budgets) rows.push([fmt(bd.C, 3), String(bd.points), String(bd.used), bd.optimum ? fmt(bd.optimum.N, 4) : '-', bd.optimum ? fmt(bd.optimum.D, 4) : '-', bd.optimum ? fmt(bd.optimum.loss, 4) : '-', bd.note ?? '']);
        L.push(table(rows));
      }
      for (const n of r.notes) if (!n.startsWith('budget C=')) L.push(`  note: ${n}`);
      const v = r.validation;
      if (v) {
        L.push(`  validation: ${v.rule}${v.note ? `: ${v.note}` : ''}`);
        for (const h of v.heldOut) L.push(`    C = ${fmt(h.C, 3)}: N_opt observed ${fmt(h.observedN, 4)}, predicted ${fmt(h.predictedN, 4)} (ratio ${fmt(h.ratio, 4)})`);
      }
      break;
    }
    case 'kaplan-ND': {
      const b = r.bootstrap;
      L.push('  L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D');
      const rows = [['param', 'estimate', b ? `${Math.round(b.level * 100)}% CI (bootstrap, ${b.converged}/${b.resamples}, seed ${b.seed})` : '']];
      rows.push(['N_c', fmt(r.Nc), b ? ci(b.intervals.Nc) : ''], ['D_c', fmt(r.Dc), b ? ci(b.intervals.Dc) : ''], ['alpha_N', fmt(r.alphaN), b ? ci(b.intervals.alphaN) : ''], ['alpha_D', fmt(r.alphaD), b ? ci(b.intervals.alphaD) : '']);
      L.push(table(rows));
      L.push(`  optimizer: L-BFGS from ${r.optimizer.starts} starts, ${r.optimizer.converged} converged, ${r.optimizer.iterations} iterations`);
      L.push(`  goodness: R^2 (log L) = ${fmt(r.goodness.r2Log, 4)}, RMSE (log L) = ${fmt(r.goodness.rmseLog, 4)}`);
      pushHoldout(L, r.validation, 'C');
      break;
    }
    case 'kaplan-N':
    case 'kaplan-D': {
      const X = r.form === 'kaplan-N' ? 'N' : 'D';
      L.push(`  L(${X}) = (${X}_c/${X})^alpha_${X}`);
      L.push(`  ${X}_c = ${fmt(r.Xc)} ${ci(r.XcCI)}, alpha_${X} = ${fmt(r.alpha)} ${ci(r.alphaCI)} (${Math.round(r.level * 100)}% ${r.bootstrap ? `bootstrap, ${r.bootstrap.resamples} resamples, seed ${r.bootstrap.seed}` : 'OLS t'} interval${r.bootstrap ? '; X_c interval: delta method' : ''})`);
      L.push(`  goodness: R^2 (log L) = ${fmt(r.goodness.r2Log, 4)}, RMSE (log L) = ${fmt(r.goodness.rmseLog, 4)}`);
      pushHoldout(L, r.validation, X);
      break;
    }
    case 'power': {
      L.push(`  L(x) = E + A * x^-alpha`);
      const b = r.bootstrap;
      const rows = [['param', 'estimate', 'delta-method SE', b ? `${Math.round(r.level * 100)}% CI (bootstrap, ${b.converged}/${b.resamples}, seed ${b.seed})` : '']];
      rows.push(['A', fmt(r.A), r.paramSE ? `log A ± ${fmt(r.paramSE.logA, 3)}` : '', b ? ci(b.intervals.A) : '']);
      rows.push(['alpha', fmt(r.alpha), r.paramSE ? fmt(r.paramSE.alpha, 3) : '', b ? ci(b.intervals.alpha) : '']);
      rows.push(['E', fmt(r.E), r.paramSE ? `log E ± ${fmt(r.paramSE.logE, 3)}` : '', b ? ci(b.intervals.E) : '']);
      L.push(table(rows));
      L.push(`  optimizer: L-BFGS from ${r.optimizer.starts} starts, ${r.optimizer.converged} converged`);
      L.push(`  goodness: R^2 (log L) = ${fmt(r.goodness.r2Log, 4)}, RMSE (log L) = ${fmt(r.goodness.rmseLog, 4)}`);
      for (const n of r.notes) L.push(`  note: ${n}`);
      for (const p of r.prediction) L.push(`  predict x = ${fmt(p.x, 4)}: L = ${fmt(p.predicted, 5)}, ${Math.round(r.level * 100)}% CI ${ci({ lo: p.ci[0], hi: p.ci[1] })}, prediction interval ${ci({ lo: p.pi[0], hi: p.pi[1] })}`);
      pushHoldout(L, r.validation, 'x');
      break;
    }
    case 'loglinear': {
      L.push(`  ${r.y} = ${fmt(r.coef, 4)} * ${r.x}^${fmt(r.exponent, 4)}   (exponent ${Math.round(r.level * 100)}% OLS CI ${ci(r.exponentCI)}${r.bootstrap ? `, bootstrap ${ci(r.bootstrap.exponent)} from ${r.bootstrap.resamples} resamples, seed ${r.bootstrap.seed}` : ''})`);
      L.push(`  goodness: R^2 (log-log) = ${fmt(r.goodness.r2Log, 4)}, RMSE (log) = ${fmt(r.goodness.rmseLog, 4)}`);
      pushHoldout(L, r.validation, r.x);
      break;
    }
  }
  return L.join('\n');
}

function pushHoldout(L: string[], v: { rule: string; heldOut: { x: number; y: number; predicted: number; relError: number; pi?: [number, number] }[]; meanAbsLogError: number; note?: string } | null, xname: string): void {
  if (!v) return;
  L.push(`  validation: ${v.rule}${v.note ? `: ${v.note}` : ''}`);
  for (const h of v.heldOut) L.push(`    ${xname} = ${fmt(h.x, 4)}: observed ${fmt(h.y, 5)}, predicted ${fmt(h.predicted, 5)} (${(h.relError * 100).toFixed(2)}%)${h.pi ? `, prediction interval ${ci({ lo: h.pi[0], hi: h.pi[1] })}` : ''}`);
}

function describe(r: FitResult): string {
  switch (r.form) {
    case 'chinchilla':
      return 'Chinchilla approach 3 (Epoch AI procedure: LSE, summed Huber, L-BFGS from 4500 starts)';
    case 'approach1':
      return 'Chinchilla approach 1 (lower envelope of training curves)';
    case 'approach2':
      return 'Chinchilla approach 2 (IsoFLOP parabolas)';
    case 'kaplan-ND':
      return 'Kaplan 2020 joint form L(N, D)';
    case 'kaplan-N':
      return 'Kaplan 2020 L(N)';
    case 'kaplan-D':
      return 'Kaplan 2020 L(D)';
    case 'power':
      return 'Power law with irreducible term L(x) = E + A x^-alpha';
    case 'loglinear':
      return 'Power law y = k x^s (least squares in log-log space)';
  }
}
