/* W4 sleepers, POSIX threads: one thread per sleeper, blocking in its own
 * sleep.  A thread costs a kernel task, a pid and two memory mappings, so a
 * million is out of reach; this creates as many as it safely can and says
 * how many: it stops at the first pthread_create failure, at a cap of half
 * of each system limit (pid_max, threads-max, max_map_count / 2 mappings,
 * RLIMIT_NPROC) so that other users of a shared machine can still fork, or
 * after 2 s of creating.  An alarm ends the process if anything wedges.
 * Usage: w4_pthread [n]. */
#include "bench.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <unistd.h>

static long read_limit(const char *path) {
    long v = LONG_MAX;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1) v = LONG_MAX;
        fclose(f);
    }
    return v;
}

/* Lower *cap to lim if that is smaller, remembering which limit it was. */
static void limit(long *cap, const char **why, long lim, const char *name) {
    if (lim < *cap) {
        *cap = lim;
        *why = name;
    }
}

static void *sleeper(void *arg) {
    long ms = (long)(intptr_t)arg;
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};
    /* clock_nanosleep returns the error instead of setting errno */
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR) {}
    return NULL;
}

int main(int argc, char **argv) {
    long n = bench_arg(argc, argv, 1, 1000000), cap = n, created, i;
    struct rlimit rl;
    pthread_attr_t attr;
    pthread_t *th;
    uint32_t x = BENCH_SEED, ms;
    uint64_t sum = 0, t0, t1, t_spawned, c0;
    long rss0 = bench_peak_rss_kb();
    const char *stop = "all";
    int err = 0;

    alarm(120); /* the workload takes about a second: never hang around */
    limit(&cap, &stop, read_limit("/proc/sys/kernel/pid_max") / 2, "pid_max/2");
    limit(&cap, &stop, read_limit("/proc/sys/kernel/threads-max") / 2,
          "threads-max/2");
    limit(&cap, &stop, read_limit("/proc/sys/vm/max_map_count") / 4,
          "max_map_count/4");
    if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        limit(&cap, &stop, (long)(rl.rlim_cur / 2), "RLIMIT_NPROC/2");
    if (!(th = calloc((size_t)cap, sizeof *th))) return 1;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN); /* sleeping needs little */

    t0 = bench_now_ns();
    c0 = bench_cpu_ns();
    for (created = 0; created < cap; created++) {
        ms = BENCH_SLEEP_MS(&x);
        if ((err = pthread_create(&th[created], &attr, sleeper,
                                  (void *)(intptr_t)ms)) != 0) {
            stop = "pthread_create";
            break;
        }
        sum += ms;
        if ((created & 1023) == 0 && bench_now_ns() - t0 > 2000000000u) {
            created++;
            stop = "2s_limit";
            break;
        }
    }
    t_spawned = bench_now_ns();
    for (i = 0; i < created; i++) pthread_join(th[i], NULL);
    t1 = bench_now_ns();
    if (created == 0) return 1;
    /* The log (stderr) says in words which limit stopped creation. */
    fprintf(stderr, "w4_pthread: created %ld of %ld threads (stopped by: %s%s%s)\n",
            created, n, stop, err ? ": " : "", err ? strerror(err) : "");
    printf("RESULT n=%ld created=%ld stop=%s total_ms=%.1f spawn_ms=%.1f cpu_ms=%.1f "
           "rss_mib=%.2f bytes_per_task=%.1f sum_ms=%llu\n", n, created, stop,
           (double)(t1 - t0) / 1e6, (double)(t_spawned - t0) / 1e6,
           (double)(bench_cpu_ns() - c0) / 1e6,
           (double)bench_peak_rss_kb() / 1024.0,
           (double)(bench_peak_rss_kb() - rss0) * 1024.0 / (double)created,
           (unsigned long long)sum);
    return 0;
}
