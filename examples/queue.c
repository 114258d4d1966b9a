/* queue.c - the walkthrough's producers and consumers (asyncq.py).
 *
 *   build/queue [-p PRODUCERS] [-c CONSUMERS] [--seed N] [--virtual]
 *
 * Each producer makes a random number (0..10) of random items, sleeping a
 * random 0..10 s before each, and puts them on one queue; each consumer
 * sleeps a random 0..10 s, gets an item and reports how long it waited in the
 * queue.  The walkthrough ends its consumers by cancelling them after
 * q.join(), because `await q.get()` would otherwise wait forever.  async.h
 * has a first-class answer: once every producer is done, close the queue.
 * Consumers drain what is left, then their get ends with ASYNC_ECLOSED. */
#include <stdio.h>
#include "async.h"
#include "common.h"

enum { MAX_WORKERS = 64, QUEUE_CAPACITY = 64 };

struct element {
    char item[11]; /* 5 random bytes in hex, like os.urandom(5).hex() */
    double put_at;
};

struct producer {
    async_frame frame;
    int name, n, k, secs;
    async_queue *q;
    struct element e;
};

static int produce(async_task *task, void *arg) {
    struct producer *s = (struct producer *)arg;
    size_t b;
    ASYNC_BEGIN(task, s);
    s->n = ex_randint(0, 10);
    for (s->k = 0; s->k < s->n; s->k++) {
        s->secs = ex_randint(0, 10);
        printf("Producer %d sleeping for %d seconds.\n", s->name, s->secs);
        ASYNC_SLEEP(s->secs);
        for (b = 0; b < 5; b++) sprintf(s->e.item + 2 * b, "%02x", ex_randint(0, 255));
        s->e.put_at = async_time(ASYNC_LOOP());
        ASYNC_QUEUE_PUT(s->q, &s->e); /* waits while the queue is full */
        printf("Producer %d added <%s> to queue.\n", s->name, s->e.item);
    }
    ASYNC_END;
}

struct consumer {
    async_frame frame;
    int name, secs;
    async_queue *q;
    struct element e;
};

static int consume(async_task *task, void *arg) {
    struct consumer *s = (struct consumer *)arg;
    ASYNC_BEGIN(task, s);
    for (;;) {
        s->secs = ex_randint(0, 10);
        printf("Consumer %d sleeping for %d seconds.\n", s->name, s->secs);
        ASYNC_SLEEP(s->secs);
        ASYNC_QUEUE_GET(s->q, &s->e);
        if (ASYNC_STATUS() == ASYNC_ECLOSED) break; /* closed and drained */
        printf("Consumer %d got element <%s> in %.5f seconds.\n", s->name, s->e.item,
               async_time(ASYNC_LOOP()) - s->e.put_at);
        async_queue_task_done(s->q);
    }
    ASYNC_END;
}

struct main_state {
    async_frame frame;
    int np, nc, i;
    async_queue q;
    struct element buf[QUEUE_CAPACITY];
    async_task tasks[2 * MAX_WORKERS];
    struct producer producers[MAX_WORKERS];
    struct consumer consumers[MAX_WORKERS];
    async_task *all[2 * MAX_WORKERS];
    async_gather gather;
};

static int main_coro(async_task *task, void *arg) {
    struct main_state *s = (struct main_state *)arg;
    int i;
    ASYNC_BEGIN(task, s);
    async_queue_init(&s->q, s->buf, QUEUE_CAPACITY, sizeof(struct element));
    for (i = 0; i < s->np; i++) {
        s->producers[i].name = i;
        s->producers[i].q = &s->q;
        async_spawn(ASYNC_LOOP(), &s->tasks[i], produce, &s->producers[i]);
        s->all[i] = &s->tasks[i];
    }
    for (i = 0; i < s->nc; i++) {
        s->consumers[i].name = i;
        s->consumers[i].q = &s->q;
        async_spawn(ASYNC_LOOP(), &s->tasks[s->np + i], consume, &s->consumers[i]);
        s->all[s->np + i] = &s->tasks[s->np + i];
    }
    ASYNC_GATHER(&s->gather, s->all, (size_t)s->np, NULL); /* producers done */
    ASYNC_QUEUE_JOIN(&s->q);                                /* every item consumed */
    async_queue_close(&s->q);                               /* consumers end */
    ASYNC_GATHER(&s->gather, s->all + s->np, (size_t)s->nc, NULL);
    ASYNC_END;
}

int main(int argc, char **argv) {
    static struct main_state s;
    double start;
    async_loop loop;
    static async_task main_task;
    int rc;
    s.np = (int)ex_option(argc, argv, "-p", 5);
    s.nc = (int)ex_option(argc, argv, "-c", 10);
    if (s.np < 0 || s.np > MAX_WORKERS || s.nc < 1 || s.nc > MAX_WORKERS) {
        fprintf(stderr, "usage: queue [-p 0..%d] [-c 1..%d] [--seed N] [--virtual]\n", MAX_WORKERS, MAX_WORKERS);
        return 2;
    }
    ex_seed(ex_option(argc, argv, "--seed", 444));
    async_loop_init(&loop, ex_flag(argc, argv, "--virtual") ? ASYNC_VIRTUAL : 0);
    start = async_time(&loop);
    async_spawn(&loop, &main_task, main_coro, &s);
    rc = async_run(&loop);
    printf("Program completed in %.2f seconds.\n", async_time(&loop) - start);
    return rc == ASYNC_OK ? 0 : 1;
}
