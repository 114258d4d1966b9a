/* W5 timer accuracy, async.h: one task sleeps 1 ms n times in a row and
 * records by how much each sleep overshot.  Usage: w5_async [n [slack_ns]].
 * With slack_ns the process's timer slack is set first (Linux prctl), to
 * show how much of the oversleep is the kernel's slack rather than the loop:
 * async.h itself leaves the slack alone. */
#include "bench.h"
#include <sys/prctl.h>
#include "async.h"

struct napper {
    async_frame frame;
    long i, n;
    uint64_t t;  /* when the current sleep began */
    double *over; /* oversleep of each sleep, us */
};

static int napper(async_task *task, void *arg) {
    struct napper *s = (struct napper *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < s->n; s->i++) {
        s->t = bench_now_ns();
        ASYNC_SLEEP_MS(1);
        s->over[s->i] = (double)(int64_t)(bench_now_ns() - s->t) / 1e3 - 1000.0;
    }
    ASYNC_END;
}

int main(int argc, char **argv) {
    static struct napper s;
    double med, p99;
    s.n = bench_arg(argc, argv, 1, 1000);
    if (argc > 2) prctl(PR_SET_TIMERSLACK, (unsigned long)bench_arg(argc, argv, 2, 1), 0, 0, 0);
    if (!(s.over = calloc((size_t)s.n, sizeof *s.over))) return 1;
    if (async_main(napper, &s, 0) != ASYNC_OK) return 1;
    med = bench_percentile(s.over, (size_t)s.n, 500);
    p99 = bench_percentile(s.over, (size_t)s.n, 990);
    printf("RESULT n=%ld median_us=%.1f p99_us=%.1f max_us=%.1f\n", s.n, med,
           p99, s.over[s.n - 1]);
    return 0;
}
