/* W4 sleepers, async.h: n tasks, each sleeping a pseudo-random 0..1000 ms
 * (bench.h's xorshift32 sequence), then finishing.  Measures the time from
 * the first spawn until all are done (ideal: 1000 ms), the CPU spent, and
 * memory per task.  Usage: w4_async [n [huge]].
 *
 * `huge` (a diagnostic, not a peer): the storage in transparent huge pages,
 * one page fault per 2 MiB instead of per 4 KiB (see w3_async.c). */
#include "bench.h"
#include "async.h"

struct sleeper {
    async_frame frame;
    uint32_t ms;
};

static int sleeper(async_task *task, void *arg) {
    struct sleeper *s = (struct sleeper *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_MS(s->ms);
    ASYNC_END;
}

int main(int argc, char **argv) {
    long n = bench_arg(argc, argv, 1, 1000000), i;
    int huge = argc > 2 && strcmp(argv[2], "huge") == 0;
    static async_loop loop;
    async_task *tasks;
    struct sleeper *st;
    uint32_t x = BENCH_SEED;
    uint64_t sum = 0, t0, t1, t_spawned, c0;
    long rss0 = bench_peak_rss_kb();
    async_loop_init(&loop, 0);
    t0 = bench_now_ns();
    c0 = bench_cpu_ns();
    tasks = (async_task *)bench_storage(n, sizeof *tasks, huge);
    st = (struct sleeper *)bench_storage(n, sizeof *st, huge);
    if (!tasks || !st) return 1;
    for (i = 0; i < n; i++) {
        st[i].ms = BENCH_SLEEP_MS(&x);
        sum += st[i].ms;
        async_spawn(&loop, &tasks[i], sleeper, &st[i]);
    }
    t_spawned = bench_now_ns();
    if (async_run(&loop) != ASYNC_OK) return 1;
    t1 = bench_now_ns();
    printf("RESULT n=%ld created=%ld total_ms=%.1f spawn_ms=%.1f cpu_ms=%.1f "
           "rss_mib=%.2f bytes_per_task=%.1f sum_ms=%llu\n", n, n,
           (double)(t1 - t0) / 1e6, (double)(t_spawned - t0) / 1e6,
           (double)(bench_cpu_ns() - c0) / 1e6,
           (double)bench_peak_rss_kb() / 1024.0,
           (double)(bench_peak_rss_kb() - rss0) * 1024.0 / (double)n,
           (unsigned long long)sum);
    return 0;
}
