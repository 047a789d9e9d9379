/* Driver for the suffix-array benchmark (bench/suffix-array.ts): builds the suffix array of a byte file
 * with libdivsufsort and prints one JSON line: n, seconds (best of --repeat runs, construction only, wall
 * clock), cpuSeconds (best of the runs' process CPU time: robust to a busy or briefly stopped machine),
 * peak RSS of the process, and an FNV-1a hash of the suffix array (int32 little-endian) so the TypeScript
 * side can check both builders produced the same array.
 * Build: gcc -O2 -o sa-divsufsort bench/sa-divsufsort.c -ldivsufsort
 * Usage: sa-divsufsort FILE [REPEAT] */
#include <divsufsort.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s FILE [REPEAT]\n", argv[0]); return 2; }
  int repeat = argc > 2 ? atoi(argv[2]) : 1;
  if (repeat < 1) repeat = 1;
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *T = malloc(n > 0 ? n : 1);
  saidx_t *SA = malloc((n > 0 ? n : 1) * sizeof(saidx_t));
  if (!T || !SA) { fprintf(stderr, "out of memory\n"); return 1; }
  if (fread(T, 1, n, f) != (size_t)n) { fprintf(stderr, "short read on %s\n", argv[1]); return 1; }
  fclose(f);
  double best = 1e300, bestCpu = 1e300;
  for (int r = 0; r < repeat; r++) {
    double t0 = now(), c0 = cpu_now();
    if (divsufsort(T, SA, (saidx_t)n) != 0) { fprintf(stderr, "divsufsort failed\n"); return 1; }
    double dt = now() - t0, dc = cpu_now() - c0;
    if (dt < best) best = dt;
    if (dc < bestCpu) bestCpu = dc;
  }
  uint32_t h = 2166136261u;
  for (long i = 0; i < n; i++) {
    uint32_t v = (uint32_t)SA[i];
    for (int b = 0; b < 4; b++) { h ^= (v >> (8 * b)) & 0xff; h *= 16777619u; }
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"n\":%ld,\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"maxRssBytes\":%ld,\"saHash\":%u}\n", n, best, bestCpu,
         ru.ru_maxrss * 1024L, h);
  free(T);
  free(SA);
  return 0;
}
