/**
 * Reference causal grouped-query attention (training forward/backward and KV-cache decode).
 * Layouts (see Backend.attentionForward): qkv[B, T, (H + 2KV) * D], out[B, T, H * D],
 * att[B, H, T, T + e] with the optional k'/v' bias slot at column T. Query head h reads key/value head
 * floor(h / (H / KV)). Scores, softmax and weighted sums in float64.
 */
import type { Arr, AttnShape, KVBias, KVBiasGrad } from '../backend.ts';

export function attentionForward(out: Arr, att: Arr, qkv: Arr, kvBias: KVBias | null, s: AttnShape): void {
  const { B, T, H, KV, D } = s;
  const W = (H + 2 * KV) * D;
  const group = H / KV;
  const e = kvBias !== null ? 1 : 0;
  const L = T + e;
  const scale = 1 / Math.sqrt(D);
  const p = new Float64Array(L);
  const o = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      const qOff = h * D;
      const kOff = (H + kvh) * D;
      const vOff = (H + KV + kvh) * D;
      for (let t = 0; t < T; t++) {
        const q = (b * T + t) * W + qOff;
        // scores
        let max = -Infinity;
        for (let u = 0; u <= t; u++) {
          const k = (b * T + u) * W + kOff;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qkv[q + d] * qkv[k + d];
          p[u] = dot * scale;
          if (p[u] > max) max = p[u];
        }
        if (kvBias !== null) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qkv[q + d] * kvBias.k[h * D + d];
          p[T] = dot * scale;
          if (p[T] > max) max = p[T];
        }
        // softmax
        let sum = 0;
        for (let u = 0; u <= t; u++) {
          p[u] = Math.exp(p[u] - max);
          sum += p[u];
        }
        if (kvBias !== null) {
          p[T] = Math.exp(p[T] - max);
          sum += p[T];
        }
        const inv = 1 / sum;
        const row = ((b * H + h) * T + t) * L;
        for (let u = 0; u <= t; u++) {
          p[u] *= inv;
          att[row + u] = p[u];
        }
        for (let u = t + 1; u < T; u++) att[row + u] = 0;
        if (kvBias !== null) {
          p[T] *= inv;
          att[row + T] = p[T];
        }
        // weighted sum of values
        o.fill(0);
        for (let u = 0; u <= t; u++) {
          const v = (b * T + u) * W + vOff;
          const pu = p[u];
          for (let d = 0; d < D; d++) o[d] += pu * qkv[v + d];
        }
        if (kvBias !== null) {
          const pb = p[T];
          for (let d = 0; d < D; d++) o[d] += pb * kvBias.v[h * D + d];
        }
        const ob = (b * T + t) * H * D + h * D;
        for (let d = 0; d < D; d++) out[ob + d] = o[d];
      }
    }
  }
}

/**
 * With p = att row, dp_u = dout . v_u, ds_u = p_u (dp_u - sum_w p_w dp_w):
 * dq += scale * sum_u ds_u k_u; dk_u += scale * ds_u q; dv_u += p_u dout (and the same for the bias slot).
 */
export function attentionBackward(
  dqkv: Arr, dkvBias: KVBiasGrad | null, dout: Arr, qkv: Arr, att: Arr, kvBias: KVBias | null, s: AttnShape,
): void {
  const { B, T, H, KV, D } = s;
  const W = (H + 2 * KV) * D;
  const group = H / KV;
  const e = kvBias !== null ? 1 : 0;
  const L = T + e;
  const scale = 1 / Math.sqrt(D);
  const dp = new Float64Array(L);
  const dq = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      const qOff = h * D;
      const kOff = (H + kvh) * D;
      const vOff = (H + KV + kvh) * D;
      for (let t = 0; t < T; t++) {
        const q = (b * T + t) * W + qOff;
        const row = ((b * H + h) * T + t) * L;
        const go = (b * T + t) * H * D + h * D;
        // dp and dv
        let pdp = 0;
        for (let u = 0; u <= t; u++) {
          const v = (b * T + u) * W + vOff;
          const pu = att[row + u];
          let dot = 0;
          for (let d = 0; d < D; d++) {
            const g = dout[go + d];
            dot += g * qkv[v + d];
            dqkv[v + d] += pu * g;
          }
          dp[u] = dot;
          pdp += pu * dot;
        }
        if (kvBias !== null) {
          const pb = att[row + T];
          let dot = 0;
          for (let d = 0; d < D; d++) {
            const g = dout[go + d];
            dot += g * kvBias.v[h * D + d];
            if (dkvBias !== null) dkvBias.dv[h * D + d] += pb * g;
          }
          dp[T] = dot;
          pdp += pb * dot;
        }
        // softmax backward, then dq and dk
        dq.fill(0);
        for (let u = 0; u <= t; u++) {
          const ds = att[row + u] * (dp[u] - pdp) * scale;
          const k = (b * T + u) * W + kOff;
          for (let d = 0; d < D; d++) {
            dq[d] += ds * qkv[k + d];
            dqkv[k + d] += ds * qkv[q + d];
          }
        }
        if (kvBias !== null) {
          const ds = att[row + T] * (dp[T] - pdp) * scale;
          for (let d = 0; d < D; d++) {
            dq[d] += ds * kvBias.k[h * D + d];
            if (dkvBias !== null) dkvBias.dk[h * D + d] += ds * qkv[q + d];
          }
        }
        for (let d = 0; d < D; d++) dqkv[q + d] += dq[d];
      }
    }
  }
}

/**
 * KV-cache decode: writes the new keys/values of qkv[B, Tn, (H + 2KV) * D] into kCache/vCache[B, KV, Tmax, D]
 * at positions pos0 … pos0+Tn-1, then new query t (absolute position pos0 + t) attends to cache positions
 * 0 … pos0 + t and to the bias slot. att (optional) rows are pos0 + Tn + e long, bias at column pos0 + Tn.
 */
export function attentionDecode(
  out: Arr, att: Arr | null, qkv: Arr, kCache: Arr, vCache: Arr, kvBias: KVBias | null,
  s: AttnShape & { pos0: number; Tmax: number },
): void {
  const { B, H, KV, D, pos0, Tmax } = s;
  const Tn = s.T;
  const W = (H + 2 * KV) * D;
  const group = H / KV;
  const e = kvBias !== null ? 1 : 0;
  const Tk = pos0 + Tn; // keys visible after this call
  const L = Tk + e;
  const scale = 1 / Math.sqrt(D);
  // append to the cache
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Tn; t++) {
      const tok = (b * Tn + t) * W;
      for (let j = 0; j < KV; j++) {
        const c = ((b * KV + j) * Tmax + pos0 + t) * D;
        const k = tok + (H + j) * D;
        const v = tok + (H + KV + j) * D;
        for (let d = 0; d < D; d++) {
          kCache[c + d] = qkv[k + d];
          vCache[c + d] = qkv[v + d];
        }
      }
    }
  }
  const p = new Float64Array(L);
  const o = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      const cBase = (b * KV + kvh) * Tmax * D;
      for (let t = 0; t < Tn; t++) {
        const q = (b * Tn + t) * W + h * D;
        const last = pos0 + t;
        let max = -Infinity;
        for (let u = 0; u <= last; u++) {
          const k = cBase + u * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qkv[q + d] * kCache[k + d];
          p[u] = dot * scale;
          if (p[u] > max) max = p[u];
        }
        if (kvBias !== null) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qkv[q + d] * kvBias.k[h * D + d];
          p[Tk] = dot * scale;
          if (p[Tk] > max) max = p[Tk];
        }
        let sum = 0;
        for (let u = 0; u <= last; u++) {
          p[u] = Math.exp(p[u] - max);
          sum += p[u];
        }
        if (kvBias !== null) {
          p[Tk] = Math.exp(p[Tk] - max);
          sum += p[Tk];
        }
        const inv = 1 / sum;
        for (let u = 0; u <= last; u++) p[u] *= inv;
        if (kvBias !== null) p[Tk] *= inv;
        if (att !== null) {
          const row = ((b * H + h) * Tn + t) * L;
          for (let u = 0; u <= last; u++) att[row + u] = p[u];
          for (let u = last + 1; u < Tk; u++) att[row + u] = 0;
          if (kvBias !== null) att[row + Tk] = p[Tk];
        }
        o.fill(0);
        for (let u = 0; u <= last; u++) {
          const v = cBase + u * D;
          const pu = p[u];
          for (let d = 0; d < D; d++) o[d] += pu * vCache[v + d];
        }
        if (kvBias !== null) {
          const pb = p[Tk];
          for (let d = 0; d < D; d++) o[d] += pb * kvBias.v[h * D + d];
        }
        const ob = (b * Tn + t) * H * D + h * D;
        for (let d = 0; d < D; d++) out[ob + d] = o[d];
      }
    }
  }
}
