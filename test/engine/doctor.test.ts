/** `lmlab doctor`: what it reports about the backend, the addon and its science kernels, and a measured GEMM rate. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doctor } from '../../src/cli/engine.ts';
import { RefBackend } from '../../src/engine/ref/index.ts';
import { nativeAvailable, nativeChinchillaObjective, nativeSaisKernels } from '../../src/engine/native/index.ts';

test('doctor reports the backend, the native addon and its science kernels, and a positive GEMM rate', async () => {
  const r = await doctor(new RefBackend());
  assert.equal(r.backend, 'ref', 'backend name');
  assert.ok(typeof r.gemm_gflops === 'number' && r.gemm_gflops > 0, `gemm_gflops ${String(r.gemm_gflops)}`);
  assert.match(String(r.peak_gflops), /cores × \d+ MHz × \d+ FLOP\/cycle/, 'peak estimate states its inputs');
  const native = r.native as { available: boolean };
  assert.equal(native.available, nativeAvailable(), 'native.available agrees with nativeAvailable()');
  const sci = r.science_kernels as { chinchilla_objective: string; suffix_array: string };
  assert.equal(sci.chinchilla_objective.startsWith('native'), nativeChinchillaObjective() !== null, `chinchilla_objective: ${sci.chinchilla_objective}`);
  assert.equal(sci.suffix_array.startsWith('native'), nativeSaisKernels() !== null, `suffix_array: ${sci.suffix_array}`);
});
