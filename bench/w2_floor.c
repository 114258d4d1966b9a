/* W2 yield, the floor: what a switch costs with no scheduler at all.  Two
 * bare stackless coroutines (a switch on a saved line number, the idea of
 * protothreads, written here in a few lines) are called in turn by a loop
 * through a function pointer the compiler cannot see through, so each call
 * is a real call and a real resume, as in any scheduler.  There is no
 * queue, no timer check, no cancellation, no budget: async.h's W2 figure
 * over this one is the price of being a scheduler.  Usage: w2_floor [n]. */
#include "bench.h"

struct bare {
    int resume; /* 0: start; otherwise the line to go on from */
    long i, n;
};

#define BARE_BEGIN(c) switch ((c)->resume) { case 0:
#define BARE_YIELD(c)                                                         \
    do {                                                                      \
        (c)->resume = __LINE__;                                               \
        return 0;                                                             \
    case __LINE__:;                                                           \
    } while (0)
#define BARE_END(c) } (c)->resume = -1; return 1

static int yielder(struct bare *c) {
    BARE_BEGIN(c);
    for (c->i = 0; c->i < c->n; c->i++) BARE_YIELD(c);
    BARE_END(c);
}

int main(int argc, char **argv) {
    long n = bench_arg(argc, argv, 1, 100000000);
    static struct bare co[2];
    int (*volatile step)(struct bare *) = yielder; /* an opaque call */
    int done[2] = {0, 0}, k;
    uint64_t t0, t1;
    for (k = 0; k < 2; k++) co[k].n = n / 2;
    t0 = bench_now_ns();
    while (!done[0] || !done[1])
        for (k = 0; k < 2; k++)
            if (!done[k]) done[k] = step(&co[k]);
    t1 = bench_now_ns();
    n = n / 2 * 2;
    printf("RESULT n=%ld elapsed_s=%.6f ns_per_switch=%.3f\n", n,
           (double)(t1 - t0) / 1e9, (double)(t1 - t0) / (double)n);
    return 0;
}
