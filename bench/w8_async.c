/* W8 equal deadlines, async.h: n tasks all sleep the same 10 ms, 100 rounds
 * in a row.  Timers with equal deadlines fire in the order they were
 * started, so every round must wake the tasks in spawn order: checked
 * (ordered=1), and the CPU over the run is the figure (the wall time is
 * bound by the sleeps: ideal 100 x 10 ms).  Usage: w8_async [n]. */
#include "bench.h"
#include "async.h"

enum { ROUNDS = 100 };

static long n, next_id, out_of_order;

struct sleeper {
    async_frame frame;
    long id;
    int round;
};

static int sleeper(async_task *task, void *arg) {
    struct sleeper *s = (struct sleeper *)arg;
    ASYNC_BEGIN(task, s);
    for (s->round = 0; s->round < ROUNDS; s->round++) {
        ASYNC_SLEEP_MS(10);
        if (s->id != next_id) out_of_order++;
        next_id = s->id + 1 == n ? 0 : s->id + 1;
    }
    ASYNC_END;
}

int main(int argc, char **argv) {
    long i;
    static async_loop loop;
    async_task *tasks;
    struct sleeper *st;
    uint64_t t0, t1, c0;
    n = bench_arg(argc, argv, 1, 100000);
    async_loop_init(&loop, 0);
    tasks = calloc((size_t)n, sizeof *tasks);
    st = calloc((size_t)n, sizeof *st);
    if (!tasks || !st) return 1;
    t0 = bench_now_ns();
    c0 = bench_cpu_ns();
    for (i = 0; i < n; i++) {
        st[i].id = i;
        async_spawn(&loop, &tasks[i], sleeper, &st[i]);
    }
    if (async_run(&loop) != ASYNC_OK) return 1;
    t1 = bench_now_ns();
    printf("RESULT n=%ld total_ms=%.1f cpu_ms=%.1f ns_per_wakeup=%.1f ordered=%d\n", n,
           (double)(t1 - t0) / 1e6, (double)(bench_cpu_ns() - c0) / 1e6,
           (double)(bench_cpu_ns() - c0) / (double)n / ROUNDS, out_of_order == 0);
    return out_of_order == 0 ? 0 : 1;
}
