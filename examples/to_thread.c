/* to_thread.c - blocking work on a worker thread while other tasks go on
 * (asyncio.to_thread).
 *
 *   build/to_thread
 *
 * A "checksum" job blocks for 0.45 s (standing in for file I/O, a DNS lookup
 * or number crunching).  Called directly, it would freeze the loop: the
 * ticker would stop.  Handed to a worker with ASYNC_TO_THREAD, the task
 * waits without blocking anything, and the ticker keeps ticking. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>
#include "async.h"
#include "common.h"

static double start; /* times are printed from the program's start */

static intptr_t slow_checksum(void *arg) {
    const char *text = (const char *)arg;
    uintptr_t sum = 0; /* unsigned: the hash may wrap */
    /* Blocking: fine on a worker thread.  0.45 s, between the ticker's
     * fifth and sixth ticks, so their count does not hang on a race. */
    ex_block_ms(450);
    while (*text) sum = sum * 31 + (unsigned char)*text++;
    return (intptr_t)(sum & INTPTR_MAX);
}

struct worker {
    async_frame frame;
    async_pool *pool;
    async_job job;
};

static int worker(async_task *task, void *arg) {
    struct worker *s = (struct worker *)arg;
    ASYNC_BEGIN(task, s);
    printf("%.1f  worker: checksum started on a thread\n", async_time(ASYNC_LOOP()) - start);
    ASYNC_TO_THREAD(s->pool, &s->job, slow_checksum, (void *)"hello, threads");
    printf("%.1f  worker: checksum = %lld\n", async_time(ASYNC_LOOP()) - start, (long long)s->job.result);
    ASYNC_END;
}

struct ticker {
    async_frame frame;
    async_task *watch;
};

static int ticker(async_task *task, void *arg) {
    struct ticker *s = (struct ticker *)arg;
    ASYNC_BEGIN(task, s);
    while (!async_task_done(s->watch)) {
        printf("%.1f  ticker: tick\n", async_time(ASYNC_LOOP()) - start);
        ASYNC_SLEEP(0.1);
    }
    ASYNC_END;
}

int main(void) {
    static async_pool pool;
    static async_task t[2];
    static struct worker w;
    static struct ticker tk;
    async_loop loop;
    int rc;
    if (async_pool_start(&pool, 2) != ASYNC_OK) return 1;
    async_loop_init(&loop, 0);
    start = async_time(&loop);
    w.pool = &pool;
    tk.watch = &t[0];
    async_spawn(&loop, &t[0], worker, &w);
    async_spawn(&loop, &t[1], ticker, &tk);
    rc = async_run(&loop);
    printf("done in %.2f s\n", async_time(&loop) - start);
    async_pool_stop(&pool);
    async_loop_close(&loop);
    return rc == ASYNC_OK ? 0 : 1;
}
