/* W7 timeout churn, async.h: the server pattern, where every read has a
 * deadline that almost never fires.  10,000 other timers stay armed (the
 * other connections' deadlines, 10-20 s away); one task then does n awaits,
 * each under a fresh 10 s timeout, on an event that is already set, so the
 * timeout is armed and disarmed around every await and never fires.
 * Measures the time per await-under-timeout.  Usage: w7_async [n]. */
#include "bench.h"
#include "async.h"

enum { OTHERS = 10000 };

struct churn {
    async_frame frame;
    async_event *ready;
    async_timeout tmo;
    long i, n, fired;
};

static int churn(async_task *task, void *arg) {
    struct churn *s = (struct churn *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < s->n; s->i++) {
        ASYNC_WITH_TIMEOUT(&s->tmo, 10.0, ASYNC_EVENT_WAIT(s->ready));
        if (ASYNC_STATUS() != ASYNC_OK) s->fired++;
    }
    ASYNC_END;
}

struct other {
    async_frame frame;
    uint32_t ms;
};

static int other(async_task *task, void *arg) {
    struct other *s = (struct other *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_MS(s->ms);
    ASYNC_END;
}

int main(int argc, char **argv) {
    long n = bench_arg(argc, argv, 1, 1000000), i;
    static async_loop loop;
    static async_event ready;
    static async_task t, others[OTHERS];
    static struct other os[OTHERS];
    static struct churn s;
    uint32_t x = BENCH_SEED;
    uint64_t t0, t1, c0;
    async_loop_init(&loop, 0);
    async_event_init(&ready);
    async_event_set(&ready);
    for (i = 0; i < OTHERS; i++) {
        os[i].ms = 10000 + BENCH_SLEEP_MS(&x) * 10;
        async_spawn(&loop, &others[i], other, &os[i]);
    }
    async_step(&loop); /* the others are asleep: 10,000 timers armed */
    s.ready = &ready;
    s.n = n;
    async_spawn(&loop, &t, churn, &s);
    t0 = bench_now_ns();
    c0 = bench_cpu_ns();
    async_run_until(&loop, &t);
    t1 = bench_now_ns();
    if (s.fired || loop.timers.n != OTHERS) return 1;
    printf("RESULT n=%ld ns_per_await=%.2f awaits_per_s=%.0f cpu_ms=%.1f fired=%ld\n", n,
           (double)(t1 - t0) / (double)n, (double)n * 1e9 / (double)(t1 - t0),
           (double)(bench_cpu_ns() - c0) / 1e6, s.fired);
    async_loop_shutdown(&loop);
    return 0;
}
