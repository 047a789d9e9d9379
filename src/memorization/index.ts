/** lmlab memorization analyses: suffix-array verification, memorization/extraction metrics, Good-Turing, exposure. */
export * from './sais.ts';
export * from './sais-native.ts';
export * from './corpus.ts';
export * from './index-file.ts';
export * from './token-file.ts';
export * from './metrics.ts';
export * from './good-turing.ts';
export * from './exposure.ts';
export { logNormCdf, normCdf, logGamma } from './stats.ts';
export * from './discoverable.ts';
export * from './extract.ts';
export * from './canaries.ts';
