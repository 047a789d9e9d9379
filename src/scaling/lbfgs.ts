/**
 * Limited-memory BFGS for small unconstrained problems, written to behave like SciPy's
 * `minimize(method='L-BFGS-B')` without bounds (L-BFGS-B 3.0, Byrd–Lu–Nocedal–Zhu / Morales–Nocedal):
 *
 *  - memory m = 10 correction pairs; initial inverse Hessian H0 = (s'y / y'y) I;
 *  - Moré–Thuente line search (MINPACK-2 dcsrch/dcstep) with ftol = 1e-3, gtol = 0.9, xtol = 0.1,
 *    stpmin = 0, stpmax = 1e10; first step of the first iteration min(1/‖d‖₂, stpmax), 1 afterwards;
 *    at most 20 evaluations per line search;
 *  - a line-search failure clears the memory and restarts along −g; a failure with empty memory is
 *    'line-search-failed' (SciPy: ABNORMAL_TERMINATION_IN_LNSRCH, success = False);
 *  - stopping as SciPy: ‖g‖∞ ≤ pgtol (1e-5), or (f_old − f) ≤ factr·ε·max(|f_old|, |f|, 1) with
 *    factr = 1e7 (ftol = 2.22e-9), or maxIter (15000) / maxFun (15000) reached (not converged);
 *  - a correction pair is skipped when s'y ≤ ε·(−g_old'd·stp) (curvature not positive enough).
 *
 * The solver preallocates its workspace so that many restarts (a grid of 4500 starts) allocate nothing.
 * The objective writes the gradient into `g` and returns f.
 */

export type Objective = (x: Float64Array, g: Float64Array) => number;

export type LbfgsStatus =
  | 'converged-gradient' // ‖g‖∞ ≤ pgtol
  | 'converged-reduction' // relative reduction of f ≤ factr·ε
  | 'max-iterations'
  | 'max-evaluations'
  | 'line-search-failed'
  | 'non-finite'; // f or g not finite at the starting point

export interface LbfgsOptions {
  /** Number of correction pairs kept (SciPy maxcor, default 10). */
  m?: number;
  /** Iteration limit (SciPy maxiter, default 15000). */
  maxIter?: number;
  /** Function-evaluation limit (SciPy maxfun, default 15000). */
  maxFun?: number;
  /** Relative-reduction tolerance factor; stop when Δf ≤ factr·ε·max(|f|,1) (SciPy default 1e7). */
  factr?: number;
  /** Projected-gradient tolerance on ‖g‖∞ (SciPy gtol, default 1e-5). */
  pgtol?: number;
  /** Maximum evaluations inside one line search (L-BFGS-B: 20). */
  maxLineSearch?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  status: LbfgsStatus;
  converged: boolean;
  iterations: number;
  evaluations: number;
  message: string;
}

const EPS = 2.220446049250313e-16;
const LS_FTOL = 1e-3;
const LS_GTOL = 0.9;
const LS_XTOL = 0.1;
const STPMAX = 1e10;

export const STATUS_MESSAGES: Record<LbfgsStatus, string> = {
  'converged-gradient': 'converged: projected gradient norm <= pgtol',
  'converged-reduction': 'converged: relative reduction of f <= factr*epsmch',
  'max-iterations': 'stopped: iteration limit reached',
  'max-evaluations': 'stopped: function evaluation limit reached',
  'line-search-failed': 'abnormal termination in line search',
  'non-finite': 'objective or gradient not finite at the starting point',
};

/** Reusable L-BFGS solver for problems of a fixed dimension n. */
export class LbfgsSolver {
  readonly n: number;
  readonly m: number;
  private readonly maxIter: number;
  private readonly maxFun: number;
  private readonly tol: number;
  private readonly pgtol: number;
  private readonly maxLs: number;
  // workspace
  readonly x: Float64Array;
  private readonly g: Float64Array;
  private readonly xOld: Float64Array;
  private readonly gOld: Float64Array;
  private readonly d: Float64Array;
  private readonly xt: Float64Array; // trial point
  private readonly gt: Float64Array; // gradient at trial point
  private readonly S: Float64Array; // m × n
  private readonly Y: Float64Array; // m × n
  private readonly rho: Float64Array;
  private readonly alpha: Float64Array;
  /** Function value at `x` after minimize(). */
  f = NaN;
  iterations = 0;
  evaluations = 0;
  /** ‖g‖∞ at `x` after minimize(). */
  gnorm = NaN;
  status: LbfgsStatus = 'non-finite';

  constructor(n: number, opts: LbfgsOptions = {}) {
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`LbfgsSolver: dimension must be a positive integer, got ${n}`);
    this.n = n;
    this.m = opts.m ?? 10;
    this.maxIter = opts.maxIter ?? 15000;
    this.maxFun = opts.maxFun ?? 15000;
    this.tol = (opts.factr ?? 1e7) * EPS;
    this.pgtol = opts.pgtol ?? 1e-5;
    this.maxLs = opts.maxLineSearch ?? 20;
    this.x = new Float64Array(n);
    this.g = new Float64Array(n);
    this.xOld = new Float64Array(n);
    this.gOld = new Float64Array(n);
    this.d = new Float64Array(n);
    this.xt = new Float64Array(n);
    this.gt = new Float64Array(n);
    this.S = new Float64Array(this.m * n);
    this.Y = new Float64Array(this.m * n);
    this.rho = new Float64Array(this.m);
    this.alpha = new Float64Array(this.m);
  }

  /** Minimise `fg` from `x0`. The solution is left in `this.x`; returns the status. */
  minimize(fg: Objective, x0: ArrayLike<number>): LbfgsStatus {
    const { n, m, x, g, xOld, gOld, d, S, Y, rho, alpha } = this;
    if (x0.length !== n) throw new RangeError(`LbfgsSolver: x0 has length ${x0.length}, expected ${n}`);
    for (let i = 0; i < n; i++) x[i] = x0[i]!;
    let f = fg(x, g);
    let nfev = 1;
    let iter = 0;
    let col = 0; // number of stored pairs
    let head = 0; // index of the oldest pair
    const finish = (status: LbfgsStatus): LbfgsStatus => {
      this.f = f;
      this.gnorm = normInf(g, n);
      this.iterations = iter;
      this.evaluations = nfev;
      this.status = status;
      return status;
    };
    if (!Number.isFinite(f) || !allFinite(g, n)) return finish('non-finite');
    if (normInf(g, n) <= this.pgtol) return finish('converged-gradient');

    for (;;) {
      // search direction d = −H g (two-loop recursion), or −g with empty memory
      for (let i = 0; i < n; i++) d[i] = -g[i]!;
      if (col > 0) {
        for (let k = col - 1; k >= 0; k--) {
          const j = (head + k) % m;
          const off = j * n;
          let s = 0;
          for (let i = 0; i < n; i++) s += S[off + i]! * d[i]!;
          const a = rho[j]! * s;
          alpha[j] = a;
          for (let i = 0; i < n; i++) d[i] = d[i]! - a * Y[off + i]!;
        }
        const jl = (head + col - 1) % m;
        const offl = jl * n;
        let sy = 0;
        let yy = 0;
        for (let i = 0; i < n; i++) {
          sy += S[offl + i]! * Y[offl + i]!;
          yy += Y[offl + i]! * Y[offl + i]!;
        }
        const gamma = sy / yy;
        for (let i = 0; i < n; i++) d[i] = d[i]! * gamma;
        for (let k = 0; k < col; k++) {
          const j = (head + k) % m;
          const off = j * n;
          let s = 0;
          for (let i = 0; i < n; i++) s += Y[off + i]! * d[i]!;
          const b = alpha[j]! - rho[j]! * s;
          for (let i = 0; i < n; i++) d[i] = d[i]! + b * S[off + i]!;
        }
      }
      let gd = 0;
      let dnorm2 = 0;
      for (let i = 0; i < n; i++) {
        gd += g[i]! * d[i]!;
        dnorm2 += d[i]! * d[i]!;
      }
      for (let i = 0; i < n; i++) {
        xOld[i] = x[i]!;
        gOld[i] = g[i]!;
      }
      const fOld = f;
      let ok = false;
      let stp = 0;
      if (gd < 0) {
        const stp0 = iter === 0 ? Math.min(1 / Math.sqrt(dnorm2), STPMAX) : 1;
        ok = this.lineSearch(fg, fOld, gd, stp0);
        nfev += this.lsEvals;
        stp = this.lsStp;
        if (ok) f = this.lsF;
      }
      if (!ok) {
        // restore the previous iterate
        for (let i = 0; i < n; i++) {
          x[i] = xOld[i]!;
          g[i] = gOld[i]!;
        }
        f = fOld;
        if (col === 0) {
          iter++;
          return finish('line-search-failed');
        }
        col = 0;
        head = 0;
        if (nfev >= this.maxFun) return finish('max-evaluations');
        continue; // restart along −g
      }
      iter++;
      if (iter >= this.maxIter) return finish('max-iterations');
      if (nfev > this.maxFun) return finish('max-evaluations');
      if (normInf(g, n) <= this.pgtol) return finish('converged-gradient');
      const ddum = Math.max(Math.abs(fOld), Math.abs(f), 1);
      if (fOld - f <= this.tol * ddum) return finish('converged-reduction');
      // correction pair s = x − xOld, y = g − gOld
      let sy = 0;
      const slot = col < m ? (head + col) % m : head;
      const off = slot * n;
      for (let i = 0; i < n; i++) {
        const s = x[i]! - xOld[i]!;
        const y = g[i]! - gOld[i]!;
        S[off + i] = s;
        Y[off + i] = y;
        sy += s * y;
      }
      if (sy > EPS * (-gd * stp)) {
        rho[slot] = 1 / sy;
        if (col < m) col++;
        else head = (head + 1) % m;
      }
    }
  }

  /**
   * Moré–Thuente line search along this.d from this.x (value f0, slope g0 < 0). On success x, g hold
   * the accepted point. Returns whether a step was accepted (MINPACK-2 'CONVERGENCE' or 'WARNING').
   */
  private lsStp = 0;
  private lsF = 0;
  private lsEvals = 0;

  private lineSearch(fg: Objective, f0: number, g0: number, stpInit: number): boolean {
    const { n, x, g, d, xOld, xt, gt } = this;
    const xtrapl = 1.1;
    const xtrapu = 4.0;
    const stpmin = 0;
    const stpmax = STPMAX;
    const gtest = LS_FTOL * g0;
    let stp = stpInit;
    let brackt = false;
    let stage = 1;
    let width = stpmax - stpmin;
    let width1 = width / 0.5;
    let stx = 0, fx = f0, gx = g0;
    let sty = 0, fy = f0, gy = g0;
    let stmin = 0;
    let stmax = stp + xtrapu * stp;
    let evals = 0;
    for (;;) {
      if (evals >= this.maxLs) return this.lsDone(false, stp, f0, evals);
      for (let i = 0; i < n; i++) xt[i] = xOld[i]! + stp * d[i]!;
      const f = fg(xt, gt);
      evals++;
      let gdir = 0;
      for (let i = 0; i < n; i++) gdir += gt[i]! * d[i]!;
      if (!Number.isFinite(f) || !Number.isFinite(gdir)) {
        // extension: step into a region where the objective overflows — shrink towards the best point
        brackt = true;
        sty = stp;
        fy = Infinity;
        gy = Infinity;
        stmin = Math.min(stx, sty);
        stmax = Math.max(stx, sty);
        stp = stx + 0.5 * (stp - stx);
        if (stmax - stmin <= LS_XTOL * stmax) return this.lsDone(false, stp, f0, evals);
        continue;
      }
      const ftest = f0 + stp * gtest;
      if (stage === 1 && f <= ftest && gdir >= 0) stage = 2;
      let accept = false;
      // warnings (accepted as the end of the line search, as L-BFGS-B does)
      if (brackt && (stp <= stmin || stp >= stmax)) accept = true;
      else if (brackt && stmax - stmin <= LS_XTOL * stmax) accept = true;
      else if (stp === stpmax && f <= ftest && gdir <= gtest) accept = true;
      else if (stp === stpmin && (f > ftest || gdir >= gtest)) accept = true;
      // convergence (sufficient decrease + curvature)
      else if (f <= ftest && Math.abs(gdir) <= LS_GTOL * -g0) accept = true;
      if (accept) {
        for (let i = 0; i < n; i++) {
          x[i] = xt[i]!;
          g[i] = gt[i]!;
        }
        return this.lsDone(true, stp, f, evals);
      }
      // take a step of the safeguarded interval update
      const r = STEP;
      if (stage === 1 && f <= fx && f > ftest) {
        const fm = f - stp * gtest;
        const fxm = fx - stx * gtest;
        const fym = fy - sty * gtest;
        const gm = gdir - gtest;
        const gxm = gx - gtest;
        const gym = gy - gtest;
        dcstep(stx, fxm, gxm, sty, fym, gym, stp, fm, gm, brackt, stmin, stmax);
        stx = r[0]!;
        sty = r[3]!;
        fx = r[1]! + stx * gtest;
        fy = r[4]! + sty * gtest;
        gx = r[2]! + gtest;
        gy = r[5]! + gtest;
      } else {
        dcstep(stx, fx, gx, sty, fy, gy, stp, f, gdir, brackt, stmin, stmax);
        stx = r[0]!;
        sty = r[3]!;
        fx = r[1]!;
        fy = r[4]!;
        gx = r[2]!;
        gy = r[5]!;
      }
      brackt = r[7] === 1;
      stp = r[6]!;
      if (!Number.isFinite(stp)) stp = stx + 0.5 * (sty - stx); // only after a non-finite trial (fy = ∞)
      if (brackt) {
        if (Math.abs(sty - stx) >= 0.66 * width1) stp = stx + 0.5 * (sty - stx);
        width1 = width;
        width = Math.abs(sty - stx);
      }
      if (brackt) {
        stmin = Math.min(stx, sty);
        stmax = Math.max(stx, sty);
      } else {
        stmin = stp + xtrapl * (stp - stx);
        stmax = stp + xtrapu * (stp - stx);
      }
      stp = Math.max(stp, stpmin);
      stp = Math.min(stp, stpmax);
      if ((brackt && (stp <= stmin || stp >= stmax)) || (brackt && stmax - stmin <= LS_XTOL * stmax)) stp = stx;
    }
  }

  private lsDone(ok: boolean, stp: number, f: number, evals: number): boolean {
    this.lsStp = stp;
    this.lsF = f;
    this.lsEvals = evals;
    return ok;
  }
}

/** dcstep output: [stx, fx, dx, sty, fy, dy, stp, brackt]. Module-level so the line search allocates nothing. */
const STEP = new Float64Array(8);

/** MINPACK-2 dcstep: safeguarded cubic/quadratic step and interval update. */
function dcstep(
  stx: number, fx: number, dx: number,
  sty: number, fy: number, dy: number,
  stp: number, fp: number, dp: number,
  brackt: boolean, stpmin: number, stpmax: number,
): void {
  const sgnd = dp * Math.sign(dx);
  let stpf: number;
  if (fp > fx) {
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
    if (stp < stx) gamma = -gamma;
    const p = gamma - dx + theta;
    const q = gamma - dx + gamma + dp;
    const r = p / q;
    const stpc = stx + r * (stp - stx);
    const stpq = stx + (dx / ((fx - fp) / (stp - stx) + dx) / 2) * (stp - stx);
    if (Math.abs(stpc - stx) < Math.abs(stpq - stx)) stpf = stpc;
    else stpf = stpc + (stpq - stpc) / 2;
    brackt = true;
  } else if (sgnd < 0) {
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma - dp + gamma + dx;
    const r = p / q;
    const stpc = stp + r * (stx - stp);
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    if (Math.abs(stpc - stp) > Math.abs(stpq - stp)) stpf = stpc;
    else stpf = stpq;
    brackt = true;
  } else if (Math.abs(dp) < Math.abs(dx)) {
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt(Math.max(0, (theta / s) ** 2 - (dx / s) * (dp / s)));
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma + (dx - dp) + gamma;
    const r = p / q;
    let stpc: number;
    if (r < 0 && gamma !== 0) stpc = stp + r * (stx - stp);
    else if (stp > stx) stpc = stpmax;
    else stpc = stpmin;
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    if (brackt) {
      stpf = Math.abs(stpc - stp) < Math.abs(stpq - stp) ? stpc : stpq;
      if (stp > stx) stpf = Math.min(stp + 0.66 * (sty - stp), stpf);
      else stpf = Math.max(stp + 0.66 * (sty - stp), stpf);
    } else {
      stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
      stpf = Math.min(stpmax, stpf);
      stpf = Math.max(stpmin, stpf);
    }
  } else {
    if (brackt) {
      const theta = (3 * (fp - fy)) / (sty - stp) + dy + dp;
      const s = Math.max(Math.abs(theta), Math.abs(dy), Math.abs(dp));
      let gamma = s * Math.sqrt((theta / s) ** 2 - (dy / s) * (dp / s));
      if (stp > sty) gamma = -gamma;
      const p = gamma - dp + theta;
      const q = gamma - dp + gamma + dy;
      const r = p / q;
      stpf = stp + r * (sty - stp);
    } else if (stp > stx) stpf = stpmax;
    else stpf = stpmin;
  }
  if (fp > fx) {
    sty = stp;
    fy = fp;
    dy = dp;
  } else {
    if (sgnd < 0) {
      sty = stx;
      fy = fx;
      dy = dx;
    }
    stx = stp;
    fx = fp;
    dx = dp;
  }
  STEP[0] = stx; STEP[1] = fx; STEP[2] = dx;
  STEP[3] = sty; STEP[4] = fy; STEP[5] = dy;
  STEP[6] = stpf; STEP[7] = brackt ? 1 : 0;
}

function normInf(v: Float64Array, n: number): number {
  let mx = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(v[i]!);
    if (a > mx) mx = a;
  }
  return mx;
}

function allFinite(v: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (!Number.isFinite(v[i]!)) return false;
  return true;
}

/** One-shot convenience wrapper around LbfgsSolver. */
export function lbfgs(fg: Objective, x0: ArrayLike<number>, opts: LbfgsOptions = {}): LbfgsResult {
  const solver = new LbfgsSolver(x0.length, opts);
  const status = solver.minimize(fg, x0);
  return {
    x: Float64Array.from(solver.x),
    f: solver.f,
    status,
    converged: status === 'converged-gradient' || status === 'converged-reduction',
    iterations: solver.iterations,
    evaluations: solver.evaluations,
    message: STATUS_MESSAGES[status],
  };
}

export function isConverged(status: LbfgsStatus): boolean {
  return status === 'converged-gradient' || status === 'converged-reduction';
}
