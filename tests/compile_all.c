/* Uses every public macro and function once, so the compile matrix proves
 * the header builds warning-free in each language mode and backend.  Built as
 * C and as C++; run once to check it also works. */
#define ASYNC_SHORT_NAMES
#include "async.h"

struct leaf {
    async_frame frame;
    int v;
};

static int leaf_fn(async_task *task, void *arg) {
    struct leaf *s = (struct leaf *)arg;
    ASYNC_BEGIN(task, s);
    YIELD();
    SLEEP(0.001);
    SLEEP_MS(1);
    SLEEP_NS(1000);
    ASYNC_SLEEP_UNTIL(ASYNC_NOW() + 10);
    ASYNC_WAIT_UNTIL(ASYNC_NOW() > 0);
    if (s->v < 0) break;
    ASYNC_RETURN(s->v + 1);
    ASYNC_FINALLY;
    if (ASYNC_CANCELLED()) s->v = -1;
    ASYNC_END;
}

struct root {
    async_frame frame;
    struct leaf child;
    async_task tasks[2];
    struct leaf states[2];
    async_task *ptrs[2];
    intptr_t results[2];
    async_gather g;
    int i;
};

static int root_fn(async_task *task, void *arg) {
    struct root *s = (struct root *)arg;
    ASYNC_BEGIN(task, s);
    s->child.v = 1;
    AWAIT(leaf_fn, &s->child);
    for (s->i = 0; s->i < 2; s->i++) {
        s->states[s->i].v = s->i;
        async_spawn(ASYNC_LOOP(), &s->tasks[s->i], leaf_fn, &s->states[s->i]);
        s->ptrs[s->i] = &s->tasks[s->i];
    }
    AWAIT_TASK(s->ptrs[0]);
    ASYNC_GATHER(&s->g, s->ptrs, 2, s->results);
    ASYNC_RETURN(ASYNC_RESULT(&s->child) + s->results[0] + s->results[1] +
                 (ASYNC_SELF() == task));
    ASYNC_END;
}

int main(void) {
    static struct root r;
    static async_task t;
    async_loop loop;
    int rc = async_loop_init(&loop, ASYNC_VIRTUAL);
    rc |= async_spawn(&loop, &t, root_fn, &r);
    rc |= async_run_until(&loop, &t);
    rc |= async_run(&loop);
    if (rc != ASYNC_OK || async_task_state(&t) != ASYNC_DONE || !async_task_done(&t)) return 1;
    if (async_task_result(&t) != 2 + 1 + 2 + 1 || async_loop_pending(&loop) != 0) return 2;
    if (async_cancel(&t) != 0 || async_time(&loop) <= 0 || !async_strerror(rc)) return 3;
    return async_main(leaf_fn, &r.child, ASYNC_VIRTUAL) == ASYNC_OK ? 0 : 4;
}
