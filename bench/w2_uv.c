/* W2 yield, libuv: libuv has no coroutines, so a "task" is an idle handle
 * whose callback is one step; idle callbacks run once per loop iteration,
 * which is libuv's nearest thing to "yield to the scheduler".  Two of them
 * alternate until n steps have run in all.  Usage: w2_uv [n]. */
#include "bench.h"
#include <uv.h>

struct yielder {
    uv_idle_t idle;
    long i, n;
};

static void step(uv_idle_t *h) {
    struct yielder *s = (struct yielder *)h;
    if (++s->i >= s->n) uv_idle_stop(h);
}

int main(int argc, char **argv) {
    long n = bench_arg(argc, argv, 1, 10000000);
    uv_loop_t *loop = uv_default_loop();
    static struct yielder st[2];
    uint64_t t0, t1;
    int i;
    for (i = 0; i < 2; i++) {
        st[i].n = n / 2;
        uv_idle_init(loop, &st[i].idle);
        uv_idle_start(&st[i].idle, step);
    }
    t0 = bench_now_ns();
    uv_run(loop, UV_RUN_DEFAULT);
    t1 = bench_now_ns();
    n = n / 2 * 2;
    printf("RESULT n=%ld elapsed_s=%.6f ns_per_switch=%.3f\n", n,
           (double)(t1 - t0) / 1e9, (double)(t1 - t0) / (double)n);
    return 0;
}
