/* stuck.c - a program that hangs, and async_dump saying why.
 *
 *   build/stuck            run it: the loop gives up, the dump goes to stdout
 *
 * A classic mistake: the worker waits for a "go" event that main never sets,
 * because main first waits for the worker's results.  Nothing can ever wake
 * any of them.  Instead of hanging, async_run returns ASYNC_EDEADLK when no
 * task is ready, no timer is pending and no I/O is watched; async_dump then
 * lists every pending task with its name, its state, the source line where
 * it is suspended and what it waits on.
 *
 * (A program that hangs on a timer or on I/O is not a deadlock as far as the
 * loop can tell: call async_dump from a watchdog task or a signal-driven
 * check instead.) */
#include <stdio.h>
#include "async.h"

struct shared {
    async_event go;
    async_queue results;
    int buf[4];
};

struct worker {
    async_frame frame;
    struct shared *sh;
    int n;
};

static int worker(async_task *task, void *arg) {
    struct worker *s = (struct worker *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_EVENT_WAIT(&s->sh->go); /* waits for main... */
    for (s->n = 0; s->n < 3; s->n++) ASYNC_QUEUE_PUT(&s->sh->results, &s->n);
    ASYNC_END;
}

struct ticker {
    async_frame frame;
    int ticks;
};

/* A task that finishes on its own: it is not in the dump. */
static int ticker(async_task *task, void *arg) {
    struct ticker *s = (struct ticker *)arg;
    ASYNC_BEGIN(task, s);
    for (s->ticks = 0; s->ticks < 3; s->ticks++) ASYNC_SLEEP_MS(100);
    ASYNC_END;
}

struct main_state {
    async_frame frame;
    struct shared sh;
    async_task workers[2], tick;
    struct worker w[2];
    struct ticker t;
    int item;
};

static int main_coro(async_task *task, void *arg) {
    struct main_state *s = (struct main_state *)arg;
    ASYNC_BEGIN(task, s);
    async_event_init(&s->sh.go);
    async_queue_init(&s->sh.results, s->sh.buf, 4, sizeof(int));
    s->w[0].sh = s->w[1].sh = &s->sh;
    async_spawn_named(ASYNC_LOOP(), &s->workers[0], worker, &s->w[0], "worker 1");
    async_spawn_named(ASYNC_LOOP(), &s->workers[1], worker, &s->w[1], "worker 2");
    async_spawn_named(ASYNC_LOOP(), &s->tick, ticker, &s->t, "ticker");
    ASYNC_QUEUE_GET(&s->sh.results, &s->item); /* ...which waits for them */
    async_event_set(&s->sh.go);                 /* (too late: never reached) */
    ASYNC_END;
}

int main(void) {
    static struct main_state s;
    static async_task main_task;
    async_loop loop;
    int rc;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn_named(&loop, &main_task, main_coro, &s, "main");
    rc = async_run(&loop);
    printf("async_run: %s\n", async_strerror(rc));
    if (rc == ASYNC_EDEADLK) async_dump(&loop, stdout);
    return rc == ASYNC_EDEADLK ? 0 : 1; /* the expected outcome, for the demo */
}
