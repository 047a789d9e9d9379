/**
 * AdamW over the model's flat parameter buffer. The moments m, v share the parameter layout (llm.c), and
 * the update runs per parameter view so weight decay can differ between tensors.
 */
import type { Arr, Backend } from '../engine/backend.ts';
import type { ParamLayout, ParamSpec } from '../model/layout.ts';
import { view } from '../model/layout.ts';

/**
 * Which tensors get weight decay:
 * - 'matrices': every tensor with ≥ 2 dims, embeddings included (nanoGPT; the golden fixture);
 * - 'matrices-no-embeddings': ≥ 2 dims except token/position embeddings and a tied head;
 * - 'all' / 'none'.
 */
export type DecayPolicy = 'matrices' | 'matrices-no-embeddings' | 'all' | 'none';
export const DECAY_POLICIES: readonly DecayPolicy[] = ['matrices', 'matrices-no-embeddings', 'all', 'none'];

export function decays(spec: ParamSpec, policy: DecayPolicy): boolean {
  switch (policy) {
    case 'all': return true;
    case 'none': return false;
    case 'matrices': return spec.shape.length >= 2;
    case 'matrices-no-embeddings': return spec.shape.length >= 2 && spec.kind !== 'embedding' && spec.kind !== 'position';
  }
}

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decay: DecayPolicy;
}

export class AdamW {
  readonly m: Arr;
  readonly v: Arr;
  /** optimizer steps taken */
  step = 0;

  constructor(private readonly backend: Backend, private readonly layout: ParamLayout, readonly cfg: AdamWConfig) {
    this.m = backend.alloc(layout.total);
    this.v = backend.alloc(layout.total);
  }

  /** One update of params from grads (scaled by gradScale) at learning rate lr. */
  update(params: Arr, grads: Arr, lr: number, gradScale: number): void {
    this.step++;
    const be = this.backend, c = this.cfg;
    // contiguous runs of parameters with the same decay flag are updated in one call
    let start = 0, runDecay: boolean | null = null;
    const flush = (end: number): void => {
      if (runDecay === null || end <= start) return;
      be.adamw(params.subarray(start, end), grads.subarray(start, end), this.m.subarray(start, end), this.v.subarray(start, end),
        end - start, { lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: runDecay ? c.weightDecay : 0, step: this.step, gradScale });
    };
    for (const s of this.layout.specs) {
      const d = decays(s, c.decay);
      if (d !== runDecay) {
        flush(s.offset);
        start = s.offset;
        runDecay = d;
      }
    }
    flush(this.layout.total);
  }

  /** Named views of m or v (for checkpoints). */
  viewOf(buf: Arr, spec: ParamSpec): Arr {
    return view(buf, spec);
  }
}

/** Global L2 norm of the gradient buffer. */
export function globalNorm(backend: Backend, grads: Arr): number {
  return Math.sqrt(backend.sumSquares(grads, grads.length));
}
