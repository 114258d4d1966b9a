/* bench.h - helpers shared by the C benchmark programs (not part of async.h).
 *
 * Every program prints exactly one line "RESULT key=value ..." that
 * bench/run.sh collects; anything else it prints is ignored.  Keeping the
 * measurement code here means async.h, libuv and pthreads are timed alike. */
#ifndef BENCH_H
#define BENCH_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

static inline uint64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Process CPU time (user + system, all threads) in ns. */
static inline uint64_t bench_cpu_ns(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

/* Peak resident set size so far, in KiB (Linux reports ru_maxrss in KiB). */
static inline long bench_peak_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* The W4 sleep sequence: xorshift32 (13, 17, 5) from seed 42, reduced to
 * 0..1000 ms.  Python, Node and Go reimplement exactly this, and every W4
 * program prints the sum so run.sh can check that they all slept alike. */
static inline uint32_t bench_xorshift32(uint32_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}
#define BENCH_SEED 42u
#define BENCH_SLEEP_MS(x) (bench_xorshift32(x) % 1001u)

/* argv[i] as a count, with a default; 0 or garbage is a usage error. */
static inline long bench_arg(int argc, char **argv, int i, long def) {
    long v;
    if (argc <= i) return def;
    v = strtol(argv[i], NULL, 10);
    if (v <= 0) {
        fprintf(stderr, "%s: bad count '%s'\n", argv[0], argv[i]);
        exit(2);
    }
    return v;
}

/* Zeroed storage for n items of `size`: calloc's, or with `huge` an
 * anonymous mapping (zero, like calloc's memory of this size) in
 * transparent huge pages, so that its first touch costs one page fault per
 * 2 MiB instead of one per 4 KiB.  The W3 and W4 diagnostics use it to show
 * what the machine's page faults cost. */
static inline void *bench_storage(long n, size_t size, int huge) {
    size_t len = (size_t)n * size;
    void *p;
    if (!huge) return calloc((size_t)n, size);
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, len, MADV_HUGEPAGE);
#endif
    return p;
}

static int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of v[0..n) (sorted first), the rank given in
 * per mille so it is exact integer arithmetic: ceil(pm * n / 1000) - 1.  The
 * Python, Node and Go programs compute the very same rank. */
static inline double bench_percentile(double *v, size_t n, unsigned pm) {
    size_t k = (pm * n + 999) / 1000;
    qsort(v, n, sizeof *v, bench_cmp_double);
    return v[k ? k - 1 : 0];
}

#endif
