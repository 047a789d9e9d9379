# lmlab native backend: N-API addon (C11, pthread pool, omp-simd vectorisation), linked against OpenBLAS when found
# (native/detect-blas.cjs), otherwise built with the built-in GEMM (LMLAB_NO_BLAS).
# Built at install time on the machine that runs it, hence -march=native.
# LMLAB_NO_BLAS=1 npx node-gyp rebuild   -> force the built-in GEMM build.
{
  'variables': {
    'lmlab_blas%': '<!(node native/detect-blas.cjs kind)',
  },
  'targets': [
    {
      'target_name': 'lmlab_native',
      'sources': [
        'native/lmlab.c',
        'native/gemm.c',
        'native/kernels.c',
        'native/attention.c',
        'native/pool.c',
        'native/sais.c',
        'native/fit.c',
      ],
      'cflags': ['-std=gnu11', '-O3', '-march=native', '-fopenmp-simd', '-fno-math-errno', '-fno-trapping-math', '-Wno-unused-function'],
      'cflags!': ['-O2', '-fno-omit-frame-pointer'],
      'ldflags': ['-pthread'],
      'conditions': [
        ['lmlab_blas=="openblas"', {
          'defines': ['LMLAB_OPENBLAS'],
          'include_dirs': ['<!(node native/detect-blas.cjs include)'],
          'libraries': [
            '-L<!(node native/detect-blas.cjs libdir)',
            '-Wl,-rpath,<!(node native/detect-blas.cjs libdir)',
            '-lopenblas',
          ],
        }, {
          'defines': ['LMLAB_NO_BLAS'],
        }],
      ],
    },
  ],
}
