/* W2 yield, async.h: two tasks hand control to each other through the
 * scheduler (ASYNC_YIELD) until n switches have happened in all.
 * Usage: w2_async [n]. */
#include "bench.h"
#include "async.h"

struct yielder {
    async_frame frame;
    long i, n; /* loop state lives here: locals do not survive a yield */
};

static int yielder(async_task *task, void *arg) {
    struct yielder *s = (struct yielder *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < s->n; s->i++) ASYNC_YIELD();
    ASYNC_END;
}

int main(int argc, char **argv) {
    long n = bench_arg(argc, argv, 1, 100000000);
    static async_loop loop;
    static async_task tasks[2];
    static struct yielder st[2];
    uint64_t t0, t1;
    int i;
    async_loop_init(&loop, 0);
    /* Each yield is one switch to the other task: n/2 yields apiece. */
    for (i = 0; i < 2; i++) {
        st[i].n = n / 2;
        async_spawn(&loop, &tasks[i], yielder, &st[i]);
    }
    t0 = bench_now_ns();
    if (async_run(&loop) != ASYNC_OK) return 1;
    t1 = bench_now_ns();
    n = n / 2 * 2;
    printf("RESULT n=%ld elapsed_s=%.6f ns_per_switch=%.3f\n", n,
           (double)(t1 - t0) / 1e9, (double)(t1 - t0) / (double)n);
    return 0;
}
