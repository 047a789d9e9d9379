/** Loss and perplexity of a model over a whole token sequence (non-overlapping windows, every token scored once). */
import type { GPT } from '../model/gpt.ts';

export interface EvalResult {
  tokens: number;
  /** mean cross-entropy, nats per token */
  loss: number;
  perplexity: number;
  /** bits per byte when the tokens are raw bytes (vocab 256), else null */
  bitsPerByte: number | null;
}

/**
 * Score tokens[1..] given their prefixes in windows of T tokens (each window starts fresh, so early tokens of
 * a window see little context: this is the standard non-overlapping evaluation). Batches of B windows.
 */
export function evaluateTokens(model: GPT, tokens: ArrayLike<number>, T: number, B = 8): EvalResult {
  const n = tokens.length - 1;
  if (n < 1) throw new RangeError('evaluateTokens: need at least 2 tokens');
  let sum = 0, count = 0;
  const windows: number[] = [];
  for (let s = 0; s < n; s += T) windows.push(s);
  for (let w = 0; w < windows.length; w += B) {
    const group = windows.slice(w, w + B), bs = group.length;
    const x = new Int32Array(bs * T), y = new Int32Array(bs * T).fill(-1);
    group.forEach((s, b) => {
      for (let t = 0; t < T && s + t < n; t++) {
        x[b * T + t] = tokens[s + t]!;
        y[b * T + t] = tokens[s + t + 1]!;
      }
    });
    const loss = model.forward(x, bs, T, y);
    let c = 0;
    for (let i = 0; i < y.length; i++) if (y[i]! >= 0) c++;
    sum += loss * c;
    count += c;
  }
  const loss = sum / count;
  return { tokens: count, loss, perplexity: Math.exp(loss), bitsPerByte: model.config.vocab === 256 ? loss / Math.LN2 : null };
}
