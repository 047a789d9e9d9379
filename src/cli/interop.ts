/** Hugging Face interop commands: lmlab export (run → HF GPT-2 directory), lmlab inspect (dir or file). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { openSafetensors, openSafetensorsDir } from '../io/safetensors.ts';
import { exportHFGpt2 } from '../model/convert/export.ts';
import { hfConfig } from '../model/convert/hf.ts';
import { countParams } from '../model/layout.ts';
import { resolveConfig } from '../model/config.ts';
import { loadRun, isHfModelDir } from '../train/runs.ts';
import { openHfTokenizer } from '../data/hfcodec.ts';
import { ModelError } from '../model/gpt.ts';
import { action, pickBackend } from './util.ts';

export function register(program: Command): void {
  program
    .command('export')
    .description('write a trained run as a Hugging Face GPT-2 directory (config.json, model.safetensors, tokenizer.json)')
    .requiredOption('--run <dir>', 'run directory (latest checkpoint) or checkpoint directory')
    .option('--format <fmt>', 'output format (hf)', 'hf')
    .requiredOption('--out <dir>', 'output directory')
    .action(action(async (o: { run: string; format: string; out: string }) => {
      if (o.format !== 'hf') throw new ModelError(`--format: '${o.format}' is not supported (hf)`);
      if (existsSync(o.run) && statSync(o.run).isDirectory() && isHfModelDir(o.run)) {
        throw new ModelError(`--run: '${o.run}' is a Hugging Face model directory (config.json has model_type), not an lmlab run; export writes lmlab runs in HF format, an HF directory is already one (use it directly with --model)`);
      }
      const { model, cfg } = loadRun(await pickBackend('ref'), o.run);
      const tok = existsSync(cfg.data) && statSync(cfg.data).isDirectory() ? join(cfg.data, 'tokenizer.json') : undefined;
      const files = exportHFGpt2(model, o.out, tok && existsSync(tok) ? tok : undefined);
      process.stdout.write(files.join('\n') + '\n');
      if (!tok) process.stderr.write('note: the run was trained on raw bytes (vocab 256); no tokenizer.json was written\n');
    }));

  program
    .command('inspect <path>')
    .description('describe a model directory (HF or lmlab checkpoint) or a .safetensors file: architecture, parameter counts, dtypes, size, tokenizer')
    .option('--json', 'print JSON')
    .action(action((path: string, o: { json?: boolean }) => {
      if (!existsSync(path)) throw new ModelError(`${path}: no such file or directory`);
      const isDir = statSync(path).isDirectory();
      const f = isDir ? openSafetensorsDir(path) : openSafetensors(path);
      try {
        const dtypes: Record<string, number> = {};
        let bytes = 0, numel = 0;
        for (const t of f.tensors.values()) {
          dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + t.numel;
          bytes += t.byteLength;
          numel += t.numel;
        }
        const out: Record<string, unknown> = { path, tensors: f.tensors.size, elements: numel, bytes, dtypes };
        const cfgPath = isDir ? join(path, 'config.json') : null;
        if (cfgPath && existsSync(cfgPath)) {
          const { arch, config } = hfConfig(JSON.parse(readFileSync(cfgPath, 'utf8')), cfgPath);
          out['architecture'] = arch;
          out['config'] = config;
          out['params'] = countParams(config);
        } else if (f.metadata['config']) {
          const config = resolveConfig(JSON.parse(f.metadata['config']), `${path} metadata`);
          out['architecture'] = 'lmlab';
          out['config'] = config;
          out['params'] = countParams(config);
        }
        const tok = isDir ? join(path, 'tokenizer.json') : null;
        if (tok && existsSync(tok)) {
          try {
            const c = openHfTokenizer(path);
            out['tokenizer'] = { file: tok, reader: c.engine, vocab: c.vocabSize, ...(c.fallbackReason ? { not_byte_level: c.fallbackReason } : {}) };
          } catch (e) {
            out['tokenizer'] = { file: tok, error: (e as Error).message };
          }
        } else {
          out['tokenizer'] = null;
        }
        if (o.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        else for (const [k, v] of Object.entries(out)) process.stdout.write(`${k.padEnd(13)} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`);
      } finally {
        f.close();
      }
    }));
}
