/** lmlab emergence analysis: tasks, metrics, evaluation driver, scaling-curve analysis, theory, token datasets. */
export * from './rng.ts';
export * from './tasks/index.ts';
export * from './metrics.ts';
export * from './evaluate.ts';
export * from './curve.ts';
export * from './theory.ts';
export * from './grokking.ts';
