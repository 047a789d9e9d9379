#!/usr/bin/env node
// lmlab command-line entry: runs the TypeScript CLI through tsx's ESM loader (no build step).
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
