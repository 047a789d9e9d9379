/**
 * The Backend contract: the layer-level kernels a decoder-only transformer needs, each a forward /
 * backward pair (tinygrad-style: a tiny contract, a reference backend as the oracle).
 *
 * Conventions every backend follows:
 * - Tensors are flat typed arrays, row-major, shapes given in the doc comment of each kernel.
 *   `Arr` is Float32Array on every backend; the reference backend also runs in float64 (`dtype: 'f64'`)
 *   for gradient checks, and then every float argument is a Float64Array.
 * - Token ids and targets are Int32Array. A target < 0 is ignored by the loss (contributes 0, no gradient).
 * - Linear weights are stored [out, in] (PyTorch `nn.Linear`), so y = x @ W^T + b.
 * - Every backward kernel ACCUMULATES (+=) into every gradient it writes (dinp, dweight, dbias ...).
 *   Callers zero gradient buffers when they need a fresh gradient.
 * - Forward kernels OVERWRITE their outputs.
 * - Output arrays never alias input arrays unless a kernel says it works in place.
 * - Kernels are synchronous. A backend may use several threads inside one call.
 */

/** A float buffer: Float32Array everywhere; Float64Array only on the reference backend in f64 mode. */
export type Arr = Float32Array | Float64Array;

/** GELU variants: exact erf GELU (PyTorch `F.gelu`) or the tanh approximation (HF `gelu_new`). */
export type GeluKind = 'erf' | 'tanh';

/** Learnable per-head key/value bias k′, v′ (Sun et al. 2024 §6): one extra key/value slot per head. */
export interface KVBias {
  /** [H, D] */
  k: Arr;
  /** [H, D] */
  v: Arr;
}

/** Gradients of a KVBias (accumulated). */
export interface KVBiasGrad {
  /** [H, D] */
  dk: Arr;
  /** [H, D] */
  dv: Arr;
}

/** Shape of a (grouped-query) causal attention call. */
export interface AttnShape {
  /** batch */
  B: number;
  /** sequence length of this call */
  T: number;
  /** query heads */
  H: number;
  /** key/value heads (H % KV === 0; KV === H is plain multi-head attention) */
  KV: number;
  /** head dimension */
  D: number;
}

/** Rotary embedding parameters (HF rotate_half convention: pairs (i, i + rot/2) in the first `rot` dims). */
export interface RotaryShape extends AttnShape {
  /** number of rotated dims per head (even, ≤ D); rot = D for Llama, D * rotary_pct for NeoX */
  rot: number;
  /** base θ (10000) */
  base: number;
  /** absolute position of the first token of this call (for a KV cache) */
  pos0: number;
}

/** AdamW hyper-parameters for one update of a contiguous parameter range. */
export interface AdamWArgs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** decoupled weight decay (applied as p -= lr * wd * p) */
  weightDecay: number;
  /** 1-based step count, for bias correction */
  step: number;
  /** multiply gradients by this before use (global-norm clipping, accumulation averaging) */
  gradScale: number;
}

export interface Backend {
  /** 'ref' (pure TypeScript) or 'native' (C addon). */
  readonly name: 'ref' | 'native';
  /** element type of every float buffer this backend takes */
  readonly dtype: 'f32' | 'f64';
  /** threads used inside a kernel call */
  readonly threads: number;

  /** A zeroed float buffer of n elements, of this backend's dtype. */
  alloc(n: number): Arr;

  // ---------------------------------------------------------------- GEMM
  /**
   * General matrix multiply: C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C.
   * A is stored [M,K] (or [K,M] when transA); B is stored [K,N] (or [N,K] when transB). Dense, row-major
   * (lda = K or M, ldb = N or K, ldc = N). With `batch` > 1, matrices follow each other at the given strides
   * (default: the dense sizes M*K, K*N, M*N; a stride of 0 reuses one matrix for every batch item).
   * beta = 0 means C is not read (BLAS convention: NaN/Inf already in C do not propagate).
   */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    alpha: number, A: Arr, B: Arr, beta: number, C: Arr,
    batch?: number, strideA?: number, strideB?: number, strideC?: number,
  ): void;

  // ---------------------------------------------------------------- linear layer
  /** out[N,OC] = inp[N,IC] @ w[OC,IC]^T + b[OC] (b may be null). */
  linearForward(out: Arr, inp: Arr, w: Arr, b: Arr | null, N: number, IC: number, OC: number): void;
  /**
   * dinp[N,IC] += dout @ w; dw[OC,IC] += dout^T @ inp; db[OC] += sum_n dout. Any of dinp, db may be null
   * (not needed); dw is always computed.
   */
  linearBackward(
    dinp: Arr | null, dw: Arr, db: Arr | null, dout: Arr, inp: Arr, w: Arr, N: number, IC: number, OC: number,
  ): void;

  // ---------------------------------------------------------------- embeddings
  /** out[B*T, C] = wte[ids] (+ wpe[t] when wpe is not null, t = position within the row of length T). */
  embedForward(out: Arr, ids: Int32Array, wte: Arr, wpe: Arr | null, BT: number, T: number, C: number): void;
  /** dwte[ids] += dout; dwpe[t] += dout (when dwpe is not null). */
  embedBackward(dwte: Arr, dwpe: Arr | null, dout: Arr, ids: Int32Array, BT: number, T: number, C: number): void;

  // ---------------------------------------------------------------- normalisation
  /** LayerNorm over the last dim: out[N,C] = (x - mean) * rstd * w + b; saves mean[N], rstd[N]. b may be null. */
  layernormForward(out: Arr, mean: Arr, rstd: Arr, inp: Arr, w: Arr, b: Arr | null, N: number, C: number, eps: number): void;
  /** Backward of layernormForward: dinp, dw, db (db may be null) accumulate. */
  layernormBackward(
    dinp: Arr, dw: Arr, db: Arr | null, dout: Arr, inp: Arr, w: Arr, mean: Arr, rstd: Arr, N: number, C: number,
  ): void;
  /** RMSNorm: out[N,C] = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps); saves rstd[N]. */
  rmsnormForward(out: Arr, rstd: Arr, inp: Arr, w: Arr, N: number, C: number, eps: number): void;
  /** Backward of rmsnormForward: dinp, dw accumulate. */
  rmsnormBackward(dinp: Arr, dw: Arr, dout: Arr, inp: Arr, w: Arr, rstd: Arr, N: number, C: number): void;

  // ---------------------------------------------------------------- activations
  /** out[n] = gelu(inp[n]) (erf or tanh form). */
  geluForward(out: Arr, inp: Arr, n: number, kind: GeluKind): void;
  /** dinp += gelu'(inp) * dout. */
  geluBackward(dinp: Arr, inp: Arr, dout: Arr, n: number, kind: GeluKind): void;
  /** SwiGLU: out[n] = silu(gate[n]) * up[n]. */
  swigluForward(out: Arr, gate: Arr, up: Arr, n: number): void;
  /** dgate += dout * up * silu'(gate); dup += dout * silu(gate). */
  swigluBackward(dgate: Arr, dup: Arr, dout: Arr, gate: Arr, up: Arr, n: number): void;

  // ---------------------------------------------------------------- rotary position embedding
  /**
   * Rotates, IN PLACE, the query heads and the key heads of qkv[B, T, (H + 2*KV) * D] (layout per token:
   * H query heads, then KV key heads, then KV value heads, each D wide). Position of token t is pos0 + t.
   */
  rotaryForward(qkv: Arr, s: RotaryShape): void;
  /** Backward of rotaryForward, IN PLACE on dqkv (the inverse rotation of dq and dk). */
  rotaryBackward(dqkv: Arr, s: RotaryShape): void;

  // ---------------------------------------------------------------- attention
  /**
   * Causal scaled-dot-product attention with grouped-query heads.
   * qkv[B, T, (H + 2*KV) * D] (q heads, k heads, v heads), out[B, T, H * D],
   * att[B, H, T, T + e] (softmax probabilities saved for backward; e = 1 when kvBias is given, the bias slot
   * at column T, visible to every query; masked entries are 0). Query head h reads key/value head
   * h / (H / KV). Scale 1/sqrt(D).
   */
  attentionForward(out: Arr, att: Arr, qkv: Arr, kvBias: KVBias | null, s: AttnShape): void;
  /** Backward of attentionForward: dqkv (and dkvBias when given) accumulate. */
  attentionBackward(
    dqkv: Arr, dkvBias: KVBiasGrad | null, dout: Arr, qkv: Arr, att: Arr, kvBias: KVBias | null, s: AttnShape,
  ): void;
  /**
   * Inference with a KV cache (forward only; s.T is Tn). qkv[B, Tn, (H + 2*KV) * D] holds the new tokens (already
   * rotated); their keys/values are written to kCache/vCache[B, KV, Tmax, D] at positions pos0 … pos0+Tn-1,
   * then each new query attends to cache positions 0 … its own position (and to the bias slot).
   * out[B, Tn, H * D]; att, when not null, receives probabilities [B, H, Tn, pos0 + Tn + e].
   */
  attentionDecode(
    out: Arr, att: Arr | null, qkv: Arr, kCache: Arr, vCache: Arr, kvBias: KVBias | null,
    s: AttnShape & { pos0: number; Tmax: number },
  ): void;

  // ---------------------------------------------------------------- loss
  /**
   * Softmax cross-entropy per row: losses[n] = logsumexp(logits[n]) - logits[n, targets[n]] (0 when target < 0).
   * logits[N, V].
   */
  crossEntropyForward(losses: Arr, logits: Arr, targets: Int32Array, N: number, V: number): void;
  /** dlogits[n] += dloss[n] * (softmax(logits[n]) - onehot(targets[n])); rows with target < 0 get nothing. */
  crossEntropyBackward(dlogits: Arr, logits: Arr, targets: Int32Array, dloss: Arr, N: number, V: number): void;
  /** out[N, V] = log_softmax(logits[N, V]) (out may equal logits: in place allowed). */
  logSoftmax(out: Arr, logits: Arr, N: number, V: number): void;

  // ---------------------------------------------------------------- elementwise and reductions
  /** out = a + b (residual add; out may equal a or b). */
  add(out: Arr, a: Arr, b: Arr, n: number): void;
  /** dst += src. */
  accumulate(dst: Arr, src: Arr, n: number): void;
  /** Sum of squares of x[0..n), computed in float64. */
  sumSquares(x: Arr, n: number): number;
  /** True when every element of x[0..n) is finite. */
  allFinite(x: Arr, n: number): boolean;

  // ---------------------------------------------------------------- optimizer
  /**
   * AdamW (decoupled weight decay, PyTorch semantics) on one contiguous range, in place:
   * g' = g * gradScale; m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2;
   * p -= lr * wd * p; p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
   */
  adamw(p: Arr, g: Arr, m: Arr, v: Arr, n: number, a: AdamWArgs): void;
}

/** Thrown when a backend cannot be created or a kernel is called with inconsistent arguments. */
export class BackendError extends Error {
  override name = 'BackendError';
}
