/* Uses every public macro and function once, so the compile matrix proves
 * the header builds warning-free in each language mode and backend.  Built as
 * C and as C++; run once to check it also works. */
#define ASYNC_SHORT_NAMES
#include <stdio.h>
#include <string.h>
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

#ifdef ASYNC_READ /* the I/O section is there (not ASYNC_NO_IO, not Windows) */
/* The I/O macros, compiled (and run far enough to fail cleanly). */
struct io_user {
    async_frame frame;
    async_io io, client;
    async_sock_op op;
    async_job job;
    async_pool *pool;
    char buf[8];
    int rc;
};

static intptr_t twice(void *arg) { return 2 * (intptr_t)arg; }

static int io_user_fn(async_task *task, void *arg) {
    struct io_user *s = (struct io_user *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_TO_THREAD(s->pool, &s->job, twice, (void *)(intptr_t)21);
    s->rc = (int)s->job.result - 42;
    if (async_tcp_socket(ASYNC_LOOP(), &s->io, 2 /* AF_INET */) != ASYNC_OK) ASYNC_RETURN(-1);
    ASYNC_SOCK_CONNECT(&s->op, &s->io, NULL, 0, 0.5); /* fails: no address */
    ASYNC_IO_WAIT(&s->io, ASYNC_READ | ASYNC_WRITE);
    ASYNC_SOCK_RECV(&s->op, &s->io, s->buf, sizeof s->buf);
    ASYNC_SOCK_RECV_EXACTLY(&s->op, &s->io, s->buf, sizeof s->buf);
    ASYNC_SOCK_SENDALL(&s->op, &s->io, s->buf, sizeof s->buf);
    if (0) ASYNC_SOCK_ACCEPT(&s->op, &s->io, &s->client);
    async_io_close(&s->io);
    ASYNC_RETURN(s->rc);
    ASYNC_END;
}

static int io_check(void) {
    static struct io_user u;
    static async_task t;
    static async_pool pool;
    async_loop loop;
    int rc;
    async_loop_init(&loop, 0);
    if (async_pool_start(&pool, 1) != ASYNC_OK) return 1;
    u.pool = &pool;
    async_spawn(&loop, &t, io_user_fn, &u);
    rc = async_run(&loop);
    async_pool_stop(&pool);
    async_step(&loop);
    (void)async_next_deadline(&loop);
    (void)async_backend_fd(&loop);
    async_loop_close(&loop);
    return rc != ASYNC_OK || async_task_result(&t) != 0;
}
#else
static int io_check(void) { return 0; }
#endif

static void count_line(void *ctx, const char *line) {
    (void)line;
    ++*(int *)ctx;
}

/* Introspection, destroy functions and (with ASYNC_TRACE) tracing. */
static int introspect_check(void) {
    static struct leaf l;
    static async_task t;
    static async_queue q;
    static async_event e;
    static async_semaphore sem;
    static async_lock lock;
    static int buf[1];
    char line[128];
    int lines = 0;
    async_loop loop;
    async_loop_init(&loop, ASYNC_VIRTUAL);
#ifdef ASYNC_TRACE
    if (async_trace_start(&loop, "build/compile_all_trace.json") != ASYNC_OK &&
        async_trace_start(&loop, "/tmp/compile_all_trace.json") != ASYNC_OK)
        return 1;
#endif
    if (async_spawn_named(&loop, &t, leaf_fn, &l, "leaf") != ASYNC_OK) return 1;
    async_task_set_name(&t, "leaf");
    async_dump_with(&loop, count_line, &lines);
    if (async_task_describe(&t, line, sizeof line) == 0) return 1;
    if (async_run(&loop) != ASYNC_OK) return 1;
#ifndef ASYNC_NO_INTROSPECTION
    if (lines != 2 || !async_task_name(&t)) return 1;
#endif
#ifdef ASYNC_TRACE
    async_trace_stop(&loop);
#endif
    {
        FILE *f = tmpfile();
        if (!f) return 1;
        async_dump(&loop, f);
        fclose(f);
    }
    async_queue_init(&q, buf, 1, sizeof buf[0]);
    async_queue_destroy(&q);
    async_event_init(&e);
    async_event_destroy(&e);
    async_semaphore_init(&sem, 1);
    async_semaphore_destroy(&sem);
    async_lock_init(&lock);
    async_lock_destroy(&lock);
    async_loop_close(&loop);
    return 0;
}

/* Callbacks, futures, conditions, barriers, asyncio.wait, ASYNC_FOR_EACH,
 * ASYNC_COOPERATE, async_loop_shutdown. */
struct more {
    async_frame frame;
    async_future fut;
    async_lock lock;
    async_condition cond;
    async_barrier bar;
    async_wait ws;
    async_waiter w[1];
    async_task *tasks[1];
    async_task t;
    struct leaf l;
    size_t index;
    int ready;
    async_gather g;
    async_lqueue uq;
    async_qlink *link;
    async_coro coro;
    struct leaf l2;
};

static void noop_cb(async_loop *loop, void *arg) {
    (void)loop;
    ++*(int *)arg;
}

static int more_fn(async_task *task, void *arg) {
    struct more *s = (struct more *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_COOPERATE();
    async_future_set_result(&s->fut, 5);
    ASYNC_FUTURE_AWAIT(&s->fut);
    ASYNC_LOCK_ACQUIRE(&s->lock);
    s->ready = 1;
    ASYNC_COND_WAIT_FOR(&s->cond, s->ready);
    async_condition_notify(&s->cond, 1);
    async_condition_notify_all(&s->cond);
    ASYNC_LOCK_RELEASE(&s->lock);
    ASYNC_BARRIER_WAIT(&s->bar, &s->index);
    async_spawn(ASYNC_LOOP(), &s->t, leaf_fn, &s->l);
    s->tasks[0] = &s->t;
    ASYNC_WAIT_TASKS(&s->ws, s->w, s->tasks, 1, ASYNC_ALL_COMPLETED);
    ASYNC_GATHER_FAIL_FAST(&s->g, s->w, s->tasks, 1, NULL);
    async_coro_init(&s->coro, leaf_fn, &s->l2);
    ASYNC_GATHER_COROS(&s->g, &s->coro, 1, NULL);
    if (ASYNC_TASK_STATE(&s->coro.task, struct leaf)->v != 0) ASYNC_RETURN(-1);
    if (0) {
        ASYNC_LQUEUE_GET(&s->uq, &s->link);
    }
    ASYNC_RETURN(async_future_result(&s->fut) + (ASYNC_STATUS() == ASYNC_OK));
    ASYNC_FINALLY;
    if (0) ASYNC_COND_WAIT(&s->cond);
    ASYNC_END;
}

struct counter {
    async_frame frame;
    int i;
};

static int count_gen(async_task *task, void *arg) {
    struct counter *s = (struct counter *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < 3; s->i++) ASYNC_YIELD_VALUE(s->i);
    ASYNC_END;
}

static int int_cmp(const void *a, const void *b) {
    return *(const int *)a - *(const int *)b;
}

static int more_check(void) {
    static struct more s;
    static async_task t;
    static async_handle h[3];
    static async_done_callback cb[2];
    static int calls; /* static, like the loop: the static handles point at them */
    static async_loop loop;
    struct counter c;
    int sum = 0, v;
    async_loop_init(&loop, ASYNC_VIRTUAL | ASYNC_CLEANUP_ON_DEADLOCK);
    async_future_init(&s.fut, &loop);
    async_lock_init(&s.lock);
    async_condition_init(&s.cond, &s.lock);
    async_barrier_init(&s.bar, 1);
    async_spawn(&loop, &t, more_fn, &s);
    async_future_add_done_callback(&s.fut, &cb[0], noop_cb, &calls);
    async_task_add_done_callback(&t, &cb[1], noop_cb, &calls);
    async_call_soon(&loop, &h[0], noop_cb, &calls);
    async_call_later(&loop, &h[1], 0.5, noop_cb, &calls);
    async_call_at(&loop, &h[2], 10, noop_cb, &calls);
    if (!async_handle_pending(&h[2]) || async_handle_cancel(&h[2]) != 1) return 1;
    if (async_run(&loop) != ASYNC_OK || async_task_result(&t) != 6 || calls != 4) return 2;
    if (async_done_callback_remove(&cb[0]) != 0 || async_future_status(&s.fut) != ASYNC_OK ||
        !async_future_done(&s.fut) || async_future_cancel(&s.fut) != 0 ||
        async_future_set_error(&s.fut, -1) != ASYNC_EINVAL)
        return 3;
    if (async_barrier_waiting(&s.bar) != 0 || async_barrier_broken(&s.bar)) return 4;
    async_barrier_abort(&s.bar);
    async_barrier_reset(&s.bar);
    async_barrier_destroy(&s.bar);
    async_condition_destroy(&s.cond);
    async_future_destroy(&s.fut);
    if (async_loop_shutdown(&loop) != ASYNC_OK) return 5;
    ASYNC_FOR_EACH(v, count_gen, &c) sum += v;
    {
        static int ibuf[2];
        static unsigned char pbuf[ASYNC_PRIORITY_QUEUE_BYTES(2, sizeof(int))];
        async_queue lq, pq;
        async_lqueue uq;
        struct item {
            long payload;
            async_qlink link; /* not first: CONTAINER_OF must subtract */
        } it;
        async_qlink *got = NULL;
        int x = 1;
        if (async_lifo_queue_init(&lq, ibuf, 2, sizeof(int)) != ASYNC_OK ||
            async_priority_queue_init(&pq, pbuf, 2, sizeof(int), int_cmp) != ASYNC_OK ||
            async_lqueue_init(&uq) != ASYNC_OK)
            return 8;
        async_queue_try_put(&pq, &x);
        it.payload = 15;
        async_lqueue_put(&uq, &it.link);
        if (async_lqueue_size(&uq) != 1 || async_lqueue_try_get(&uq, &got) != ASYNC_OK ||
            ASYNC_CONTAINER_OF(got, struct item, link) != &it || it.payload != 15)
            return 9;
        async_lqueue_close(&uq);
        async_lqueue_destroy(&uq);
        async_queue_destroy(&lq);
        async_queue_destroy(&pq);
    }
    if (sum != 3 || strcmp(async_strerror(ASYNC_EBROKEN), "barrier broken") != 0) return 6;
    return 0;
}

int main(void) {
    static struct root r;
    static async_task t;
    async_loop loop;
    int rc = async_loop_init(&loop, ASYNC_VIRTUAL);
    if (introspect_check()) return 6;
    rc |= async_spawn(&loop, &t, root_fn, &r);
    rc |= async_run_until(&loop, &t);
    rc |= async_run(&loop);
    if (rc != ASYNC_OK || async_task_state(&t) != ASYNC_DONE || !async_task_done(&t)) return 1;
    if (async_task_result(&t) != 2 + 1 + 2 + 1 || async_loop_pending(&loop) != 0) return 2;
    if (async_cancel(&t) != 0 || async_time(&loop) <= 0 || !async_strerror(rc)) return 3;
    if (io_check()) return 5;
    if (more_check()) return 7;
    return async_main(leaf_fn, &r.child, ASYNC_VIRTUAL) == ASYNC_OK ? 0 : 4;
}
