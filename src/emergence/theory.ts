/**
 * Theory of emergence, two models:
 *
 * 1. Schaeffer, Miranda & Koyejo 2023 ("Are emergent abilities a mirage?"): per-token cross-entropy
 *    falls smoothly with scale, L(N) = (N/c)^α with α < 0; per-token probability of the correct token
 *    p = exp(−L); a nonlinear metric (exact match of T tokens, p^T) looks "emergent" while a linear one
 *    (expected token edit distance T(1 − p)) changes smoothly.
 *
 * 2. Arora & Goyal 2023 ("A theory for emergence of complex skills"): random bipartite graph of skills
 *    and text pieces, k skills per piece, a fraction θ of pieces failed. At least (1 − α) of the skills
 *    have competence ≥ 1 − βθ whenever H(θ) − kθ·KL(βα ‖ α) < 0 (Bernoulli entropy and KL, natural log).
 *    The left side falls monotonically on α ∈ (0, 1/β) from H(θ) to H(θ) − kθ·ln β, so the smallest
 *    such α is the root α*, which exists iff kθ·ln β > H(θ).
 */

export class TheoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TheoryError';
  }
}

// --------------------------------------------------------------------------------------------------
// Mirage

/** Power-law per-token loss L(N) = (N/c)^α. */
export function powerLawLoss(N: number, c: number, alpha: number): number {
  if (!(N > 0)) throw new TheoryError(`powerLawLoss: N must be > 0, got ${N}`);
  if (!(c > 0)) throw new TheoryError(`powerLawLoss: c must be > 0, got ${c}`);
  return Math.pow(N / c, alpha);
}

export interface MiragePoint {
  N: number;
  /** Per-token cross-entropy L(N), nats. */
  loss: number;
  /** Per-token probability of the correct token, exp(−L). */
  p: number;
  /** Exact match of a T-token target: p^T. */
  exactMatch: number;
  /** Expected token edit distance (T independent per-token errors, substitutions only): T(1 − p). */
  expectedTED: number;
  /** Expected per-token accuracy p (linear metric). */
  tokenAccuracy: number;
}

export interface MirageParams {
  /** Target length in tokens. */
  T: number;
  /** Either a loss function of scale … */
  loss?: (N: number) => number;
  /** … or the power law L = (N/c)^alpha. */
  c?: number;
  alpha?: number;
}

/** The mirage model at each scale N. */
export function mirageCurve(Ns: readonly number[], params: MirageParams): MiragePoint[] {
  const { T } = params;
  if (!Number.isInteger(T) || T < 1) throw new TheoryError(`mirage: T (target length in tokens) must be a positive integer, got ${T}`);
  let lossFn = params.loss;
  if (!lossFn) {
    if (params.c === undefined || params.alpha === undefined) throw new TheoryError('mirage: give either loss(N) or both c and alpha');
    const { c, alpha } = params;
    lossFn = (N) => powerLawLoss(N, c, alpha);
  }
  return Ns.map((N) => {
    const loss = lossFn!(N);
    if (!(loss >= 0) || !Number.isFinite(loss)) throw new TheoryError(`mirage: loss at N=${N} must be finite and ≥ 0, got ${loss}`);
    const p = Math.exp(-loss);
    return { N, loss, p, exactMatch: Math.pow(p, T), expectedTED: T * (1 - p), tokenAccuracy: p };
  });
}

// --------------------------------------------------------------------------------------------------
// Arora–Goyal

/** Binary entropy H(p) in nats (H(0) = H(1) = 0). */
export function binaryEntropy(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new TheoryError(`binaryEntropy: p must be in [0, 1], got ${p}`);
  const t = (x: number): number => (x > 0 ? -x * Math.log(x) : 0);
  return t(p) + t(1 - p);
}

/** KL(Bern(p) ‖ Bern(q)) in nats, with 0·log 0 = 0. */
export function bernoulliKL(p: number, q: number): number {
  if (!(p >= 0 && p <= 1)) throw new TheoryError(`bernoulliKL: p must be in [0, 1], got ${p}`);
  if (!(q > 0 && q < 1)) throw new TheoryError(`bernoulliKL: q must be in (0, 1), got ${q}`);
  const a = p > 0 ? p * Math.log(p / q) : 0;
  const b = p < 1 ? (1 - p) * Math.log((1 - p) / (1 - q)) : 0;
  return a + b;
}

export interface SkillParams {
  /** θ: fraction of failed text pieces (∈ (0, 1)). */
  theta: number;
  /** k: skills per text piece. */
  k: number;
  /** β > 1: competence threshold is 1 − βθ. */
  beta: number;
}

/** g(α) = H(θ) − kθ·KL(βα ‖ α), α ∈ (0, 1/β]. */
export function aroraGoyalExcess(alpha: number, p: SkillParams): number {
  return binaryEntropy(p.theta) - p.k * p.theta * bernoulliKL(Math.min(1, p.beta * alpha), alpha);
}

export interface SkillSolution {
  theta: number;
  k: number;
  beta: number;
  /** kθ·ln β and H(θ): a root exists iff the first exceeds the second. */
  condition: { kThetaLnBeta: number; entropy: number };
  exists: boolean;
  /** Root α* of g on (0, 1/β), or null when none exists. */
  alphaStar: number | null;
  /** Guaranteed fraction of skills with competence ≥ 1 − βθ: 1 − α* (0 when no root: no guarantee). */
  fractionCompetent: number;
  /** The competence level 1 − βθ. */
  competence: number;
}

function validate(p: SkillParams): void {
  if (!(p.theta > 0 && p.theta < 1)) throw new TheoryError(`skills: theta must be in (0, 1), got ${p.theta}`);
  if (!(p.k > 0) || !Number.isFinite(p.k)) throw new TheoryError(`skills: k must be a positive number, got ${p.k}`);
  if (!(p.beta > 1) || !Number.isFinite(p.beta)) throw new TheoryError(`skills: beta must be > 1, got ${p.beta}`);
}

/**
 * Solve H(θ) − kθ·KL(βα ‖ α) = 0 for α ∈ (0, 1/β) by bisection (the left side is decreasing in α).
 * θ = 0.1, k = 20, β = 2 → α* = 0.270720 (DOMAIN.md).
 */
export function aroraGoyalSolve(p: SkillParams): SkillSolution {
  validate(p);
  const H = binaryEntropy(p.theta);
  const lhs = p.k * p.theta * Math.log(p.beta);
  const base = { theta: p.theta, k: p.k, beta: p.beta, condition: { kThetaLnBeta: lhs, entropy: H }, competence: 1 - p.beta * p.theta };
  if (!(lhs > H)) return { ...base, exists: false, alphaStar: null, fractionCompetent: 0 };
  let lo = 0, hi = 1 / p.beta; // g(lo+) = H > 0, g(hi) = H − kθ ln β < 0
  for (let it = 0; it < 200 && hi - lo > 1e-15; it++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (aroraGoyalExcess(mid, p) > 0) lo = mid;
    else hi = mid;
  }
  const a = (lo + hi) / 2;
  return { ...base, exists: true, alphaStar: a, fractionCompetent: 1 - a };
}

export interface CompetenceCurveOptions {
  k: number;
  /** Sizes of the skill tuples (k′ = 1 is single skills). */
  kPrimes: readonly number[];
  thetas: readonly number[];
  /** Fixed β (competence threshold 1 − β·k′θ varies with θ) … */
  beta?: number;
  /** … or a fixed competence level κ, with β = (1 − κ)/(k′θ) at each point. */
  competence?: number;
}

export interface CompetencePoint {
  theta: number;
  kPrime: number;
  /** θ′ = k′·θ, the failure rate used for k′-tuples. */
  thetaEffective: number;
  beta: number;
  competence: number;
  alphaStar: number | null;
  /** Guaranteed fraction of k′-tuples with competence ≥ `competence` (0 = no guarantee). */
  fraction: number;
  /** Why the point has no guarantee besides a missing root (e.g. k′θ ≥ 1 or β ≤ 1). */
  note?: string;
}

/**
 * Competence curves for k′-tuples of skills. lmlab applies the single-skill bound with θ replaced by
 * θ′ = k′θ: a text piece exercising a k′-tuple is failed at rate at most k′θ (union bound over the k′
 * pieces it is built from). This reproduces the paper's scaling statement — reducing θ to θ/k′ gives
 * k′-tuples the competence single skills had at θ; halving θ (≈ 10× scale under Chinchilla) moves the
 * 2k′-tuple curve to where the k′-tuple curve was — which is what the unit tests check.
 */
export function aroraGoyalCurves(o: CompetenceCurveOptions): CompetencePoint[] {
  if ((o.beta === undefined) === (o.competence === undefined)) throw new TheoryError('skills curves: give exactly one of beta or competence');
  const out: CompetencePoint[] = [];
  for (const kp of o.kPrimes) {
    if (!Number.isInteger(kp) || kp < 1) throw new TheoryError(`skills curves: k' must be a positive integer, got ${kp}`);
    for (const theta of o.thetas) {
      const te = kp * theta;
      const beta = o.beta ?? (1 - o.competence!) / te;
      const competence = o.competence ?? 1 - beta * te;
      const pt: CompetencePoint = { theta, kPrime: kp, thetaEffective: te, beta, competence, alphaStar: null, fraction: 0 };
      if (!(te > 0 && te < 1)) pt.note = `k'θ = ${+te.toPrecision(6)} is outside (0, 1)`;
      else if (!(beta > 1)) pt.note = `β = ${+beta.toPrecision(6)} ≤ 1: competence ${+competence.toPrecision(6)} is out of reach at this θ`;
      else {
        const s = aroraGoyalSolve({ theta: te, k: o.k, beta });
        pt.alphaStar = s.alphaStar;
        pt.fraction = s.fractionCompetent;
      }
      out.push(pt);
    }
  }
  return out;
}
