/** Super-phenomena analyses: massive activations, interventions, attention sinks, StreamingLLM, super weights. */
export * from './common.ts';
export * from './activations.ts';
export * from './interventions.ts';
export * from './sinks.ts';
export * from './streaming.ts';
export * from './superweights.ts';
export * from './steps.ts';
export * from './tasks.ts';
