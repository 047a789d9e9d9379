/** Quantization: round-to-nearest asymmetric (round half to even), model and activation quantization, evaluation. */
export * from './rtn.ts';
export * from './model.ts';
export * from './evaluate.ts';
