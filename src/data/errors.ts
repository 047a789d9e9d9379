/** Typed errors of the data layer. Every message names the file / field / flag and what was expected. */

/** Base class: catch this to catch every data-layer error. */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tokenizer file (tokenizer.json, encoder.json, vocab.bpe) is malformed or unsupported. */
export class TokenizerFormatError extends DataError {
  constructor(readonly file: string, readonly field: string, detail: string) {
    super(`${file}: ${field ? `${field}: ` : ''}${detail}`);
  }
}

/** Encoding/decoding was asked something impossible (unknown id, byte not in vocabulary ...). */
export class TokenizerError extends DataError {}

/** A corpus specification is invalid. `field` is a dotted path inside the spec. */
export class SpecError extends DataError {
  constructor(readonly file: string, readonly field: string, detail: string) {
    super(`${file}: ${field ? `${field}: ` : ''}${detail}`);
  }
}

/** A source named in a spec (built-in package, file, folder, task plug-in) cannot be found. */
export class SourceNotFoundError extends DataError {
  constructor(readonly source: string, detail: string) {
    super(`source "${source}": ${detail}`);
  }
}

/** The tokenizer's ids do not fit the shard dtype. */
export class VocabTooLargeError extends DataError {
  constructor(readonly vocabSize: number, readonly dtype: string) {
    super(`vocabulary of ${vocabSize} tokens does not fit shard dtype ${dtype} ` +
      `(max ${dtype === 'uint16' ? 65536 : 4294967296} tokens); use dtype "uint32" or "auto"`);
  }
}

/** The corpus (or a split of it) has no documents or no bytes. */
export class EmptyCorpusError extends DataError {}

/** A shard directory is missing files or its files disagree with the manifest. */
export class ShardFormatError extends DataError {
  constructor(readonly path: string, detail: string) {
    super(`${path}: ${detail}`);
  }
}
