/* W5 timer accuracy, libuv: a 1 ms one-shot timer re-armed from its own
 * callback n times.  libuv counts timers in whole ms from the loop's cached
 * time, so a sleep may measure a little short (negative oversleep): that is
 * how it behaves, so it is reported as it is.  Usage: w5_uv [n]. */
#include "bench.h"
#include <uv.h>

static long i, n;
static uint64_t t;
static double *over;

/* Signed: a libuv sleep can come out shorter than 1 ms (see above). */
static void wake(uv_timer_t *timer) {
    over[i] = (double)(int64_t)(bench_now_ns() - t) / 1e3 - 1000.0;
    if (++i < n) {
        t = bench_now_ns();
        uv_timer_start(timer, wake, 1, 0);
    }
}

int main(int argc, char **argv) {
    uv_loop_t *loop = uv_default_loop();
    uv_timer_t timer;
    double med, p99;
    n = bench_arg(argc, argv, 1, 1000);
    if (!(over = calloc((size_t)n, sizeof *over))) return 1;
    uv_timer_init(loop, &timer);
    t = bench_now_ns();
    uv_timer_start(&timer, wake, 1, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    med = bench_percentile(over, (size_t)n, 500);
    p99 = bench_percentile(over, (size_t)n, 990);
    printf("RESULT n=%ld median_us=%.1f p99_us=%.1f max_us=%.1f\n", n, med, p99,
           over[n - 1]);
    return 0;
}
