/* model_main.c - the model test (tests/model.h) as a plain program, for
 * targets without Criterion (WebAssembly under node).  The same checks as
 * tests/test_model.c's main ones:
 *   - SEEDS random cases (default 20,000, as the suite) run on the loop and
 *     on the reference model, compared after every pass; the first
 *     divergence is reported with a shrunk reproduction;
 *   - a model with a planted bug (LIFO timer ties, event waiters woken in
 *     reverse, a newcomer barging on a queue) must be caught.
 * It prints totals (events compared, loop passes) that are the same on
 * every platform, so a run elsewhere can be compared line for line with a
 * native one.  Exit status 0 when everything held.
 *
 *   model_main [SEEDS] */
#include "model.h"

static model_ctx model_x; /* large: not on the stack */

static long caught(int bug, long n) {
    model_opts o;
    model_case c;
    model_result r;
    long s, bad = 0;
    o.mutate_event = -1;
    o.model_bug = bug;
    for (s = 0; s < n; s++) {
        model_case_from_seed(&c, (uint64_t)s);
        if (model_check_case(&model_x, &c, &o, &r)) bad++;
    }
    return bad;
}

int main(int argc, char **argv) {
    static const char *const bugs[] = {"", "LIFO timer ties", "event waiters in reverse",
                                       "barging on a queue"};
    long seeds = argc > 1 ? strtol(argv[1], NULL, 10) : 20000L, s, bad = 0, k;
    long long events = 0, passes = 0, modes[2] = {0, 0};
    int b, failed = 0;
    model_opts o;
    model_case c;
    model_result r;
    o.mutate_event = -1;
    o.model_bug = MODEL_BUG_NONE;
    for (s = 0; s < seeds; s++) {
        model_case_from_seed(&c, (uint64_t)s);
        if (model_check_case(&model_x, &c, &o, &r)) {
            model_report(stderr, &model_x, &c, &o, s); /* prints it, shrunk */
            bad++;
            break;
        }
        events += r.nevents;
        passes += r.steps;
        modes[c.run_mode ? 1 : 0]++;
    }
    printf("model: %ld seeds (%lld stepped, %lld under async_run), %lld events and "
           "%lld loop passes compared, %ld diverged\n",
           s, modes[0], modes[1], events, passes, bad);
    if (bad) failed = 1;
    for (b = MODEL_BUG_LIFO_TIES; b <= MODEL_BUG_BARGE; b++) {
        k = caught(b, 2000);
        printf("model: planted bug (%s) caught in %ld of 2000 cases\n", bugs[b], k);
        if (k == 0) failed = 1;
    }
    printf("model: %s\n", failed ? "FAILED" : "ok");
    return failed;
}
