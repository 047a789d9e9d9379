// Backend selection (src/engine/index.ts): kinds, LMLAB_BACKEND, native fallback and its one-line notice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendError, createBackend, parseBackendKind, RefBackend, type Backend } from '../../src/engine/index.ts';

const failing = async (): Promise<Backend> => {
  throw new Error('addon not built\nsecond line of detail');
};

/** Runs fn while capturing what is written to stderr. */
async function captureStderr<T>(fn: () => Promise<T>): Promise<{ value: T; text: string }> {
  const orig = process.stderr.write.bind(process.stderr);
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    return { value: await fn(), text };
  } finally {
    process.stderr.write = orig;
  }
}

test("'auto' falls back to ref when native fails, with one stderr line per process", async () => {
  const { value, text } = await captureStderr(async () => [await createBackend('auto', failing), await createBackend('auto', failing)]);
  for (const b of value) {
    assert.ok(b instanceof RefBackend, 'fallback is the reference backend');
    assert.equal(b.dtype, 'f32');
  }
  assert.equal(text, 'lmlab: native backend unavailable (addon not built); using the reference backend\n');
});

test("'native' throws a BackendError with the reason when native fails", async () => {
  await assert.rejects(createBackend('native', failing), (e: unknown) =>
    e instanceof BackendError && /native backend unavailable \(addon not built\)/.test(e.message));
});

test("'native' and 'auto' return the native backend when it loads; 'ref' never loads it", async () => {
  const fake = new RefBackend('f32') as Backend;
  let loads = 0;
  const ok = async () => {
    loads++;
    return fake;
  };
  assert.equal(await createBackend('native', ok), fake);
  assert.equal(await createBackend('auto', ok), fake);
  const r = await createBackend('ref', ok);
  assert.ok(r instanceof RefBackend && r !== fake, "'ref' gives a fresh reference backend");
  assert.equal(loads, 2);
});

test('invalid kinds name LMLAB_BACKEND / --backend and the allowed values', async () => {
  await assert.rejects(createBackend('gpu'), (e: unknown) =>
    e instanceof BackendError && /LMLAB_BACKEND/.test(e.message) && /--backend/.test(e.message) && /ref, native, auto/.test(e.message));
  assert.equal(parseBackendKind(' Native '), 'native');
  assert.equal(parseBackendKind(''), 'auto');
});

test('the default kind comes from LMLAB_BACKEND', async () => {
  const saved = process.env.LMLAB_BACKEND;
  try {
    process.env.LMLAB_BACKEND = 'ref';
    assert.ok((await createBackend()) instanceof RefBackend, 'LMLAB_BACKEND=ref');
    process.env.LMLAB_BACKEND = 'bogus';
    await assert.rejects(createBackend(), BackendError);
  } finally {
    if (saved === undefined) delete process.env.LMLAB_BACKEND;
    else process.env.LMLAB_BACKEND = saved;
  }
});

test("'auto' with the real loader gives a working backend", async () => {
  const b = await createBackend('auto');
  assert.ok(b.name === 'ref' || b.name === 'native', `backend name ${b.name}`);
  const x = b.alloc(3);
  x.set([1, 2, 2]);
  assert.equal(b.sumSquares(x, 3), 9);
});
