/* Queues, events, semaphores and locks, on the virtual clock. */
#include "helpers.h"

static async_loop loop;
static test_log lg;

static void vinit(void) { virtual_start(&loop, &lg); }

/* ---- queue ------------------------------------------------------------------- */

typedef struct {
    async_frame frame;
    async_queue *q;
    test_log *log;
    int id, i, n, item;
    int64_t pause_ns;    /* between operations */
    int status;          /* the last ASYNC_STATUS() */
    unsigned char *seen; /* consumers: seen[item]++ */
} qworker;

/* Puts id*10000 + i for i < n, logging (id, item, time) after each put. */
static int producer_fn(async_task *task, void *arg) {
    qworker *s = (qworker *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < s->n; s->i++) {
        s->item = s->id * 10000 + s->i;
        ASYNC_QUEUE_PUT(s->q, &s->item);
        s->status = ASYNC_STATUS();
        if (s->status != ASYNC_OK) break;
        if (s->log) log_add(s->log, s->id, s->item, ASYNC_NOW());
        if (s->pause_ns) ASYNC_SLEEP_NS(s->pause_ns);
    }
    ASYNC_END;
}

/* Gets until the queue is closed (or n items), logging (id, item, time). */
static int consumer_fn(async_task *task, void *arg) {
    qworker *s = (qworker *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->n == 0 || s->i < s->n; s->i++) {
        ASYNC_QUEUE_GET(s->q, &s->item);
        s->status = ASYNC_STATUS();
        if (s->status != ASYNC_OK) break;
        if (s->log) log_add(s->log, s->id, s->item, ASYNC_NOW());
        if (s->seen) s->seen[s->item]++;
        async_queue_task_done(s->q);
        if (s->pause_ns) ASYNC_SLEEP_NS(s->pause_ns);
    }
    ASYNC_END;
}

Test(queue, fifo_order_and_try_codes) {
    static int buf[4];
    static async_queue q;
    int v, i;
    cr_assert_eq(async_queue_init(&q, buf, 0, sizeof(int)), ASYNC_EINVAL);
    cr_assert_eq(async_queue_init(&q, buf, 4, sizeof(int)), ASYNC_OK);
    cr_assert_eq(async_queue_try_get(&q, &v), ASYNC_EAGAIN);
    for (i = 0; i < 4; i++) cr_assert_eq(async_queue_try_put(&q, &i), ASYNC_OK);
    cr_assert_eq(async_queue_try_put(&q, &i), ASYNC_EAGAIN, "full");
    cr_assert_eq(async_queue_size(&q), 4);
    for (i = 0; i < 4; i++) {
        cr_assert_eq(async_queue_try_get(&q, &v), ASYNC_OK);
        cr_assert_eq(v, i);
    }
    i = 7;
    async_queue_try_put(&q, &i); /* wraps around the ring */
    async_queue_close(&q);
    cr_assert_eq(async_queue_try_put(&q, &i), ASYNC_ECLOSED);
    cr_assert_eq(async_queue_try_get(&q, &v), ASYNC_OK, "closed queues drain");
    cr_assert_eq(v, 7);
    cr_assert_eq(async_queue_try_get(&q, &v), ASYNC_ECLOSED);
}

Test(queue, put_waits_while_full_and_resumes_on_get) {
    static int buf[2];
    static async_queue q;
    static async_task t[2];
    static qworker p, c;
    vinit();
    async_queue_init(&q, buf, 2, sizeof(int));
    p.q = c.q = &q;
    p.log = &lg;
    p.n = 5;
    c.id = 1;
    c.n = 5;
    c.pause_ns = 10 * MS; /* a slow consumer */
    async_spawn(&loop, &t[0], producer_fn, &p);
    async_spawn(&loop, &t[1], consumer_fn, &c);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    /* puts 0 and 1 fit at once; the consumer takes 0 at t=0, so 2 fits;
     * then each put waits for a get, 10 ms apart */
    cr_assert_eq(lg.n, 5);
    cr_assert_eq(lg.when[0], 0);
    cr_assert_eq(lg.when[1], 0);
    cr_assert_eq(lg.when[2], 0);
    cr_assert_eq(lg.when[3], 10 * MS);
    cr_assert_eq(lg.when[4], 20 * MS);
    cr_assert_eq(c.status, ASYNC_OK);
}

Test(queue, close_drains_then_ends_every_consumer) {
    static int buf[8];
    static async_queue q;
    static async_task t[4];
    static qworker p, c[3];
    int i, total = 0;
    vinit();
    async_queue_init(&q, buf, 8, sizeof(int));
    p.q = &q;
    p.n = 6;
    async_spawn(&loop, &t[0], producer_fn, &p);
    for (i = 0; i < 3; i++) {
        c[i].q = &q;
        c[i].id = i;
        c[i].log = &lg;
        c[i].pause_ns = 1 * MS;
        async_spawn(&loop, &t[i + 1], consumer_fn, &c[i]);
    }
    cr_assert_eq(async_run_until(&loop, &t[0]), ASYNC_OK);
    async_queue_close(&q);
    cr_assert_eq(async_run(&loop), ASYNC_OK, "no consumer hangs");
    for (i = 0; i < 3; i++) {
        cr_assert_eq(c[i].status, ASYNC_ECLOSED);
        total += c[i].i;
    }
    cr_assert_eq(total, 6, "every item was consumed before the end");
    cr_assert_eq(lg.n, 6);
}

Test(queue, ten_producers_ten_consumers_every_item_exactly_once, .timeout = 60) {
    enum { P = 10, C = 10, N = 10000 };
    static int buf[64];
    static async_queue q;
    static async_task t[P + C];
    static qworker w[P + C];
    static unsigned char seen[P * N];
    static async_loop rl;
    long got = 0;
    int i;
    async_loop_init(&rl, ASYNC_VIRTUAL);
    async_queue_init(&q, buf, 64, sizeof(int));
    for (i = 0; i < P + C; i++) {
        w[i].q = &q;
        w[i].id = i;
        w[i].n = i < P ? N : 0;
        w[i].seen = i < P ? NULL : seen;
        w[i].pause_ns = (int64_t)(i % 3); /* uneven speeds */
        async_spawn(&rl, &t[i], i < P ? producer_fn : consumer_fn, &w[i]);
    }
    for (i = 0; i < P; i++) cr_assert_eq(async_run_until(&rl, &t[i]), ASYNC_OK);
    async_queue_close(&q);
    cr_assert_eq(async_run(&rl), ASYNC_OK);
    for (i = 0; i < P * N; i++) cr_assert_eq(seen[i], 1, "item %d seen %d times", i, seen[i]);
    for (i = P; i < P + C; i++) {
        got += w[i].i;
        cr_assert_eq(w[i].status, ASYNC_ECLOSED);
        cr_assert_gt(w[i].i, 0, "consumer %d starved", i);
    }
    cr_assert_eq(got, (long)P * N);
    cr_assert_eq(q.unfinished, 0);
}

Test(queue, a_cancelled_getter_loses_no_item) {
    static int buf[4];
    static async_queue q;
    static async_task t[2];
    static qworker g[2];
    int v = 42, out = 0;
    vinit();
    async_queue_init(&q, buf, 4, sizeof(int));
    for (v = 0; v < 2; v++) {
        g[v].q = &q;
        g[v].id = v;
        g[v].n = 1;
        g[v].log = &lg;
        async_spawn(&loop, &t[v], consumer_fn, &g[v]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK, "both getters wait");
    v = 42;
    cr_assert_eq(async_queue_try_put(&q, &v), ASYNC_OK); /* handed to getter 0 */
    cr_assert_eq(async_cancel(&t[0]), 1);                /* before it runs */
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_state(&t[0]), ASYNC_CANCELLED);
    cr_assert_eq(lg.n, 1);
    cr_assert_eq(lg.who[0], 1, "the item went on to the next getter");
    cr_assert_eq(lg.what[0], 42);
    /* and with nobody else waiting, it stays in the queue */
    async_spawn(&loop, &t[0], consumer_fn, &g[0]);
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK);
    v = 43;
    async_queue_try_put(&q, &v);
    async_cancel(&t[0]);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_queue_try_get(&q, &out), ASYNC_OK);
    cr_assert_eq(out, 43);
}

Test(queue, waiting_getters_are_served_in_arrival_order_without_barging) {
    static int buf[4];
    static async_queue q;
    static async_task t[3];
    static qworker g[3];
    int i, v;
    vinit();
    async_queue_init(&q, buf, 4, sizeof(int));
    for (i = 0; i < 3; i++) {
        g[i].q = &q;
        g[i].id = i;
        g[i].n = 1;
        g[i].log = &lg;
        async_spawn(&loop, &t[i], consumer_fn, &g[i]);
    }
    async_run(&loop);
    for (i = 0; i < 3; i++) {
        v = 100 + i;
        async_queue_try_put(&q, &v);
    }
    cr_assert_eq(async_queue_try_get(&q, &v), ASYNC_EAGAIN, "items are held for the waiters");
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    for (i = 0; i < 3; i++) {
        cr_assert_eq(lg.who[i], i);
        cr_assert_eq(lg.what[i], 100 + i);
    }
}

typedef struct {
    async_frame frame;
    async_queue *q;
    int n;
} joiner;
static int joiner_fn(async_task *task, void *arg) {
    joiner *s = (joiner *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_QUEUE_JOIN(s->q);
    s->n = (int)ASYNC_NOW();
    ASYNC_END;
}

Test(queue, join_waits_for_task_done_on_every_item) {
    static int buf[8];
    static async_queue q;
    static async_task t[3];
    static qworker p, c;
    static joiner j;
    vinit();
    async_queue_init(&q, buf, 8, sizeof(int));
    p.q = c.q = j.q = &q;
    p.n = 4;
    c.n = 4;
    c.pause_ns = 5 * MS; /* task_done comes 5 ms after each get... */
    async_spawn(&loop, &t[0], producer_fn, &p);
    async_spawn(&loop, &t[1], consumer_fn, &c);
    async_spawn(&loop, &t[2], joiner_fn, &j);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    /* ...and before the sleep, so the 4th task_done happens at 15 ms */
    cr_assert_eq(j.n, 15 * (int)MS);
}

/* ---- events -------------------------------------------------------------------- */

typedef struct {
    async_frame frame;
    async_event *e;
    test_log *log;
    int id, status;
} ewaiter;
static int ewaiter_fn(async_task *task, void *arg) {
    ewaiter *s = (ewaiter *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_EVENT_WAIT(s->e);
    s->status = ASYNC_STATUS();
    log_add(s->log, s->id, 0, ASYNC_NOW());
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_event *e;
    int64_t at;
    int clear_after;
} esetter;
static int esetter_fn(async_task *task, void *arg) {
    esetter *s = (esetter *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_NS(s->at);
    async_event_set(s->e);
    if (s->clear_after) async_event_clear(s->e);
    ASYNC_END;
}

Test(event, set_wakes_every_waiter_even_if_cleared_at_once) {
    static async_event e;
    static async_task t[5];
    static ewaiter w[4];
    static esetter st;
    int i;
    vinit();
    async_event_init(&e);
    for (i = 0; i < 4; i++) {
        w[i].e = &e;
        w[i].log = &lg;
        w[i].id = i;
        async_spawn(&loop, &t[i], ewaiter_fn, &w[i]);
    }
    st.e = &e;
    st.at = 7 * MS;
    st.clear_after = 1;
    async_spawn(&loop, &t[4], esetter_fn, &st);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(lg.n, 4);
    for (i = 0; i < 4; i++) {
        cr_assert_eq(lg.who[i], i);
        cr_assert_eq(lg.when[i], 7 * MS);
        cr_assert_eq(w[i].status, ASYNC_OK);
    }
    cr_assert_not(async_event_is_set(&e));
    /* a set event lets waiters through at once */
    async_event_set(&e);
    lg.n = 0;
    async_spawn(&loop, &t[0], ewaiter_fn, &w[0]);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(lg.n, 1);
}

/* ---- semaphores and locks ------------------------------------------------------ */

typedef struct {
    async_frame frame;
    async_semaphore *sem;
    async_lock *lock;
    test_log *log;
    int *inside, *max_inside;
    int id, status;
    int64_t hold_ns;
} holder;
static int holder_fn(async_task *task, void *arg) {
    holder *s = (holder *)arg;
    ASYNC_BEGIN(task, s);
    if (s->sem)
        ASYNC_SEM_ACQUIRE(s->sem);
    else
        ASYNC_LOCK_ACQUIRE(s->lock);
    s->status = ASYNC_STATUS();
    if (s->status != ASYNC_OK) ASYNC_RETURN(0);
    log_add(s->log, s->id, 0, ASYNC_NOW());
    if (++*s->inside > *s->max_inside) *s->max_inside = *s->inside;
    ASYNC_SLEEP_NS(s->hold_ns);
    --*s->inside;
    if (s->sem)
        async_semaphore_release(s->sem);
    else
        ASYNC_LOCK_RELEASE(s->lock);
    ASYNC_END;
}

Test(semaphore, admits_at_most_n_in_fifo_order) {
    static async_semaphore sem;
    static async_task t[7];
    static holder h[7];
    static int inside, max_inside;
    int i;
    vinit();
    cr_assert_eq(async_semaphore_init(&sem, -1), ASYNC_EINVAL);
    async_semaphore_init(&sem, 3);
    for (i = 0; i < 7; i++) {
        h[i].sem = &sem;
        h[i].log = &lg;
        h[i].inside = &inside;
        h[i].max_inside = &max_inside;
        h[i].id = i;
        h[i].hold_ns = (int64_t)(7 - i) * MS;
        async_spawn(&loop, &t[i], holder_fn, &h[i]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(max_inside, 3);
    for (i = 0; i < 7; i++) cr_assert_eq(lg.who[i], i, "admission %d went to %d", i, lg.who[i]);
    cr_assert_eq(sem.value, 3, "every permit came back");
}

Test(semaphore, a_release_goes_to_the_waiter_not_a_newcomer) {
    static async_semaphore sem;
    static async_task t[2];
    static holder h[2];
    static int inside, max_inside;
    int i;
    vinit();
    async_semaphore_init(&sem, 1);
    cr_assert_eq(async_semaphore_try_acquire(&sem), ASYNC_OK);
    for (i = 0; i < 2; i++) {
        h[i].sem = &sem;
        h[i].log = &lg;
        h[i].inside = &inside;
        h[i].max_inside = &max_inside;
        h[i].id = i;
        async_spawn(&loop, &t[i], holder_fn, &h[i]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK);
    async_semaphore_release(&sem);
    cr_assert_eq(async_semaphore_try_acquire(&sem), ASYNC_EAGAIN, "no barging");
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(lg.who[0], 0);
    cr_assert_eq(lg.who[1], 1);
}

Test(lock, is_fair_and_exclusive) {
    static async_lock lock;
    static async_task t[5];
    static holder h[5];
    static int inside, max_inside;
    int i;
    vinit();
    async_lock_init(&lock);
    for (i = 0; i < 5; i++) {
        h[i].lock = &lock;
        h[i].log = &lg;
        h[i].inside = &inside;
        h[i].max_inside = &max_inside;
        h[i].id = i;
        h[i].hold_ns = 2 * MS;
        async_spawn(&loop, &t[i], holder_fn, &h[i]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(max_inside, 1);
    for (i = 0; i < 5; i++) {
        cr_assert_eq(lg.who[i], i);
        cr_assert_eq(lg.when[i], (uint64_t)i * 2 * MS);
    }
    cr_assert_not(async_lock_locked(&lock));
}

/* Holder 0 releases at 5 ms and the lock is granted to waiter 1; the
 * canceller, due at the same instant but started later, cancels waiter 1
 * before it runs.  Waiter 1 must hand the lock on to waiter 2. */
Test(lock, a_waiter_cancelled_after_the_grant_passes_the_lock_on) {
    static async_lock lock;
    static async_task t[4];
    static holder h[3];
    static canceller c;
    static int inside, max_inside;
    int i;
    vinit();
    async_lock_init(&lock);
    for (i = 0; i < 3; i++) {
        h[i].lock = &lock;
        h[i].log = &lg;
        h[i].inside = &inside;
        h[i].max_inside = &max_inside;
        h[i].id = i;
        h[i].hold_ns = 5 * MS;
        async_spawn(&loop, &t[i], holder_fn, &h[i]);
    }
    c.victim = &t[1];
    c.after_ns = 5 * MS;
    async_spawn(&loop, &t[3], canceller_fn, &c);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_state(&t[1]), ASYNC_CANCELLED);
    cr_assert_eq(lg.n, 2);
    cr_assert_eq(lg.who[1], 2);
    cr_assert_eq(lg.when[1], 5 * MS);
    cr_assert_not(async_lock_locked(&lock));
    cr_assert_eq(max_inside, 1);
}
