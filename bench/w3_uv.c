/* W3 spawn, libuv: a trivial "task" is an idle handle whose callback runs
 * once, stops and closes it (closing is libuv's reaping).  All n are started
 * before uv_run.  Pass 1 includes allocating the handles, pass 2 reuses
 * them (see w3_async.c).  Usage: w3_uv [n]. */
#include "bench.h"
#include <uv.h>

static long done;
static uv_idle_t *handles;

static void trivial(uv_idle_t *h) {
    done++;
    uv_idle_stop(h);
    uv_close((uv_handle_t *)h, NULL);
}

static uint64_t pass(uv_loop_t *loop, long n) {
    uint64_t t0 = bench_now_ns();
    long i;
    if (!handles && !(handles = calloc((size_t)n, sizeof *handles))) exit(1);
    for (i = 0; i < n; i++) {
        uv_idle_init(loop, &handles[i]);
        uv_idle_start(&handles[i], trivial);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    return bench_now_ns() - t0;
}

int main(int argc, char **argv) {
    long n = bench_arg(argc, argv, 1, 1000000);
    uv_loop_t *loop = uv_default_loop();
    long rss0 = bench_peak_rss_kb(), rss1;
    uint64_t cold, warm;
    cold = pass(loop, n);
    rss1 = bench_peak_rss_kb();
    warm = pass(loop, n);
    if (done != 2 * n) return 1;
    printf("RESULT n=%ld ns_per_task=%.2f ns_per_task_warm=%.2f rss_mib=%.2f "
           "bytes_per_task=%.1f\n", n, (double)cold / (double)n,
           (double)warm / (double)n, (double)bench_peak_rss_kb() / 1024.0,
           (double)(rss1 - rss0) * 1024.0 / (double)n);
    return 0;
}
