/* W4 sleepers, libuv: one uv_timer_t per sleeper, all started before uv_run
 * (see w4_async.c for the workload).  Usage: w4_uv [n]. */
#include "bench.h"
#include <uv.h>

static void wake(uv_timer_t *t) { (void)t; }

int main(int argc, char **argv) {
    long n = bench_arg(argc, argv, 1, 1000000), i;
    uv_loop_t *loop = uv_default_loop();
    uv_timer_t *timers;
    uint32_t x = BENCH_SEED, ms;
    uint64_t sum = 0, t0, t1, t_spawned, c0;
    long rss0 = bench_peak_rss_kb();
    t0 = bench_now_ns();
    c0 = bench_cpu_ns();
    if (!(timers = calloc((size_t)n, sizeof *timers))) return 1;
    for (i = 0; i < n; i++) {
        ms = BENCH_SLEEP_MS(&x);
        sum += ms;
        uv_timer_init(loop, &timers[i]);
        uv_timer_start(&timers[i], wake, ms, 0); /* one-shot: done after it */
    }
    t_spawned = bench_now_ns();
    uv_run(loop, UV_RUN_DEFAULT);
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
