/* common.h - small helpers shared by the examples (not part of async.h):
 * reading command-line options, and a deterministic random generator, so
 * that an example prints the same numbers on every platform for a seed. */
#ifndef EXAMPLES_COMMON_H
#define EXAMPLES_COMMON_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <windows.h>
#endif

/* Nonzero if `name` (e.g. "--virtual") is among the arguments. */
static inline int ex_flag(int argc, char **argv, const char *name) {
    int i;
    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return 1;
    return 0;
}

/* The argument after `name` (e.g. "--trace out.json"), or NULL. */
static inline const char *ex_string(int argc, char **argv, const char *name) {
    int i;
    for (i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return NULL;
}

/* The number after `name` (e.g. "-p 5"), or `fallback`. */
static inline long ex_option(int argc, char **argv, const char *name, long fallback) {
    int i;
    for (i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return strtol(argv[i + 1], NULL, 10);
    return fallback;
}

/* Block the calling thread for `ms` milliseconds (what a worker thread's
 * slow job does; never do it in a coroutine).  POSIX: for the examples that
 * ask for it with _POSIX_C_SOURCE. */
#if defined(_WIN32) || (defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 199309L)
static inline void ex_block_ms(long ms) {
#ifdef _WIN32
    Sleep((DWORD)ms);
#else
    struct timespec pause;
    pause.tv_sec = ms / 1000;
    pause.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&pause, NULL);
#endif
}
#endif

/* xorshift32: random.randint(lo, hi) with a seed of our own. */
static uint32_t ex_state = 444;
static inline void ex_seed(long seed) { ex_state = seed ? (uint32_t)seed : 444u; }
static inline int ex_randint(int lo, int hi) {
    uint32_t x = ex_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    ex_state = x;
    return lo + (int)(x % (uint32_t)(hi - lo + 1));
}
#endif
