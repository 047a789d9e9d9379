/** What this CPU can do: core count, SIMD features, an estimate of peak fp32 FLOP/s (for MFU). */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

export interface CpuInfo {
  model: string;
  cores: number;
  mhz: number;
  features: string[];
  /** fp32 FLOPs per cycle per core from the widest FMA unit (AVX-512: 64, AVX2+FMA: 32, SSE: 8) */
  flopsPerCycle: number;
  /** estimated peak fp32 FLOP/s over `cores` (LMLAB_PEAK_GFLOPS overrides) */
  peakFlops: number;
  peakSource: 'estimate' | 'LMLAB_PEAK_GFLOPS';
}

let cached: CpuInfo | null = null;

export function cpuInfo(): CpuInfo {
  if (cached) return cached;
  let flags: string[] = [];
  let model = cpus()[0]?.model ?? 'unknown';
  let mhz = cpus()[0]?.speed ?? 0;
  try {
    const txt = readFileSync('/proc/cpuinfo', 'utf8');
    flags = (/^flags\s*:\s*(.*)$/m.exec(txt)?.[1] ?? '').split(/\s+/);
    model = /^model name\s*:\s*(.*)$/m.exec(txt)?.[1] ?? model;
    const m = /^cpu MHz\s*:\s*([\d.]+)$/m.exec(txt);
    if (m) mhz = Number(m[1]);
  } catch { /* not Linux */ }
  const features = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512_bf16', 'amx_tile'].filter((f) => flags.includes(f));
  const flopsPerCycle = features.includes('avx512f') ? 64 : features.includes('avx2') && features.includes('fma') ? 32 : features.includes('avx') ? 16 : 8;
  const cores = availableParallelism();
  const env = Number(process.env.LMLAB_PEAK_GFLOPS);
  const peakFromEnv = Number.isFinite(env) && env > 0;
  cached = {
    model, cores, mhz: mhz || 2000, features, flopsPerCycle,
    peakFlops: peakFromEnv ? env * 1e9 : cores * (mhz || 2000) * 1e6 * flopsPerCycle,
    peakSource: peakFromEnv ? 'LMLAB_PEAK_GFLOPS' : 'estimate',
  };
  return cached;
}
