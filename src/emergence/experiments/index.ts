/** Emergence experiments: each trains its models and returns a result plus figure tables (see docs/experiments.md). */
export * from './common.ts';
export * from './grokking.ts';
export * from './induction.ts';
export * from './mirage.ts';
export * from './cot.ts';
export * from './finetune.ts';
