/**
 * A small SentencePiece-style (Llama / Mistral) tokenizer.json written by hand: BPE with byte fallback,
 * `<unk>`/`<s>`/`</s>`, a few byte tokens, 15 merges, and a `<s>` template post-processor. 72 ids, the
 * vocabulary size of ../shared/fixtures/llama-tiny. Two layouts of the same vocabulary:
 *  - 'legacy': normalizer Prepend("▁") + Replace(" " → "▁"), no pre-tokenizer (Llama 2's tokenizer.json);
 *  - 'metaspace': no normalizer, Metaspace pre-tokenizer with prepend_scheme "first" (transformers' legacy=false).
 */
export const SP = '\u2581';

/** Ordinary pieces in id order (after <unk> <s> </s>). */
const BYTES = ['<0x0A>', '<0xC3>', '<0xA9>'];
const CHARS = [SP, 'a', 'c', 'd', 'e', 'h', 'l', 'o', 'r', 's', 't', 'w'];
/** Merges in rank order; each merge's result is a vocabulary piece, in this order. */
export const MERGES: [string, string][] = [
  ['h', 'e'], ['l', 'l'], ['he', 'll'], ['hell', 'o'], [SP, 'hello'],
  ['o', 'r'], ['w', 'or'], ['l', 'd'], ['wor', 'ld'], [SP, 'world'],
  [SP, 't'], [SP + 't', 'he'], ['a', 't'], [SP, 'c'], [SP + 'c', 'at'],
];
const FILL_BYTES = [...Array.from({ length: 26 }, (_, i) => 0x41 + i), ...Array.from({ length: 10 }, (_, i) => 0x30 + i)]
  .map((b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
const FILL_CHARS = ['b', 'f', 'g'];

export const PIECES: string[] = ['<unk>', '<s>', '</s>', ...BYTES, ...CHARS, ...MERGES.map(([a, b]) => a + b), ...FILL_BYTES, ...FILL_CHARS];
export const ID: Record<string, number> = Object.fromEntries(PIECES.map((p, i) => [p, i]));

export function spTokenizerJson(layout: 'legacy' | 'metaspace' = 'legacy'): Record<string, unknown> {
  const vocab = Object.fromEntries(PIECES.map((p, i) => [p, i]));
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: layout === 'legacy'
      ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: SP }, { type: 'Replace', pattern: { String: ' ' }, content: SP }] }
      : null,
    pre_tokenizer: layout === 'legacy' ? null : { type: 'Metaspace', replacement: SP, prepend_scheme: 'first', split: false },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SP }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: MERGES.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** tokenizer_config.json as transformers writes it for Llama (the parts that matter here). */
export const SP_TOKENIZER_CONFIG = {
  add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>',
  clean_up_tokenization_spaces: false, legacy: true, model_max_length: 32, tokenizer_class: 'LlamaTokenizer',
};
