/**
 * Reference GEMM and linear layer. Plain loops; every dot product is accumulated in a JS number (float64)
 * and rounded once when stored, so the float32 mode is as accurate as a float32 result can be.
 * Loop orders stream memory: rows of op(A) are gathered once, then i-k-j (B not transposed) or i-j-k
 * (B transposed, both operands contiguous along k).
 */
import type { Arr } from '../backend.ts';

/** C[M,N] = alpha * op(A) @ op(B) + beta * C (beta = 0: C is not read), per Backend.gemm. */
export function gemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  alpha: number, A: Arr, B: Arr, beta: number, C: Arr,
  batch: number, strideA: number, strideB: number, strideC: number,
): void {
  const arow = new Float64Array(K);
  const acc = new Float64Array(N);
  for (let p = 0; p < batch; p++) {
    const oA = p * strideA;
    const oB = p * strideB;
    const oC = p * strideC;
    for (let i = 0; i < M; i++) {
      // row i of op(A), contiguous
      if (transA) {
        for (let k = 0; k < K; k++) arow[k] = A[oA + k * M + i];
      } else {
        const ao = oA + i * K;
        for (let k = 0; k < K; k++) arow[k] = A[ao + k];
      }
      if (!transB) {
        acc.fill(0);
        for (let k = 0; k < K; k++) {
          const a = arow[k];
          const bo = oB + k * N;
          for (let j = 0; j < N; j++) acc[j] += a * B[bo + j];
        }
      } else {
        for (let j = 0; j < N; j++) {
          const bo = oB + j * K;
          let s = 0;
          for (let k = 0; k < K; k++) s += arow[k] * B[bo + k];
          acc[j] = s;
        }
      }
      const co = oC + i * N;
      if (beta === 0) {
        for (let j = 0; j < N; j++) C[co + j] = alpha * acc[j];
      } else {
        for (let j = 0; j < N; j++) C[co + j] = alpha * acc[j] + beta * C[co + j];
      }
    }
  }
}

/** out[N,OC] = inp[N,IC] @ w[OC,IC]^T + b[OC]. */
export function linearForward(out: Arr, inp: Arr, w: Arr, b: Arr | null, N: number, IC: number, OC: number): void {
  for (let n = 0; n < N; n++) {
    const io = n * IC;
    const oo = n * OC;
    for (let o = 0; o < OC; o++) {
      const wo = o * IC;
      let s = b !== null ? b[o] : 0;
      for (let i = 0; i < IC; i++) s += inp[io + i] * w[wo + i];
      out[oo + o] = s;
    }
  }
}

/** dinp += dout @ w; dw += dout^T @ inp; db += column sums of dout. */
export function linearBackward(
  dinp: Arr | null, dw: Arr, db: Arr | null, dout: Arr, inp: Arr, w: Arr, N: number, IC: number, OC: number,
): void {
  const acc = new Float64Array(IC);
  if (dinp !== null) {
    for (let n = 0; n < N; n++) {
      acc.fill(0);
      const doo = n * OC;
      for (let o = 0; o < OC; o++) {
        const d = dout[doo + o];
        const wo = o * IC;
        for (let i = 0; i < IC; i++) acc[i] += d * w[wo + i];
      }
      const io = n * IC;
      for (let i = 0; i < IC; i++) dinp[io + i] += acc[i];
    }
  }
  for (let o = 0; o < OC; o++) {
    acc.fill(0);
    let sb = 0;
    for (let n = 0; n < N; n++) {
      const d = dout[n * OC + o];
      sb += d;
      const io = n * IC;
      for (let i = 0; i < IC; i++) acc[i] += d * inp[io + i];
    }
    const wo = o * IC;
    for (let i = 0; i < IC; i++) dw[wo + i] += acc[i];
    if (db !== null) db[o] += sb;
  }
}
