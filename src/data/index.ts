/** Public API of the data layer (tokenizer, corpora, shards). */
export { Rng, hashString32, type RngState } from './rng.ts';
export { Tokenizer, type TokenizerDef, type SpecialToken, type EncodeOptions, type DecodeOptions } from './tokenizer.ts';
export { trainBpe, trainBpeFromCounts, WordCounter, type TrainOptions, type TrainStats, type TrainProgress } from './train.ts';
export { tokenizerFromJSON, tokenizerToJSON, saveTokenizer, readTokenizerFile, loadTokenizer, gpt2Tokenizer, gpt2FromFiles } from './hf.ts';
export { GPT2_PATTERN, pretokenize, pretokenizeBytes, pretokenEnds, nextPretokenEnd } from './pretokenize.ts';
export { BYTE_TO_CHAR, GPT2_BYTE_ORDER, bytesToByteLevel, byteLevelToBytes } from './bytelevel.ts';
export { MarkovSource, type MarkovParams } from './synthetic.ts';
export { registerTask, unregisterTask, getTask, listTasks, type TaskPlugin, type TaskGenerator, type TaskDocument } from './tasks.ts';
export { loadSource, builtinDocuments, type Document, type LoadedSource } from './sources.ts';
export { parseSpec, readSpec, loadSpec, DEFAULT_SPEC_PATH, CorpusSpecSchema, type CorpusSpec, type ResolvedSpec, type SourceSpec } from './spec.ts';
export { buildCorpus, type BuildOptions, type BuildProgress } from './build.ts';
export { openShards, readManifest, Shards, type Batch, type ShardManifest, type ShardDtype, type Split, type PlantedCanary, type PlantedDuplicate } from './shards.ts';
export { dataStats, type DataStats, type SplitStats } from './stats.ts';
export { progressBar } from './progress.ts';
export * from './errors.ts';
