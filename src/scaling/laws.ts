/**
 * Published scaling laws as named presets, with the predictions they support:
 * L(N), L(D), L(N, D), L(C), Kaplan's critical batch size, the compute-optimal N*, D*, tokens per
 * parameter for a budget, and the budget that reaches a target loss.
 *
 * Conventions (see docs/scaling.md): N = non-embedding parameters, D = training tokens, C = training
 * FLOPs with C = 6ND. Kaplan's compute constants are in PF-days (1 PF-day = 8.64e19 FLOP); lmlab's API
 * takes and returns FLOPs and converts. Losses are in nats per token.
 */
import { LawError } from './errors.ts';

export const PF_DAY = 8.64e19;

export interface KaplanConstants {
  /** L(N) = (N_c / N)^α_N (infinite data) */
  Nc: number;
  alphaN: number;
  /** L(D) = (D_c / D)^α_D (infinite model) */
  Dc: number;
  alphaD: number;
}

/** Kaplan 2020 compute-frontier results shared by both constant sets. */
export interface KaplanCompute {
  /** L(C_min) = (C_c / C_min)^α_C with C in PF-days (eq. 1.3): C_c = 3.1e8, α_C = 0.050. */
  CcPfDays: number;
  alphaC: number;
  /** B_crit(L) = B* / L^(1/α_B) tokens (eq. 1.4): B* = 2e8, α_B = 0.21. */
  Bstar: number;
  alphaB: number;
  /** N_opt(C_min) = coef · (C_min / PF-day)^exp (eq. 1.7 / §6.1): 1.3e9, 0.73. */
  NoptCoef: number;
  NoptExp: number;
}

export interface KaplanLaw {
  kind: 'kaplan';
  name: string;
  title: string;
  source: string;
  /** 'separate': the one-variable fits of L(N) and L(D) (Kaplan eqs. 1.1, 1.2); 'joint': Table 2 / eq. 1.5. */
  set: 'separate' | 'joint';
  constants: KaplanConstants;
  compute: KaplanCompute;
}

export interface ChinchillaLaw {
  kind: 'chinchilla';
  name: string;
  title: string;
  source: string;
  A: number;
  B: number;
  E: number;
  alpha: number;
  beta: number;
}

export type Law = KaplanLaw | ChinchillaLaw;

const KAPLAN_COMPUTE: KaplanCompute = { CcPfDays: 3.1e8, alphaC: 0.05, Bstar: 2e8, alphaB: 0.21, NoptCoef: 1.3e9, NoptExp: 0.73 };

export const PRESETS: Record<string, Law> = {
  kaplan2020: {
    kind: 'kaplan',
    name: 'kaplan2020',
    title: 'Kaplan et al. 2020, separate fits L(N), L(D) (eqs. 1.1-1.2)',
    source: 'Kaplan et al., "Scaling Laws for Neural Language Models", arXiv:2001.08361, §1.2 eqs. 1.1-1.4, 1.7',
    set: 'separate',
    constants: { Nc: 8.8e13, alphaN: 0.076, Dc: 5.4e13, alphaD: 0.095 },
    compute: KAPLAN_COMPUTE,
  },
  'kaplan2020-joint': {
    kind: 'kaplan',
    name: 'kaplan2020-joint',
    title: 'Kaplan et al. 2020, joint fit L(N, D) (eq. 1.5, Table 2)',
    source: 'Kaplan et al., arXiv:2001.08361, eq. 1.5 / 4.1 with the Table 2 constants N_c = 6.4e13, D_c = 1.8e13, α_N = 0.076, α_D = 0.103',
    set: 'joint',
    constants: { Nc: 6.4e13, alphaN: 0.076, Dc: 1.8e13, alphaD: 0.103 },
    compute: KAPLAN_COMPUTE,
  },
  hoffmann2022: {
    kind: 'chinchilla',
    name: 'hoffmann2022',
    title: 'Hoffmann et al. 2022 (Chinchilla) approach 3, rounded constants of the paper body',
    source: 'Hoffmann et al., "Training Compute-Optimal Large Language Models", arXiv:2203.15556, eq. 10 (§3.3)',
    A: 406.4,
    B: 410.7,
    E: 1.69,
    alpha: 0.34,
    beta: 0.28,
  },
  'hoffmann2022-unrounded': {
    kind: 'chinchilla',
    name: 'hoffmann2022-unrounded',
    title: 'Hoffmann et al. 2022 approach 3 with the unrounded exponents of the arXiv TeX source',
    source: 'α = 0.3392, β = 0.2849 from the TeX source of arXiv:2203.15556, as reported by Besiroglu et al. 2024 (arXiv:2404.10102 v2); A, B, E as published',
    A: 406.4,
    B: 410.7,
    E: 1.69,
    alpha: 0.3392,
    beta: 0.2849,
  },
  besiroglu2024: {
    kind: 'chinchilla',
    name: 'besiroglu2024',
    title: 'Besiroglu et al. 2024 (Epoch AI) replication of approach 3, published estimates',
    source: 'Besiroglu, Erdil, Barnett, You, "Chinchilla Scaling: A replication attempt", arXiv:2404.10102, eq. 4 (Huber-likelihood fit)',
    A: 482.01,
    B: 2085.43,
    E: 1.8172,
    alpha: 0.3478,
    beta: 0.3658,
  },
  'besiroglu2024-lbfgs': {
    kind: 'chinchilla',
    name: 'besiroglu2024-lbfgs',
    title: 'Epoch AI summed-Huber L-BFGS fit on the 240 reconstructed points (what `lmlab fit --form chinchilla` reproduces)',
    source: 'epoch-research/analyzing-chinchilla data_analysis.ipynb (L-BFGS-B from the 4500-point grid, summed Huber δ = 1e-3); objective 1.0183e-3',
    A: 477.8,
    B: 2143,
    E: 1.8172,
    alpha: 0.3473,
    beta: 0.3672,
  },
};

export function listPresets(): Law[] {
  return Object.values(PRESETS);
}

export function getPreset(name: string): Law {
  const law = PRESETS[name];
  if (!law) throw new LawError(`unknown --law '${name}'; presets: ${Object.keys(PRESETS).join(', ')}`);
  return law;
}

function positive(name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new LawError(`${name} must be a finite number > 0, got ${v}`);
}

/** L(N): model-size-limited loss (Kaplan: infinite data; Chinchilla: the D → ∞ limit E + A/N^α). */
export function lossN(law: Law, N: number): number {
  positive('N', N);
  if (law.kind === 'kaplan') return (law.constants.Nc / N) ** law.constants.alphaN;
  return law.E + law.A / N ** law.alpha;
}

/** L(D): data-limited loss (Kaplan: infinite model; Chinchilla: the N → ∞ limit E + B/D^β). */
export function lossD(law: Law, D: number): number {
  positive('D', D);
  if (law.kind === 'kaplan') return (law.constants.Dc / D) ** law.constants.alphaD;
  return law.E + law.B / D ** law.beta;
}

/** L(N, D). Kaplan: [(N_c/N)^(α_N/α_D) + D_c/D]^α_D, only with the joint constant set. */
export function lossND(law: Law, N: number, D: number): number {
  positive('N', N);
  positive('D', D);
  if (law.kind === 'kaplan') {
    if (law.set !== 'joint') {
      throw new LawError(`${law.name} holds Kaplan's separate one-variable fits; L(N, D) uses a different constant set: use --law kaplan2020-joint`);
    }
    const c = law.constants;
    return ((c.Nc / N) ** (c.alphaN / c.alphaD) + c.Dc / D) ** c.alphaD;
  }
  return law.E + law.A / N ** law.alpha + law.B / D ** law.beta;
}

export interface Allocation {
  /** Training compute in FLOPs. */
  C: number;
  N: number;
  D: number;
  tokensPerParam: number;
  /** Predicted loss at (N, D); for Kaplan L(C_min). */
  loss: number;
  /** Exponents: N* ∝ C^a, D* ∝ C^b. */
  a: number;
  b: number;
  notes: string[];
}

/**
 * Compute-optimal allocation for C training FLOPs.
 * Chinchilla form with C = 6ND: N* = G (C/6)^a, D* = (C/6)^b / G, G = (αA/(βB))^(1/(α+β)),
 * a = β/(α+β), b = α/(α+β); loss L(N*, D*).
 * Kaplan: N_opt = 1.3e9 · (C/PF-day)^0.73, D = C/(6 N_opt), loss L(C_min) (eq. 1.3).
 */
export function optimal(law: Law, C: number): Allocation {
  positive('C', C);
  if (law.kind === 'kaplan') {
    const k = law.compute;
    const N = k.NoptCoef * (C / PF_DAY) ** k.NoptExp;
    const D = C / (6 * N);
    return {
      C,
      N,
      D,
      tokensPerParam: D / N,
      loss: lossC(law, C),
      a: k.NoptExp,
      b: 1 - k.NoptExp,
      notes: [
        'Kaplan N_opt = 1.3e9·(C/PF-day)^0.73 (C_min, eq. 1.7); D = C/(6N) under C = 6ND',
        'loss is L(C_min) = (3.1e8 PF-day / C)^0.050 (eq. 1.3)',
      ],
    };
  }
  const s = law.alpha + law.beta;
  const a = law.beta / s;
  const b = law.alpha / s;
  const G = ((law.alpha * law.A) / (law.beta * law.B)) ** (1 / s);
  const N = G * (C / 6) ** a;
  const D = (C / 6) ** b / G;
  return { C, N, D, tokensPerParam: D / N, loss: lossND(law, N, D), a, b, notes: ['C = 6ND; N* = G(C/6)^a, D* = (C/6)^b/G'] };
}

/**
 * L(C): the compute-efficient loss. Kaplan: L(C_min) = (C_c/C)^α_C with C in PF-days.
 * Chinchilla: L(N*(C), D*(C)) = E + K·(C/6)^(−αβ/(α+β)), K = A·G^(−α) + B·G^β.
 */
export function lossC(law: Law, C: number): number {
  positive('C', C);
  if (law.kind === 'kaplan') return (law.compute.CcPfDays / (C / PF_DAY)) ** law.compute.alphaC;
  return optimal(law, C).loss;
}

/** The training budget (FLOPs) whose compute-optimal loss equals `target`. */
export function budgetForLoss(law: Law, target: number): Allocation {
  positive('target loss', target);
  if (law.kind === 'kaplan') {
    const C = law.compute.CcPfDays * target ** (-1 / law.compute.alphaC) * PF_DAY;
    return optimal(law, C);
  }
  if (!(target > law.E)) throw new LawError(`target loss ${target} is not above the irreducible loss E = ${law.E} of ${law.name}; no finite budget reaches it`);
  const s = law.alpha + law.beta;
  const G = ((law.alpha * law.A) / (law.beta * law.B)) ** (1 / s);
  const gamma = (law.alpha * law.beta) / s;
  const K = law.A * G ** -law.alpha + law.B * G ** law.beta;
  const C = 6 * ((target - law.E) / K) ** (-1 / gamma);
  return optimal(law, C);
}

/** Kaplan's critical batch size in tokens at loss L: B_crit = B* / L^(1/α_B). */
export function criticalBatch(law: Law, L: number): number {
  positive('loss', L);
  if (law.kind !== 'kaplan') throw new LawError(`critical batch size is a Kaplan 2020 result (eq. 1.4); --law ${law.name} has none: use kaplan2020`);
  return law.compute.Bstar / L ** (1 / law.compute.alphaB);
}

export interface Prediction {
  law: string;
  quantity: string;
  value: number;
  inputs: Record<string, number>;
}

/**
 * Predict everything the given inputs allow: L(N) / L(D) / L(N, D) / L(C) / B_crit(L).
 * Queries the preset cannot answer are reported in `unsupported` rather than thrown.
 */
export function predict(law: Law, q: { N?: number; D?: number; C?: number; loss?: number }): { predictions: Prediction[]; unsupported: string[] } {
  const out: Prediction[] = [];
  const unsupported: string[] = [];
  const tryAdd = (quantity: string, inputs: Record<string, number>, f: () => number): void => {
    try {
      out.push({ law: law.name, quantity, value: f(), inputs });
    } catch (e) {
      if (e instanceof LawError) unsupported.push(`${quantity}: ${e.message}`);
      else throw e;
    }
  };
  if (q.N !== undefined && q.D !== undefined) tryAdd('L(N,D)', { N: q.N, D: q.D }, () => lossND(law, q.N!, q.D!));
  if (q.N !== undefined) tryAdd('L(N)', { N: q.N }, () => lossN(law, q.N!));
  if (q.D !== undefined) tryAdd('L(D)', { D: q.D }, () => lossD(law, q.D!));
  if (q.C !== undefined) tryAdd('L(C)', { C: q.C }, () => lossC(law, q.C!));
  if (q.loss !== undefined) tryAdd('B_crit(L)', { L: q.loss }, () => criticalBatch(law, q.loss!));
  if (out.length === 0 && unsupported.length === 0) throw new LawError('nothing to predict: give --N, --D, --C and/or --loss');
  return { predictions: out, unsupported };
}
