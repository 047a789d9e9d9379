/**
 * Safetensors loading speed and peak memory, side by side with fs.readFile on the same bytes.
 *
 *   npx tsx bench/safetensors-load.ts [--mb 576] [--reps 3] [--dir DIR] [--keep]
 *
 * Generates a llama-like checkpoint of ≥ 500 MB (F32, plus the same tensors as BF16), then runs every
 * mode in a fresh child process (so each peak-memory figure is that mode's own) `reps` times and reports
 * the median: seconds, MB/s of file bytes, ratio to readFileSync, peak RSS (getrusage maxRSS) above the
 * child's baseline, and the arrayBuffers high-water (sampled after every tensor and at the end).
 * The page cache is warm for every mode (one untimed read first); cold-cache I/O is the disk's, not ours.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSafetensors, parseSafetensors, writeSafetensors, type TensorToWrite } from '../src/io/safetensors.ts';

const MODES = {
  'fs.readFileSync': 'the whole F32 file into one Buffer (no parsing)',
  'fs.promises.readFile': 'the whole F32 file, async',
  'st.read (F32)': 'openSafetensors + read() every tensor into its own typed array (all kept)',
  'st.readF32Into (F32)': 'openSafetensors + readF32Into one flat Float32Array of all parameters',
  'readFileSync+parse+copy (F32)': 'naive: whole file in memory, then parseSafetensors + copy into the flat buffer',
  'fs.readFileSync (BF16)': 'the whole BF16 file into one Buffer',
  'st.readF32Into (BF16→F32)': 'BF16 file converted in 4 MiB chunks into the flat Float32Array',
} as const;
type Mode = keyof typeof MODES;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}

// ------------------------------------------------------------------ child: one measured run

interface ChildResult {
  mode: Mode;
  seconds: number;
  fileBytes: number;
  baselineRssMB: number;
  peakRssMB: number;
  arrayBuffersPeakMB: number;
  checksum: number;
}

async function child(mode: Mode, f32File: string, bf16File: string): Promise<ChildResult> {
  const MB = 1 << 20;
  let abPeak = 0;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.arrayBuffers > abPeak) abPeak = m.arrayBuffers;
  };
  const baseline = process.memoryUsage().rss;
  sample();
  const file = mode.includes('BF16') ? bf16File : f32File;
  let checksum = 0;
  // the same sample of every tensor in every mode: elements 0, 4099, 8198, ... of each tensor
  const sumTensor = (a: Float32Array) => {
    for (let i = 0; i < a.length; i += 4099) checksum += a[i]!;
  };
  const keep: unknown[] = [];
  const t0 = performance.now();
  switch (mode) {
    case 'fs.readFileSync':
    case 'fs.readFileSync (BF16)': {
      const b = readFileSync(file);
      keep.push(b);
      checksum = b[b.length - 1]!;
      break;
    }
    case 'fs.promises.readFile': {
      const b = await readFile(file);
      keep.push(b);
      checksum = b[b.length - 1]!;
      break;
    }
    case 'st.read (F32)': {
      const r = openSafetensors(file);
      for (const name of r.tensors.keys()) {
        const a = r.read(name) as Float32Array;
        keep.push(a);
        sample();
      }
      r.close();
      for (const a of keep) sumTensor(a as Float32Array);
      break;
    }
    case 'st.readF32Into (F32)':
    case 'st.readF32Into (BF16→F32)': {
      const r = openSafetensors(file);
      let total = 0;
      for (const t of r.tensors.values()) total += t.numel;
      const flat = new Float32Array(total);
      let off = 0;
      for (const t of r.tensors.values()) {
        r.readF32Into(t.name, flat.subarray(off, off + t.numel));
        off += t.numel;
        sample();
      }
      r.close();
      keep.push(flat);
      off = 0;
      for (const t of r.tensors.values()) (sumTensor(flat.subarray(off, off + t.numel)), (off += t.numel));
      break;
    }
    case 'readFileSync+parse+copy (F32)': {
      const b = readFileSync(file);
      sample();
      const r = parseSafetensors(b, file);
      let total = 0;
      for (const t of r.tensors.values()) total += t.numel;
      const flat = new Float32Array(total);
      let off = 0;
      for (const t of r.tensors.values()) {
        r.readF32Into(t.name, flat.subarray(off, off + t.numel));
        off += t.numel;
        sample();
      }
      keep.push(b, flat);
      off = 0;
      for (const t of r.tensors.values()) (sumTensor(flat.subarray(off, off + t.numel)), (off += t.numel));
      break;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  sample();
  return {
    mode, seconds, fileBytes: statSync(file).size,
    baselineRssMB: baseline / MB,
    peakRssMB: (process.resourceUsage().maxRSS * 1024) / MB,
    arrayBuffersPeakMB: abPeak / MB,
    checksum: keep.length ? checksum : NaN,
  };
}

// ------------------------------------------------------------------ parent: generate + run all modes

/** Llama-like layer tensors: d=2048, ff=5632, 32 heads; as many layers as needed to reach `mb`. */
function generate(f32File: string, bf16File: string, mb: number): void {
  const d = 2048, ff = 5632, vocab = 8192;
  const shapes: [string, number[]][] = [['model.embed_tokens.weight', [vocab, d]]];
  let bytes = vocab * d * 4;
  for (let l = 0; bytes < mb * 1e6; l++) {
    const p = `model.layers.${l}.`;
    const layer: [string, number[]][] = [
      [p + 'input_layernorm.weight', [d]], [p + 'post_attention_layernorm.weight', [d]],
      [p + 'self_attn.q_proj.weight', [d, d]], [p + 'self_attn.k_proj.weight', [d / 4, d]],
      [p + 'self_attn.v_proj.weight', [d / 4, d]], [p + 'self_attn.o_proj.weight', [d, d]],
      [p + 'mlp.gate_proj.weight', [ff, d]], [p + 'mlp.up_proj.weight', [ff, d]], [p + 'mlp.down_proj.weight', [d, ff]],
    ];
    for (const [n, s] of layer) {
      shapes.push([n, s]);
      bytes += s.reduce((a, b) => a * b, 1) * 4;
    }
  }
  shapes.push(['model.norm.weight', [d]]);
  let s = 1;
  const f32: Record<string, TensorToWrite> = {};
  const bf16: Record<string, TensorToWrite> = {};
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      a[i] = (s / 2 ** 32 - 0.5) * 0.04;
    }
    f32[name] = { dtype: 'F32', shape, data: a };
    bf16[name] = { dtype: 'BF16', shape, data: a };
  }
  writeSafetensors(f32File, f32, { format: 'pt' });
  writeSafetensors(bf16File, bf16, { format: 'pt' });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main() {
  const childMode = arg('child', '');
  if (childMode) {
    const r = await child(childMode as Mode, arg('f32', ''), arg('bf16', ''));
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const mb = Number(arg('mb', '576'));
  const reps = Number(arg('reps', '3'));
  const dir = arg('dir', join(tmpdir(), 'lmlab-bench-safetensors'));
  mkdirSync(dir, { recursive: true });
  const f32File = join(dir, `ckpt-${mb}mb-f32.safetensors`);
  const bf16File = join(dir, `ckpt-${mb}mb-bf16.safetensors`);
  if (!existsSync(f32File) || !existsSync(bf16File)) {
    const t = performance.now();
    generate(f32File, bf16File, mb);
    console.log(`generated ${f32File} and ${bf16File} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const sizeF32 = statSync(f32File).size;
  const r0 = openSafetensors(f32File);
  console.log(`checkpoint: ${r0.tensors.size} tensors, ${(sizeF32 / 1e6).toFixed(0)} MB F32 / ${(statSync(bf16File).size / 1e6).toFixed(0)} MB BF16; node ${process.version}; warm page cache; median of ${reps}`);
  r0.close();
  readFileSync(f32File);
  readFileSync(bf16File); // warm the page cache (untimed)

  const script = fileURLToPath(import.meta.url);
  const results = new Map<Mode, ChildResult[]>();
  for (let rep = 0; rep < reps; rep++) {
    for (const mode of Object.keys(MODES) as Mode[]) {
      const p = spawnSync(process.execPath, ['--import', 'tsx', script, '--child', mode, '--f32', f32File, '--bf16', bf16File], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (p.status !== 0) throw new Error(`child ${mode} failed: ${p.stderr}`);
      const res = JSON.parse(p.stdout.trim().split('\n').pop()!) as ChildResult;
      results.set(mode, [...(results.get(mode) ?? []), res]);
    }
  }
  const base = median(results.get('fs.readFileSync')!.map((r) => r.fileBytes / r.seconds));
  const baseBf = median(results.get('fs.readFileSync (BF16)')!.map((r) => r.fileBytes / r.seconds));
  const rows: string[][] = [['mode', 'seconds', 'MB/s', 'vs readFileSync', 'peak RSS − baseline (MB)', 'arrayBuffers peak (MB)']];
  const checks = new Map<number, Mode[]>();
  for (const [mode, rs] of results) {
    const rate = median(rs.map((r) => r.fileBytes / r.seconds));
    const ref = mode.includes('BF16') ? baseBf : base;
    rows.push([
      mode, median(rs.map((r) => r.seconds)).toFixed(3), (rate / 1e6).toFixed(0), (rate / ref).toFixed(2),
      median(rs.map((r) => r.peakRssMB - r.baselineRssMB)).toFixed(0), median(rs.map((r) => r.arrayBuffersPeakMB)).toFixed(0),
    ]);
    if (mode.startsWith('st.read') || mode.startsWith('readFileSync+')) {
      const c = rs[0]!.checksum;
      checks.set(c, [...(checks.get(c) ?? []), mode]);
    }
  }
  const w = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  for (const r of rows) console.log(r.map((c, j) => (j === 0 ? c.padEnd(w[j]!) : c.padStart(w[j]!))).join('  '));
  console.log(`(ratios: F32 modes vs fs.readFileSync of the F32 file, BF16 modes vs fs.readFileSync of the BF16 file; file size ${(sizeF32 / 2 ** 20).toFixed(0)} MiB)`);
  console.log('checksums of the decoded parameters (F32 modes must agree; BF16 differs by rounding):', JSON.stringify([...checks.entries()].map(([c, m]) => ({ checksum: c, modes: m }))));
  for (const [m, d] of Object.entries(MODES)) console.log(`  ${m}: ${d}`);
  if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
}

await main();
