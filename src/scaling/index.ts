/** lmlab scaling-law analysis: accounting, published laws, fits (approaches 1-3, Kaplan forms, power laws). */
export * from './errors.ts';
export * from './accounting.ts';
export * from './laws.ts';
export * from './data.ts';
export * from './chinchilla.ts';
export * from './approaches.ts';
export * from './powerlaw.ts';
export * from './fit.ts';
export { LbfgsSolver, lbfgs, isConverged, type LbfgsOptions, type LbfgsResult, type LbfgsStatus, type Objective } from './lbfgs.ts';
export { Rng } from './rng.ts';
export type { Interval } from './stats.ts';
export { createPool, defaultThreads, type Pool } from './parallel.ts';
