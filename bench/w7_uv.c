/* W7 timeout churn, libuv: 10,000 other timers armed 10-20 s away, then n
 * uv_timer_start / uv_timer_stop pairs of one 10 s timer in a row, from a
 * callback: libuv's timers at their fastest, with no loop pass between the
 * pairs (async.h's awaits pass through the loop every ASYNC_BUDGET awaits;
 * see w7_async.c).  Usage: w7_uv [n]. */
#include "bench.h"
#include <uv.h>

enum { OTHERS = 10000 };

static uv_timer_t deadline;
static long n, fired;
static uint64_t t0, t1, c0, c1;

static void timed_out(uv_timer_t *t) {
    (void)t;
    fired++;
}

static void churn(uv_idle_t *h) {
    long i;
    t0 = bench_now_ns();
    c0 = bench_cpu_ns();
    for (i = 0; i < n; i++) {
        uv_timer_start(&deadline, timed_out, 10000, 0);
        uv_timer_stop(&deadline);
    }
    t1 = bench_now_ns();
    c1 = bench_cpu_ns();
    uv_idle_stop(h);
    uv_stop(h->loop);
}

int main(int argc, char **argv) {
    uv_loop_t *loop = uv_default_loop();
    static uv_timer_t others[OTHERS];
    uv_idle_t idle;
    uint32_t x = BENCH_SEED;
    long i;
    n = bench_arg(argc, argv, 1, 1000000);
    for (i = 0; i < OTHERS; i++) {
        uv_timer_init(loop, &others[i]);
        uv_timer_start(&others[i], timed_out, 10000 + BENCH_SLEEP_MS(&x) * 10, 0);
    }
    uv_timer_init(loop, &deadline);
    uv_idle_init(loop, &idle);
    uv_idle_start(&idle, churn);
    uv_run(loop, UV_RUN_DEFAULT);
    if (fired) return 1;
    printf("RESULT n=%ld ns_per_await=%.2f awaits_per_s=%.0f cpu_ms=%.1f fired=%ld\n", n,
           (double)(t1 - t0) / (double)n, (double)n * 1e9 / (double)(t1 - t0),
           (double)(c1 - c0) / 1e6, fired);
    return 0;
}
