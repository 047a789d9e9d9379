#!/usr/bin/env node
// Finds OpenBLAS for binding.gyp. Usage: node native/detect-blas.cjs [kind|include|libdir]
//   kind    -> 'openblas' when OpenBLAS's cblas.h and libopenblas are found, else 'none'
//   include -> the directory holding OpenBLAS's cblas.h ('' when none)
//   libdir  -> the directory holding libopenblas.so ('' when none)
// LMLAB_NO_BLAS=1 at build time forces 'none' (the built-in GEMM), e.g. to test that build.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const what = process.argv[2] || 'kind';
const noBlas = /^(1|true|yes)$/i.test(process.env.LMLAB_NO_BLAS || '');

function firstExisting(dirs, test) {
  for (const d of dirs) {
    try {
      if (test(d)) return d;
    } catch {
      // unreadable: skip
    }
  }
  return '';
}

const triplets = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'powerpc64le-linux-gnu', 's390x-linux-gnu', 'riscv64-linux-gnu'];
const extra = (process.env.OPENBLAS_HOME ? [process.env.OPENBLAS_HOME] : []);
const prefixes = [...extra, '/usr', '/usr/local', '/opt/OpenBLAS', '/opt/homebrew/opt/openblas', '/usr/local/opt/openblas'];

// OpenBLAS's own cblas.h sits next to openblas_config.h; prefer the pthread flavour (Debian layout).
const incCandidates = [];
for (const p of prefixes) {
  for (const t of triplets) {
    incCandidates.push(path.join(p, 'include', t, 'openblas-pthread'));
    incCandidates.push(path.join(p, 'include', t, 'openblas-openmp'));
    incCandidates.push(path.join(p, 'include', t, 'openblas-serial'));
    incCandidates.push(path.join(p, 'include', t));
  }
  incCandidates.push(path.join(p, 'include', 'openblas'));
  incCandidates.push(path.join(p, 'include'));
}
const include = firstExisting(incCandidates, (d) =>
  fs.existsSync(path.join(d, 'cblas.h')) && fs.existsSync(path.join(d, 'openblas_config.h')));

const libCandidates = [];
for (const p of prefixes) {
  for (const t of triplets) libCandidates.push(path.join(p, 'lib', t));
  libCandidates.push(path.join(p, 'lib64'));
  libCandidates.push(path.join(p, 'lib'));
}
const libdir = firstExisting(libCandidates, (d) =>
  fs.existsSync(path.join(d, 'libopenblas.so')) || fs.existsSync(path.join(d, 'libopenblas.dylib')));

const found = !noBlas && include !== '' && libdir !== '';
if (what === 'kind') process.stdout.write(found ? 'openblas' : 'none');
else if (what === 'include') process.stdout.write(found ? include : '');
else if (what === 'libdir') process.stdout.write(found ? libdir : '');
else {
  process.stderr.write(`detect-blas: unknown query '${what}' (kind|include|libdir)\n`);
  process.exit(2);
}
