/* W8 equal deadlines, libuv: n timers of 10 ms, each restarted from its
 * callback, 100 rounds; libuv also fires equal timeouts in start order:
 * checked (see w8_async.c).  Usage: w8_uv [n]. */
#include "bench.h"
#include <uv.h>

enum { ROUNDS = 100 };

static long n, next_id, out_of_order;

struct sleeper {
    uv_timer_t t; /* first: the callback's handle is the sleeper */
    long id;
    int round;
};

static void wake(uv_timer_t *t) {
    struct sleeper *s = (struct sleeper *)t;
    if (s->id != next_id) out_of_order++;
    next_id = s->id + 1 == n ? 0 : s->id + 1;
    if (++s->round < ROUNDS) uv_timer_start(t, wake, 10, 0);
}

int main(int argc, char **argv) {
    uv_loop_t *loop = uv_default_loop();
    struct sleeper *st;
    uint64_t t0, t1, c0;
    long i;
    n = bench_arg(argc, argv, 1, 100000);
    if (!(st = calloc((size_t)n, sizeof *st))) return 1;
    t0 = bench_now_ns();
    c0 = bench_cpu_ns();
    for (i = 0; i < n; i++) {
        st[i].id = i;
        uv_timer_init(loop, &st[i].t);
        uv_timer_start(&st[i].t, wake, 10, 0);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    t1 = bench_now_ns();
    printf("RESULT n=%ld total_ms=%.1f cpu_ms=%.1f ns_per_wakeup=%.1f ordered=%d\n", n,
           (double)(t1 - t0) / 1e6, (double)(bench_cpu_ns() - c0) / 1e6,
           (double)(bench_cpu_ns() - c0) / (double)n / ROUNDS, out_of_order == 0);
    return out_of_order == 0 ? 0 : 1;
}
