/* The cross-thread paths under ThreadSanitizer (Criterion's runner does not
 * run under TSan, so this is a plain program): worker-pool jobs, and calls
 * handed to the loop by other threads.  Exit status 0 means every result
 * came back right; TSan reports any data race and fails the run. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include "async.h"

static intptr_t square(void *arg) { return (intptr_t)arg * (intptr_t)arg; }

struct offloader {
    async_frame frame;
    async_pool *pool;
    async_job job;
    int i, bad;
};

static int offloader_fn(async_task *task, void *arg) {
    struct offloader *s = (struct offloader *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < 1000; s->i++) {
        ASYNC_TO_THREAD(s->pool, &s->job, square, (void *)(intptr_t)s->i);
        if (s->job.result != (intptr_t)s->i * s->i) s->bad++;
    }
    ASYNC_END;
}

struct feeder {
    async_loop *loop;
    async_call calls[1000];
    async_event *ev;
    int count;
};

static void bump(async_loop *loop, void *arg) {
    struct feeder *f = (struct feeder *)arg;
    (void)loop;
    if (++f->count == 2000) async_event_set(f->ev);
}

static void *feed(void *arg) {
    struct feeder **pf = (struct feeder **)arg;
    int i;
    for (i = 0; i < 1000; i++) async_call_soon_threadsafe(pf[0]->loop, &pf[1]->calls[i], bump, pf[0]);
    return NULL;
}

struct evwait {
    async_frame frame;
    async_event *ev;
};

static int evwait_fn(async_task *task, void *arg) {
    struct evwait *s = (struct evwait *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_EVENT_WAIT(s->ev);
    ASYNC_END;
}

/* Shutting down in the "wrong" order: the loop is closed while jobs are
 * still on the workers (then the pool is stopped).  async_loop_close waits
 * for them, so no worker writes to a closed wake fd and no result is lost. */
static intptr_t slow_square(void *arg) {
    volatile long spin = 0;
    while (spin < 2000000) spin++;
    return square(arg);
}
struct one_job {
    async_frame frame;
    async_pool *pool;
    async_job job;
};
static int one_job_fn(async_task *task, void *arg) {
    struct one_job *s = (struct one_job *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_TO_THREAD(s->pool, &s->job, slow_square, (void *)(intptr_t)7);
    ASYNC_END;
}
static int quick_fn(async_task *task, void *arg) {
    async_frame *f = (async_frame *)arg;
    ASYNC_BEGIN(task, f);
    ASYNC_END;
}
static int close_with_jobs_in_flight(void) {
    static async_loop loop;
    static async_pool pool;
    static async_task t[5];
    static struct one_job j[4];
    static async_frame q;
    int i, bad = 0;
    async_loop_init(&loop, 0);
    if (async_pool_start(&pool, 2) != ASYNC_OK) return 1;
    for (i = 0; i < 4; i++) {
        j[i].pool = &pool;
        async_spawn(&loop, &t[i], one_job_fn, &j[i]);
    }
    async_spawn(&loop, &t[4], quick_fn, &q);
    if (async_run_until(&loop, &t[4]) != ASYNC_OK) return 1;
    async_loop_close(&loop); /* jobs still out */
    for (i = 0; i < 4; i++) bad += !j[i].job.done || j[i].job.result != 49;
    async_pool_stop(&pool);
    return bad;
}

int main(void) {
    static async_loop loop;
    static async_pool pool;
    static async_task t[11];
    static struct offloader o[10];
    static struct feeder f, g;
    static struct evwait w;
    static async_event ev;
    struct feeder *fa[2] = {&f, &f}, *ga[2] = {&f, &g};
    pthread_t th[2];
    int i, bad = 0;
    async_loop_init(&loop, 0);
    if (async_loop_prepare(&loop) != ASYNC_OK || async_pool_start(&pool, 4) != ASYNC_OK) return 2;
    async_event_init(&ev);
    f.loop = &loop;
    f.ev = w.ev = &ev;
    for (i = 0; i < 10; i++) {
        o[i].pool = &pool;
        async_spawn(&loop, &t[i], offloader_fn, &o[i]);
    }
    async_spawn(&loop, &t[10], evwait_fn, &w);
    async_loop_keepalive(&loop, 1);
    pthread_create(&th[0], NULL, feed, fa);
    pthread_create(&th[1], NULL, feed, ga);
    if (async_run(&loop) != ASYNC_OK) return 3;
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    async_pool_stop(&pool);
    async_loop_close(&loop);
    for (i = 0; i < 10; i++) bad += o[i].bad + (o[i].i != 1000);
    bad += close_with_jobs_in_flight();
    printf("tsan_threads: 10,000 offloaded calls, 2,000 cross-thread calls, a close with "
           "jobs in flight: %s\n", bad || f.count != 2000 ? "WRONG" : "ok");
    return bad || f.count != 2000;
}
