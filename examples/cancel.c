/* cancel.c - cancelling a worker that holds a resource.
 *
 *   build/cancel [--virtual]
 *
 * A worker takes a lock (its "resource"), then processes a job every 0.5 s.
 * After 1.6 s, main cancels it.  The worker is suspended in a sleep: that
 * sleep ends at once, the worker unwinds to its ASYNC_FINALLY, which runs
 * exactly once and releases the lock, and the task ends ASYNC_CANCELLED.
 * A second task waiting for the lock gets it immediately. */
#include <stdio.h>
#include "async.h"
#include "common.h"

struct worker {
    async_frame frame;
    async_lock *lock;
    int jobs, holding;
};

static int worker(async_task *task, void *arg) {
    struct worker *s = (struct worker *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_LOCK_ACQUIRE(s->lock);
    s->holding = 1;
    printf("%.2f  worker: got the resource\n", async_time(ASYNC_LOOP()));
    for (;;) {
        ASYNC_SLEEP(0.5);
        s->jobs++;
        printf("%.2f  worker: job %d done\n", async_time(ASYNC_LOOP()), s->jobs);
    }
    ASYNC_FINALLY; /* runs on cancellation too */
    if (ASYNC_CANCELLED()) printf("%.2f  worker: cancelled after %d jobs\n", async_time(ASYNC_LOOP()), s->jobs);
    if (s->holding) {
        ASYNC_LOCK_RELEASE(s->lock);
        printf("%.2f  worker: resource released\n", async_time(ASYNC_LOOP()));
    }
    ASYNC_END;
}

struct other {
    async_frame frame;
    async_lock *lock;
};

static int other(async_task *task, void *arg) {
    struct other *s = (struct other *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_LOCK_ACQUIRE(s->lock);
    printf("%.2f  other: got the resource\n", async_time(ASYNC_LOOP()));
    ASYNC_LOCK_RELEASE(s->lock);
    ASYNC_END;
}

struct main_state {
    async_frame frame;
    async_lock lock;
    async_task w, o;
    struct worker ws;
    struct other os;
};

static int main_coro(async_task *task, void *arg) {
    struct main_state *s = (struct main_state *)arg;
    ASYNC_BEGIN(task, s);
    async_lock_init(&s->lock);
    s->ws.lock = s->os.lock = &s->lock;
    async_spawn(ASYNC_LOOP(), &s->w, worker, &s->ws);
    async_spawn(ASYNC_LOOP(), &s->o, other, &s->os);
    ASYNC_SLEEP(1.6);
    printf("%.2f  main: cancelling the worker\n", async_time(ASYNC_LOOP()));
    async_cancel(&s->w);
    ASYNC_AWAIT_TASK(&s->w);
    printf("%.2f  main: worker %s (status: %s)\n", async_time(ASYNC_LOOP()),
           async_task_state(&s->w) == ASYNC_CANCELLED ? "cancelled" : "not cancelled",
           async_strerror(ASYNC_STATUS()));
    ASYNC_AWAIT_TASK(&s->o);
    ASYNC_END;
}

int main(int argc, char **argv) {
    static struct main_state s;
    return async_main(main_coro, &s, ex_flag(argc, argv, "--virtual") ? ASYNC_VIRTUAL : 0) == ASYNC_OK ? 0 : 1;
}
