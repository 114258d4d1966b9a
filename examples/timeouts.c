/* timeouts.c - cutting slow work off (asyncio.wait_for, asyncio.timeout).
 *
 *   build/timeouts [--virtual]
 *
 * Three downloads take 1 s, 3 s and 6 s; each may take at most 2.5 s.  The
 * slow ones are cut off at the deadline: their coroutine unwinds through its
 * ASYNC_FINALLY (where it closes its "connection") and the caller's
 * ASYNC_STATUS() says ASYNC_ETIMEDOUT.  Then a consumer waits at most 1 s
 * for a queue that stays empty: the wait ends, and the queue is left as it
 * was (no waiter left behind). */
#include <stdio.h>
#include "async.h"
#include "common.h"

struct download {
    async_frame frame;
    const char *name;
    double secs;
};

static int download(async_task *task, void *arg) {
    struct download *s = (struct download *)arg;
    ASYNC_BEGIN(task, s);
    printf("%.2f  %s: connecting\n", async_time(ASYNC_LOOP()), s->name);
    ASYNC_SLEEP(s->secs); /* the transfer */
    printf("%.2f  %s: received\n", async_time(ASYNC_LOOP()), s->name);
    ASYNC_RETURN(100);
    ASYNC_FINALLY;
    printf("%.2f  %s: connection closed\n", async_time(ASYNC_LOOP()), s->name);
    ASYNC_END;
}

struct fetch {
    async_frame frame;
    struct download d;
    async_timeout tmo;
};

static int fetch(async_task *task, void *arg) {
    struct fetch *s = (struct fetch *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_WAIT_FOR(&s->tmo, 2.5, download, &s->d); /* asyncio.wait_for(..., 2.5) */
    if (ASYNC_STATUS() == ASYNC_ETIMEDOUT)
        printf("%.2f  %s: timed out\n", async_time(ASYNC_LOOP()), s->d.name);
    else
        printf("%.2f  %s: done, %ld kB\n", async_time(ASYNC_LOOP()), s->d.name, (long)ASYNC_RESULT(&s->d));
    ASYNC_END;
}

struct waiter {
    async_frame frame;
    async_queue *q;
    int item;
    async_timeout tmo;
};

static int wait_for_item(async_task *task, void *arg) {
    struct waiter *s = (struct waiter *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_TIMEOUT_ARM(&s->tmo, 1.0); /* async with asyncio.timeout(1.0): */
    ASYNC_QUEUE_GET(s->q, &s->item);
    ASYNC_TIMEOUT_DISARM(&s->tmo);
    printf("%.2f  queue get: %s\n", async_time(ASYNC_LOOP()), async_strerror(ASYNC_STATUS()));
    ASYNC_END;
}

int main(int argc, char **argv) {
    static const char *names[3] = {"fast", "slow", "slower"};
    static const double secs[3] = {1.0, 3.0, 6.0};
    static async_task tasks[4];
    static struct fetch fetches[3];
    static struct waiter w;
    static int buf[4];
    static async_queue q;
    static async_loop loop; /* static like the tasks, which point at it */
    int i, rc;
    async_loop_init(&loop, ex_flag(argc, argv, "--virtual") ? ASYNC_VIRTUAL : 0);
    for (i = 0; i < 3; i++) {
        fetches[i].d.name = names[i];
        fetches[i].d.secs = secs[i];
        async_spawn(&loop, &tasks[i], fetch, &fetches[i]);
    }
    rc = async_run(&loop);
    async_queue_init(&q, buf, 4, sizeof(int));
    w.q = &q;
    async_loop_init(&loop, ex_flag(argc, argv, "--virtual") ? ASYNC_VIRTUAL : 0);
    async_spawn(&loop, &tasks[3], wait_for_item, &w);
    if (rc == ASYNC_OK) rc = async_run(&loop);
    printf("queue still empty: %s, waiters left: %s\n", async_queue_size(&q) == 0 ? "yes" : "no",
           q.getters ? "yes" : "none");
    return rc == ASYNC_OK ? 0 : 1;
}
