/* More of asyncio (issue 12, part B): loop callbacks with handles, futures
 * and done callbacks, conditions, barriers, asyncio.wait, and generators
 * driven without a loop.  Virtual time: every time asserted is exact. */
#include "helpers.h" /* first: it sets the feature macros */
#include <pthread.h>
#include <unistd.h>

/* ---- loop callbacks ------------------------------------------------------------ */

static struct {
    int order[32];
    uint64_t when[32];
    int n;
} calls;

static void note_call(async_loop *loop, void *arg) {
    calls.when[calls.n] = async_now(loop);
    calls.order[calls.n++] = (int)(intptr_t)arg;
}

typedef struct {
    async_frame frame;
    async_handle h[3];
    int steps;
} scheduler_state;

/* Schedules two callbacks, yields, and notes when it runs again. */
static int scheduler(async_task *task, void *arg) {
    scheduler_state *s = (scheduler_state *)arg;
    ASYNC_BEGIN(task, s);
    async_call_soon(ASYNC_LOOP(), &s->h[0], note_call, (void *)(intptr_t)1);
    async_call_soon(ASYNC_LOOP(), &s->h[1], note_call, (void *)(intptr_t)2);
    ASYNC_YIELD();
    calls.order[calls.n++] = 100; /* the task after the callbacks */
    ASYNC_END;
}

Test(callbacks, call_soon_runs_on_the_next_pass_in_order) {
    async_loop loop;
    async_task t;
    scheduler_state s;
    memset(&calls, 0, sizeof calls);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn(&loop, &t, scheduler, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(calls.n, 3);
    cr_assert(calls.order[0] == 1 && calls.order[1] == 2 && calls.order[2] == 100,
              "callbacks in scheduling order, before the task's next step: %d %d %d",
              calls.order[0], calls.order[1], calls.order[2]);
}

Test(callbacks, call_later_and_call_at_fire_at_their_time_and_async_run_waits_for_them) {
    async_loop loop;
    async_handle a, b, c;
    memset(&calls, 0, sizeof calls);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    cr_assert_eq(async_call_later(&loop, &a, 2.0, note_call, (void *)(intptr_t)1), ASYNC_OK);
    cr_assert_eq(async_call_at(&loop, &b, 1 * SEC, note_call, (void *)(intptr_t)2), ASYNC_OK);
    cr_assert_eq(async_call_later(&loop, &c, 3.0, note_call, (void *)(intptr_t)3), ASYNC_OK);
    cr_assert(async_handle_pending(&c));
    cr_assert_eq(async_handle_cancel(&c), 1);
    cr_assert_eq(async_handle_cancel(&c), 0, "cancelled already");
    cr_assert(!async_handle_pending(&c));
    cr_assert_eq(async_run(&loop), ASYNC_OK, "no task at all: the run waits for the callbacks");
    cr_assert_eq(calls.n, 2, "the cancelled one never ran");
    cr_assert(calls.order[0] == 2 && calls.when[0] == 1 * SEC);
    cr_assert(calls.order[1] == 1 && calls.when[1] == 2 * SEC);
    cr_assert_eq(async_handle_cancel(&a), 0, "it has run");
}

/* A periodic callback reschedules its own handle and spawns a task. */
static struct {
    async_handle h;
    async_task t;
    sleeper s;
    test_log log;
    int ticks;
} periodic;

static void tick(async_loop *loop, void *arg) {
    (void)arg;
    if (++periodic.ticks == 2) {
        periodic.s.log = &periodic.log;
        periodic.s.id = 7;
        periodic.s.ns = (int64_t)(SEC / 2);
        async_spawn(loop, &periodic.t, sleeper_fn, &periodic.s);
    }
    if (periodic.ticks < 4) async_call_later(loop, &periodic.h, 1.0, tick, NULL);
}

Test(callbacks, a_callback_may_reschedule_itself_and_spawn) {
    async_loop loop;
    memset(&periodic, 0, sizeof periodic);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_call_later(&loop, &periodic.h, 1.0, tick, NULL);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(periodic.ticks, 4);
    cr_assert_eq(async_now(&loop), 4 * SEC);
    cr_assert_eq(periodic.log.n, 2);
    cr_assert(periodic.log.when[0] == 2 * SEC && periodic.log.when[1] == 2 * SEC + SEC / 2);
}

/* ---- futures --------------------------------------------------------------------- */

typedef struct {
    async_frame frame;
    async_future *f;
    int status;
    intptr_t value;
    uint64_t when;
} awaiter_state;

static int awaiter(async_task *task, void *arg) {
    awaiter_state *s = (awaiter_state *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_FUTURE_AWAIT(s->f);
    s->status = ASYNC_STATUS();
    s->value = async_future_result(s->f);
    s->when = ASYNC_NOW();
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_future *f;
    int how; /* 0 result, 1 error, 2 cancel */
} setter_state;

static int setter(async_task *task, void *arg) {
    setter_state *s = (setter_state *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP(1.0);
    if (s->how == 0) cr_assert_eq(async_future_set_result(s->f, 42), ASYNC_OK);
    if (s->how == 1) cr_assert_eq(async_future_set_error(s->f, -ECONNRESET), ASYNC_OK);
    if (s->how == 2) cr_assert_eq(async_future_cancel(s->f), 1);
    ASYNC_END;
}

static void run_future_case(int how, int expect_status, intptr_t expect_value) {
    async_loop loop;
    async_future f;
    async_task ta[2], ts;
    awaiter_state a[2];
    setter_state st;
    int i;
    memset(a, 0, sizeof a);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_future_init(&f, &loop);
    for (i = 0; i < 2; i++) {
        a[i].f = &f;
        async_spawn(&loop, &ta[i], awaiter, &a[i]);
    }
    st.f = &f;
    st.how = how;
    async_spawn(&loop, &ts, setter, &st);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    for (i = 0; i < 2; i++) {
        cr_assert_eq(a[i].status, expect_status, "awaiter %d: %d", i, a[i].status);
        cr_assert_eq(a[i].value, expect_value);
        cr_assert_eq(a[i].when, 1 * SEC);
    }
    cr_assert(async_future_done(&f));
    cr_assert_eq(async_future_status(&f), expect_status);
    cr_assert_eq(async_future_set_result(&f, 1), ASYNC_EINVAL, "done already");
    cr_assert_eq(async_future_cancel(&f), 0);
    async_future_destroy(&f);
}

Test(future, a_result_wakes_every_awaiter) { run_future_case(0, ASYNC_OK, 42); }
Test(future, an_error_is_every_awaiters_status) { run_future_case(1, -ECONNRESET, 0); }
Test(future, a_cancelled_future_reports_ecanceled) { run_future_case(2, ASYNC_ECANCELED, 0); }

typedef struct {
    async_frame frame;
    async_future *f;
    async_timeout tmo;
    int status;
} patient_state;

static int impatient(async_task *task, void *arg) {
    patient_state *s = (patient_state *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_WITH_TIMEOUT(&s->tmo, 0.5, ASYNC_FUTURE_AWAIT(s->f));
    s->status = ASYNC_STATUS();
    ASYNC_END;
}

Test(future, a_timeout_leaves_the_future_pending_for_the_others) {
    async_loop loop;
    async_future f;
    async_task t1, t2, ts;
    patient_state p;
    awaiter_state a;
    setter_state st;
    memset(&st, 0, sizeof st);
    memset(&p, 0, sizeof p);
    memset(&a, 0, sizeof a);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_future_init(&f, &loop);
    p.f = a.f = st.f = &f;
    async_spawn(&loop, &t1, impatient, &p);
    async_spawn(&loop, &t2, awaiter, &a);
    async_spawn(&loop, &ts, setter, &st);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(p.status, ASYNC_ETIMEDOUT);
    cr_assert(a.status == ASYNC_OK && a.value == 42 && a.when == 1 * SEC);
}

#ifdef ASYNC_READ /* with I/O: threads and call_soon_threadsafe */
static void *complete_from_a_thread(void *arg) {
    sleep_ms(20);
    async_future_set_result_threadsafe((async_future *)arg, 99);
    return NULL;
}

Test(future, another_thread_completes_it, .timeout = 10) {
    async_loop loop;
    async_future f;
    async_task t;
    awaiter_state a;
    pthread_t th;
    memset(&a, 0, sizeof a);
    async_loop_init(&loop, 0);
    cr_assert_eq(async_loop_prepare(&loop), ASYNC_OK);
    async_future_init(&f, &loop);
    a.f = &f;
    async_spawn(&loop, &t, awaiter, &a);
    async_loop_keepalive(&loop, +1); /* the thread will call in */
    cr_assert_eq(pthread_create(&th, NULL, complete_from_a_thread, &f), 0);
    cr_assert_eq(async_run_until(&loop, &t), ASYNC_OK);
    async_loop_keepalive(&loop, -1);
    pthread_join(th, NULL);
    cr_assert(a.status == ASYNC_OK && a.value == 99);
    async_loop_close(&loop);
}
#endif

/* Done callbacks: after completion, on the next pass, in the order added. */
static void note_done(async_loop *loop, void *arg) {
    calls.when[calls.n] = async_now(loop);
    calls.order[calls.n++] = (int)(intptr_t)arg;
}

Test(future, done_callbacks_run_once_it_is_done_and_can_be_removed) {
    async_loop loop;
    async_future f;
    async_done_callback cb[4];
    async_task ts;
    setter_state st;
    memset(&calls, 0, sizeof calls);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_future_init(&f, &loop);
    async_future_add_done_callback(&f, &cb[0], note_done, (void *)(intptr_t)1);
    async_future_add_done_callback(&f, &cb[1], note_done, (void *)(intptr_t)2);
    async_future_add_done_callback(&f, &cb[2], note_done, (void *)(intptr_t)3);
    cr_assert_eq(async_done_callback_remove(&cb[1]), 1);
    st.f = &f;
    st.how = 0;
    async_spawn(&loop, &ts, setter, &st);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(calls.n, 2);
    cr_assert(calls.order[0] == 1 && calls.order[1] == 3 && calls.when[1] == 1 * SEC);
    cr_assert_eq(async_done_callback_remove(&cb[0]), 0, "it has run");
    /* added to a done future: runs at the next pass */
    async_future_add_done_callback(&f, &cb[3], note_done, (void *)(intptr_t)4);
    cr_assert_eq(calls.n, 2, "not inside the call");
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert(calls.n == 3 && calls.order[2] == 4);
}

Test(future, a_task_takes_done_callbacks_too) {
    async_loop loop;
    async_task t;
    sleeper s;
    test_log log;
    async_done_callback cb;
    memset(&calls, 0, sizeof calls);
    virtual_start(&loop, &log);
    s.log = &log;
    s.id = 1;
    s.ns = (int64_t)(3 * SEC);
    async_spawn(&loop, &t, sleeper_fn, &s);
    async_task_add_done_callback(&t, &cb, note_done, (void *)(intptr_t)5);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert(calls.n == 1 && calls.order[0] == 5 && calls.when[0] == 3 * SEC);
}

/* ---- conditions ------------------------------------------------------------------ */

static struct {
    async_lock lock;
    async_condition cond;
    int items, taken[8], ntaken, held_in_cleanup;
} shop;

typedef struct {
    async_frame frame;
    int id, status;
    double patience;
    async_timeout tmo;
} buyer_state;

/* Waits (under the lock) until an item is there, and takes it. */
static int buyer(async_task *task, void *arg) {
    buyer_state *s = (buyer_state *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_LOCK_ACQUIRE(&shop.lock);
    if (s->patience > 0) {
        ASYNC_WITH_TIMEOUT(&s->tmo, s->patience, ASYNC_COND_WAIT_FOR(&shop.cond, shop.items > 0));
    } else {
        ASYNC_COND_WAIT_FOR(&shop.cond, shop.items > 0);
    }
    s->status = ASYNC_STATUS();
    cr_assert_eq(shop.lock.owner, task, "the lock is held again after the wait");
    if (s->status == ASYNC_OK) {
        shop.items--;
        shop.taken[shop.ntaken++] = s->id;
    }
    ASYNC_FINALLY;
    if (ASYNC_CANCELLED()) shop.held_in_cleanup = shop.lock.owner == task;
    ASYNC_LOCK_RELEASE(&shop.lock);
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    int all;
} stocker_state;

static int stocker(async_task *task, void *arg) {
    stocker_state *s = (stocker_state *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP(1.0);
    ASYNC_LOCK_ACQUIRE(&shop.lock);
    shop.items += s->all ? 3 : 1;
    if (s->all)
        async_condition_notify_all(&shop.cond);
    else
        async_condition_notify(&shop.cond, 1);
    ASYNC_LOCK_RELEASE(&shop.lock);
    ASYNC_SLEEP(1.0);
    ASYNC_LOCK_ACQUIRE(&shop.lock);
    shop.items += 1;
    async_condition_notify(&shop.cond, 1);
    ASYNC_LOCK_RELEASE(&shop.lock);
    ASYNC_END;
}

static void shop_open(async_loop *loop) {
    memset(&shop, 0, sizeof shop);
    async_loop_init(loop, ASYNC_VIRTUAL);
    async_lock_init(&shop.lock);
    async_condition_init(&shop.cond, &shop.lock);
}

Test(condition, notify_one_wakes_the_longest_waiter_with_the_lock) {
    async_loop loop;
    async_task tb[3], ts;
    buyer_state b[3];
    stocker_state st;
    int i;
    memset(&st, 0, sizeof st);
    shop_open(&loop);
    memset(b, 0, sizeof b);
    for (i = 0; i < 3; i++) {
        b[i].id = i + 1;
        async_spawn(&loop, &tb[i], buyer, &b[i]);
    }
    async_spawn(&loop, &ts, stocker, &st);
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK, "one buyer is left waiting");
    cr_assert_eq(shop.ntaken, 2);
    cr_assert(shop.taken[0] == 1 && shop.taken[1] == 2, "FIFO: %d %d", shop.taken[0],
              shop.taken[1]);
    cr_assert_eq(async_loop_shutdown(&loop), ASYNC_OK);
    cr_assert(shop.held_in_cleanup, "a cancelled waiter runs its cleanup holding the lock");
    cr_assert(!async_lock_locked(&shop.lock));
}

Test(condition, notify_all_wakes_everyone_and_the_predicate_is_rechecked) {
    async_loop loop;
    async_task tb[4], ts;
    buyer_state b[4];
    stocker_state st;
    int i;
    memset(&st, 0, sizeof st);
    st.all = 1;
    shop_open(&loop);
    memset(b, 0, sizeof b);
    for (i = 0; i < 4; i++) {
        b[i].id = i + 1;
        async_spawn(&loop, &tb[i], buyer, &b[i]);
    }
    async_spawn(&loop, &ts, stocker, &st);
    cr_assert_eq(async_run(&loop), ASYNC_OK, "3 items at 1 s, the 4th at 2 s");
    cr_assert_eq(shop.ntaken, 4);
    for (i = 0; i < 4; i++) cr_assert_eq(shop.taken[i], i + 1, "in arrival order");
    async_condition_destroy(&shop.cond);
}

Test(condition, a_timeout_returns_with_the_lock_held) {
    async_loop loop;
    async_task tb;
    buyer_state b;
    shop_open(&loop);
    memset(&b, 0, sizeof b);
    b.patience = 0.5;
    async_spawn(&loop, &tb, buyer, &b);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(b.status, ASYNC_ETIMEDOUT);
    cr_assert_eq(async_now(&loop), SEC / 2);
    cr_assert(!async_lock_locked(&shop.lock), "released by the buyer after the wait");
}

/* ---- barriers -------------------------------------------------------------------- */

typedef struct {
    async_frame frame;
    async_barrier *b;
    double delay;
    size_t index[2];
    int status[2];
    uint64_t when[2];
    int rounds;
} party_state;

static int party(async_task *task, void *arg) {
    party_state *s = (party_state *)arg;
    ASYNC_BEGIN(task, s);
    for (s->rounds = 0; s->rounds < 2; s->rounds++) {
        ASYNC_SLEEP(s->delay);
        ASYNC_BARRIER_WAIT(s->b, &s->index[s->rounds]);
        s->status[s->rounds] = ASYNC_STATUS();
        s->when[s->rounds] = ASYNC_NOW();
        if (ASYNC_STATUS() != ASYNC_OK) break;
    }
    ASYNC_END;
}

Test(barrier, everybody_passes_together_round_after_round) {
    async_loop loop;
    async_barrier b;
    async_task t[3];
    party_state p[3];
    int i, seen = 0;
    memset(p, 0, sizeof p);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    cr_assert_eq(async_barrier_init(&b, 3), ASYNC_OK);
    cr_assert_eq(async_barrier_init(&b, 0), ASYNC_EINVAL);
    async_barrier_init(&b, 3);
    for (i = 0; i < 3; i++) {
        p[i].b = &b;
        p[i].delay = (double)(i + 1);
        async_spawn(&loop, &t[i], party, &p[i]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    for (i = 0; i < 3; i++) {
        cr_assert(p[i].status[0] == ASYNC_OK && p[i].status[1] == ASYNC_OK);
        cr_assert_eq(p[i].when[0], 3 * SEC, "round 1 ends with the last arrival");
        cr_assert_eq(p[i].when[1], 6 * SEC, "round 2: 3 s after round 1");
        cr_assert_eq(p[i].index[0], (size_t)i, "arrival order");
        seen |= 1 << p[i].index[1];
    }
    cr_assert_eq(seen, 7, "indexes 0..2 in round 2 too");
    async_barrier_destroy(&b);
}

typedef struct {
    async_frame frame;
    async_barrier *b;
    int reset;
} breaker_state;

static int breaker(async_task *task, void *arg) {
    breaker_state *s = (breaker_state *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP(1.5);
    if (s->reset)
        async_barrier_reset(s->b);
    else
        async_barrier_abort(s->b);
    ASYNC_END;
}

Test(barrier, abort_breaks_it_for_waiters_and_later_waits) {
    async_loop loop;
    async_barrier b;
    async_task t[2], tb;
    party_state p[2];
    breaker_state br;
    int i;
    memset(p, 0, sizeof p);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_barrier_init(&b, 3);
    for (i = 0; i < 2; i++) {
        p[i].b = &b;
        p[i].delay = 1.0 + i; /* arrive at 1 s and 2 s; the abort is at 1.5 s */
        async_spawn(&loop, &t[i], party, &p[i]);
    }
    br.b = &b;
    br.reset = 0;
    async_spawn(&loop, &tb, breaker, &br);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert(p[0].status[0] == ASYNC_EBROKEN && p[0].when[0] == SEC + SEC / 2, "woken by it");
    cr_assert(p[1].status[0] == ASYNC_EBROKEN && p[1].when[0] == 2 * SEC, "at once");
    cr_assert(async_barrier_broken(&b));
}

Test(barrier, reset_wakes_the_waiters_and_leaves_it_usable) {
    async_loop loop;
    async_barrier b;
    async_task t[3], tb;
    party_state p[3];
    breaker_state br;
    memset(p, 0, sizeof p);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_barrier_init(&b, 2);
    p[0].b = p[1].b = &b;
    p[0].delay = 1.0; /* waits alone until the reset at 1.5 s */
    p[1].delay = 2.0;
    async_spawn(&loop, &t[0], party, &p[0]);
    br.b = &b;
    br.reset = 1;
    async_spawn(&loop, &tb, breaker, &br);
    async_spawn(&loop, &t[1], party, &p[1]);
    p[2].b = &b;
    p[2].delay = 2.0;
    async_spawn(&loop, &t[2], party, &p[2]);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(p[0].status[0], ASYNC_EBROKEN);
    cr_assert(p[1].status[0] == ASYNC_OK && p[2].status[0] == ASYNC_OK && p[1].when[0] == 2 * SEC,
              "after the reset the barrier works");
    cr_assert(!async_barrier_broken(&b));
}

/* ---- asyncio.wait ------------------------------------------------------------------ */

typedef struct {
    async_frame frame;
    double after;
    intptr_t value;
} worker_state;

static int worker(async_task *task, void *arg) {
    worker_state *s = (worker_state *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP(s->after);
    ASYNC_RETURN(s->value);
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_wait ws;
    async_waiter w[3];
    async_task *tasks[3];
    int when, status;
    double limit;
    uint64_t at;
    async_timeout tmo;
} waiting_state;

static int wait_some(async_task *task, void *arg) {
    waiting_state *s = (waiting_state *)arg;
    ASYNC_BEGIN(task, s);
    if (s->limit > 0) {
        ASYNC_WITH_TIMEOUT(&s->tmo, s->limit,
                           ASYNC_WAIT_TASKS(&s->ws, s->w, s->tasks, 3, s->when));
    } else {
        ASYNC_WAIT_TASKS(&s->ws, s->w, s->tasks, 3, s->when);
    }
    s->status = ASYNC_STATUS();
    s->at = ASYNC_NOW();
    ASYNC_END;
}

/* Workers end at 3, 1 and 2 s; the one ending at 2 s fails (-5). */
static void run_wait_case(int when, double limit, waiting_state *s, async_task *t) {
    static async_loop loop;
    static worker_state w[3];
    static async_task wt;
    int i;
    memset(s, 0, sizeof *s);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    for (i = 0; i < 3; i++) {
        w[i].after = i == 0 ? 3.0 : (double)i;
        w[i].value = i == 2 ? -5 : i;
        async_spawn(&loop, &t[i], worker, &w[i]);
        s->tasks[i] = &t[i];
    }
    s->when = when;
    s->limit = limit;
    async_spawn(&loop, &wt, wait_some, s);
    cr_assert_eq(async_run_until(&loop, &wt), ASYNC_OK);
}

Test(wait, first_completed_returns_at_the_first_finish) {
    waiting_state s;
    async_task t[3];
    run_wait_case(ASYNC_FIRST_COMPLETED, 0, &s, t);
    cr_assert(s.status == ASYNC_OK && s.at == 1 * SEC && s.ws.done == 1);
    cr_assert(async_task_done(&t[1]) && !async_task_done(&t[0]) && !async_task_done(&t[2]),
              "done set {t1}, pending {t0, t2}, not cancelled");
}

Test(wait, first_exception_returns_at_the_first_failure) {
    waiting_state s;
    async_task t[3];
    run_wait_case(ASYNC_FIRST_EXCEPTION, 0, &s, t);
    cr_assert(s.status == ASYNC_OK && s.at == 2 * SEC && s.ws.done == 2, "at %llu, %zu done",
              (unsigned long long)s.at, s.ws.done);
    cr_assert_eq(async_task_result(&t[2]), -5);
}

Test(wait, all_completed_and_a_timeout) {
    waiting_state s;
    async_task t[3];
    run_wait_case(ASYNC_ALL_COMPLETED, 0, &s, t);
    cr_assert(s.status == ASYNC_OK && s.at == 3 * SEC && s.ws.done == 3);
    run_wait_case(ASYNC_ALL_COMPLETED, 1.5, &s, t);
    cr_assert(s.status == ASYNC_ETIMEDOUT && s.at == SEC + SEC / 2 && s.ws.done == 1);
}

/* ---- generators without a loop ------------------------------------------------------ */

typedef struct {
    async_frame frame;
    int i, n;
} squares_state;

static int squares(async_task *task, void *arg) {
    squares_state *s = (squares_state *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < s->n; s->i++) ASYNC_YIELD_VALUE(s->i * s->i);
    ASYNC_END;
}

Test(for_each, plain_c_iterates_a_generator_without_a_loop) {
    squares_state sq;
    int got[8], n = 0, v;
    sq.n = 5;
    ASYNC_FOR_EACH(v, squares, &sq) got[n++] = v;
    cr_assert_eq(n, 5);
    for (v = 0; v < 5; v++) cr_assert_eq(got[v], v * v);
    sq.n = 0;
    ASYNC_FOR_EACH(v, squares, &sq) cr_assert_fail("an empty generator yields nothing");
}

static int sleepy_gen(async_task *task, void *arg) {
    squares_state *s = (squares_state *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_YIELD_VALUE(1);
    ASYNC_SLEEP(1.0);
    ASYNC_YIELD_VALUE(2);
    ASYNC_END;
}

Test(for_each, a_generator_that_waits_is_reported, .signal = SIGABRT) {
    squares_state s;
    intptr_t v;
    ASYNC_FOR_EACH(v, sleepy_gen, &s) (void)v;
}

/* async_task_describe says what each new wait waits on. */
Test(describe, the_new_waits_say_what_they_wait_on) {
    async_loop loop;
    async_barrier b;
    async_future f;
    async_task t[2];
    party_state p;
    awaiter_state a;
    char line[256];
    memset(&p, 0, sizeof p);
    memset(&a, 0, sizeof a);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_barrier_init(&b, 3);
    async_future_init(&f, &loop);
    p.b = &b;
    a.f = &f;
    async_spawn(&loop, &t[0], party, &p);
    async_spawn(&loop, &t[1], awaiter, &a);
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK);
    async_task_describe(&t[0], line, sizeof line);
    cr_assert_not_null(strstr(line, "at barrier"), "%s", line);
    cr_assert_not_null(strstr(line, "(1 of 3 there)"), "%s", line);
    async_task_describe(&t[1], line, sizeof line);
    cr_assert_not_null(strstr(line, "on future"), "%s", line);
    cr_assert_eq(async_loop_shutdown(&loop), ASYNC_OK);
}

/* ---- LIFO, priority and unbounded queues --------------------------------------------- */

typedef struct {
    int prio;
    char name[16];
} job;

static int by_prio(const void *a, const void *b) {
    const job *x = (const job *)a, *y = (const job *)b;
    return (x->prio > y->prio) - (x->prio < y->prio);
}

Test(queues, lifo_takes_the_newest) {
    async_queue q;
    int buf[4], i, v;
    cr_assert_eq(async_lifo_queue_init(&q, buf, 4, sizeof(int)), ASYNC_OK);
    for (i = 1; i <= 4; i++) cr_assert_eq(async_queue_try_put(&q, &i), ASYNC_OK);
    cr_assert_eq(async_queue_try_put(&q, &i), ASYNC_EAGAIN, "full");
    for (i = 4; i >= 1; i--) {
        cr_assert_eq(async_queue_try_get(&q, &v), ASYNC_OK);
        cr_assert_eq(v, i);
    }
    async_queue_destroy(&q);
}

Test(queues, priority_takes_the_smallest_and_keeps_put_order_for_ties) {
    static unsigned char buf[ASYNC_PRIORITY_QUEUE_BYTES(64, sizeof(job))];
    static const int prios[] = {5, 1, 3, 1, 5, 0, 3, 1};
    async_queue q;
    job j, prev;
    uint32_t seed = 7;
    int i, n = 0, counts[8] = {0};
    cr_assert_eq(async_priority_queue_init(&q, buf, 64, sizeof(job), NULL), ASYNC_EINVAL);
    cr_assert_eq(async_priority_queue_init(&q, buf, 64, sizeof(job), by_prio), ASYNC_OK);
    for (i = 0; i < 8; i++) {
        j.prio = prios[i];
        snprintf(j.name, sizeof j.name, "%d.%d", prios[i], counts[prios[i]]++);
        async_queue_try_put(&q, &j);
    }
    for (i = 0; i < 8; i++) {
        char want[8];
        async_queue_try_get(&q, &j);
        if (i) cr_assert_leq(prev.prio, j.prio);
        if (i && prev.prio == j.prio)
            cr_assert_lt(strcmp(prev.name, j.name), 0, "ties in put order: %s then %s", prev.name,
                         j.name);
        prev = j;
        snprintf(want, sizeof want, "%d.", j.prio);
        cr_assert_eq(strncmp(j.name, want, strlen(want)), 0);
    }
    /* random puts and gets against a sorted reference */
    for (i = 0; i < 2000; i++) {
        if (n < 64 && (xorshift32(&seed) % 3 || n == 0)) {
            j.prio = (int)(xorshift32(&seed) % 10);
            snprintf(j.name, sizeof j.name, "%d", i);
            cr_assert_eq(async_queue_try_put(&q, &j), ASYNC_OK);
            n++;
        } else {
            job k;
            cr_assert_eq(async_queue_try_get(&q, &k), ASYNC_OK);
            n--;
            (void)k;
        }
        cr_assert_eq(async_queue_size(&q), (size_t)n);
    }
    /* drain: nondecreasing priorities, and put order (the index) within one */
    for (i = 0; n > 0; n--, i++) {
        cr_assert_eq(async_queue_try_get(&q, &j), ASYNC_OK);
        if (i) {
            cr_assert_leq(prev.prio, j.prio);
            if (prev.prio == j.prio) cr_assert_lt(atoi(prev.name), atoi(j.name));
        }
        prev = j;
    }
    async_queue_destroy(&q);
}

/* Getters waiting on a priority queue get the smallest item there when they run. */
typedef struct {
    async_frame frame;
    async_queue *q;
    job got[4];
    int n;
} pq_getter_state;

static int pq_getter(async_task *task, void *arg) {
    pq_getter_state *s = (pq_getter_state *)arg;
    ASYNC_BEGIN(task, s);
    for (s->n = 0; s->n < 4; s->n++) ASYNC_QUEUE_GET(s->q, &s->got[s->n]);
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_queue *q;
    job j;
    int i;
} pq_putter_state;

static int pq_putter(async_task *task, void *arg) {
    pq_putter_state *s = (pq_putter_state *)arg;
    static const int prios[] = {9, 2, 7, 1, 3};
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP(1.0);
    for (s->i = 0; s->i < 5; s->i++) {
        s->j.prio = prios[s->i];
        ASYNC_QUEUE_PUT(s->q, &s->j);
    }
    ASYNC_END;
}

Test(queues, a_waiting_getter_of_a_priority_queue) {
    static unsigned char buf[ASYNC_PRIORITY_QUEUE_BYTES(8, sizeof(job))];
    async_loop loop;
    async_queue q;
    async_task tg, tp;
    pq_getter_state g;
    pq_putter_state p;
    memset(&g, 0, sizeof g);
    memset(&p, 0, sizeof p);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_priority_queue_init(&q, buf, 8, sizeof(job), by_prio);
    g.q = p.q = &q;
    async_spawn(&loop, &tg, pq_getter, &g);
    async_spawn(&loop, &tp, pq_putter, &p);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    /* the first put wakes the getter; it runs after all five are in */
    cr_assert(g.got[0].prio == 1 && g.got[1].prio == 2 && g.got[2].prio == 3 &&
                  g.got[3].prio == 7,
              "%d %d %d %d", g.got[0].prio, g.got[1].prio, g.got[2].prio, g.got[3].prio);
    cr_assert_eq(async_queue_size(&q), 1);
}

typedef struct {
    async_qlink link;
    int id;
} message;

typedef struct {
    async_frame frame;
    async_lqueue *q;
    async_qlink *l;
    int got[16], n, status;
} lq_getter_state;

static int lq_getter(async_task *task, void *arg) {
    lq_getter_state *s = (lq_getter_state *)arg;
    ASYNC_BEGIN(task, s);
    for (;;) {
        ASYNC_LQUEUE_GET(s->q, &s->l);
        if (ASYNC_STATUS() != ASYNC_OK) break;
        s->got[s->n++] = ASYNC_CONTAINER_OF(s->l, message, link)->id;
    }
    s->status = ASYNC_STATUS();
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_lqueue *q;
    message *m;
    int i, n;
} lq_putter_state;

static int lq_putter(async_task *task, void *arg) {
    lq_putter_state *s = (lq_putter_state *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < s->n; s->i++) {
        s->m[s->i].id = s->i;
        cr_assert_eq(async_lqueue_put(s->q, &s->m[s->i].link), ASYNC_OK, "never full");
        if (s->i % 3 == 2) ASYNC_SLEEP(1.0);
    }
    async_lqueue_close(s->q);
    ASYNC_END;
}

Test(queues, an_unbounded_queue_of_linked_items) {
    async_loop loop;
    async_lqueue q;
    async_task tg[2], tp;
    lq_getter_state g[2];
    lq_putter_state p;
    message *m = (message *)malloc(10 * sizeof *m); /* the items are the caller's */
    int i, seen = 0;
    memset(g, 0, sizeof g);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_lqueue_init(&q);
    for (i = 0; i < 2; i++) {
        g[i].q = &q;
        async_spawn(&loop, &tg[i], lq_getter, &g[i]);
    }
    p.q = &q;
    p.m = m;
    p.n = 10;
    async_spawn(&loop, &tp, lq_putter, &p);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    for (i = 0; i < 2; i++) {
        int k;
        cr_assert_eq(g[i].status, ASYNC_ECLOSED);
        for (k = 0; k < g[i].n; k++) seen |= 1 << g[i].got[k];
        for (k = 1; k < g[i].n; k++) cr_assert_lt(g[i].got[k - 1], g[i].got[k], "FIFO");
    }
    cr_assert_eq(seen, 0x3ff, "every message once");
    cr_assert_gt(g[0].n, 0);
    cr_assert_gt(g[1].n, 0, "both getters served, in turn");
    cr_assert_eq(async_lqueue_put(&q, &m[0].link), ASYNC_ECLOSED);
    async_lqueue_destroy(&q);
    free(m);
}

/* ---- gather's two error policies ---------------------------------------------------- */

typedef struct {
    async_frame frame;
    async_gather g;
    async_waiter w[3];
    async_task *tasks[3];
    intptr_t results[3];
    int fail_fast, status;
    uint64_t at;
} gatherer_state;

static int gatherer(async_task *task, void *arg) {
    gatherer_state *s = (gatherer_state *)arg;
    ASYNC_BEGIN(task, s);
    if (s->fail_fast) {
        ASYNC_GATHER_FAIL_FAST(&s->g, s->w, s->tasks, 3, s->results);
    } else {
        ASYNC_GATHER(&s->g, s->tasks, 3, s->results);
    }
    s->status = ASYNC_STATUS();
    s->at = ASYNC_NOW();
    ASYNC_END;
}

static void run_gather_case(int fail_fast, gatherer_state *s, async_task *t) {
    static async_loop loop;
    static worker_state w[3];
    static async_task gt;
    int i;
    memset(s, 0, sizeof *s);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    for (i = 0; i < 3; i++) { /* end at 3 s (ok), 1 s (ok), 2 s (fails: -5) */
        w[i].after = i == 0 ? 3.0 : (double)i;
        w[i].value = i == 2 ? -5 : 10 + i;
        async_spawn(&loop, &t[i], worker, &w[i]);
        s->tasks[i] = &t[i];
    }
    s->fail_fast = fail_fast;
    async_spawn(&loop, &gt, gatherer, s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
}

Test(gather, by_default_every_result_and_failure_is_collected) {
    gatherer_state s;
    async_task t[3];
    run_gather_case(0, &s, t);
    cr_assert(s.status == ASYNC_OK && s.at == 3 * SEC);
    cr_assert(s.results[0] == 10 && s.results[1] == 11 && s.results[2] == -5);
}

Test(gather, fail_fast_cancels_the_rest_at_the_first_failure) {
    gatherer_state s;
    async_task t[3];
    run_gather_case(1, &s, t);
    cr_assert_eq(s.status, ASYNC_ECANCELED);
    cr_assert_eq(s.at, 2 * SEC, "at the failure, not at the slowest task");
    cr_assert(s.g.failed == 2 && s.g.error == -5);
    cr_assert_eq(async_task_state(&t[0]), ASYNC_CANCELLED);
    cr_assert_eq(ASYNC_RESULT(&s.g), 1, "one cancelled");
    cr_assert(s.results[1] == 11 && s.results[2] == -5);
}

/* ---- gather of coroutines, results of any type ------------------------------------------ */

struct page {
    char title[32];
    size_t bytes;
};

typedef struct {
    async_frame frame;
    const char *url;
    double delay;
    struct page out; /* the result, in the caller's storage */
} fetch_state;

static int fetch(async_task *task, void *arg) {
    fetch_state *s = (fetch_state *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP(s->delay);
    snprintf(s->out.title, sizeof s->out.title, "title of %s", s->url);
    s->out.bytes = strlen(s->url) * 100;
    ASYNC_RETURN(0);
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_gather g;
    async_coro c[3];
    fetch_state f[3];
    intptr_t results[3];
} crawl_state;

static int crawl(async_task *task, void *arg) {
    crawl_state *s = (crawl_state *)arg;
    static const char *const urls[] = {"a.example", "bb.example", "ccc.example"};
    int i;
    ASYNC_BEGIN(task, s);
    for (i = 0; i < 3; i++) {
        s->f[i].url = urls[i];
        s->f[i].delay = 3.0 - i;
        async_coro_init(&s->c[i], fetch, &s->f[i]);
    }
    ASYNC_GATHER_COROS(&s->g, s->c, 3, s->results);
    ASYNC_END;
}

Test(gather, coroutines_are_gathered_without_declaring_tasks) {
    crawl_state s;
    int i;
    memset(&s, 0, sizeof s);
    cr_assert_eq(async_main(crawl, &s, ASYNC_VIRTUAL), ASYNC_OK);
    for (i = 0; i < 3; i++) {
        struct page *p = &ASYNC_TASK_STATE(&s.c[i].task, fetch_state)->out;
        cr_assert_eq(async_task_state(&s.c[i].task), ASYNC_DONE);
        cr_assert_eq(p->bytes, strlen(s.f[i].url) * 100);
        cr_assert_eq(strncmp(p->title, "title of ", 9), 0);
        cr_assert_eq(s.results[i], 0);
    }
}

/* ---- task groups ------------------------------------------------------------------------ */

typedef struct {
    async_frame frame;
    intptr_t ret;
    int ran;
    double sleep;
} member_state;

static int member(async_task *task, void *arg) {
    member_state *s = (member_state *)arg;
    ASYNC_BEGIN(task, s);
    s->ran++;
    ASYNC_SLEEP(s->sleep);
    ASYNC_RETURN(s->ret);
    ASYNC_END;
}

/* Found by the model: a member that finished and whose storage was spawned
 * again into another group is not cancelled when its first group fails. */
Test(groups, a_failure_cancels_only_the_members_still_running) {
    static async_loop loop;
    static async_task ta, tb;
    static member_state a, b;
    static async_group g1, g2;
    static async_waiter w1[4], w2[4];
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_group_init(&g1, w1, 4);
    async_group_init(&g2, w2, 4);
    a.ret = 1;
    b.ret = -5;
    async_group_spawn(&g1, &loop, &ta, member, &a); /* g1's member, ends OK */
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    a.sleep = 1.0;
    async_group_spawn(&g2, &loop, &ta, member, &a); /* the storage again: g2's member */
    async_group_spawn(&g1, &loop, &tb, member, &b); /* g1's member that fails */
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert(g1.failed == &tb && g1.error == -5);
    cr_assert_eq(async_task_state(&ta), ASYNC_DONE, "g2's member ran to its end");
    cr_assert(a.ran == 2 && g2.failed == NULL);
}

/* ---- found by the model: each of these failed before the fix ---------------- */

/* A consumer waits on a condition; the producer notifies one, and the
 * notified consumer is cancelled before it gets the lock back.  asyncio
 * (since 3.13) passes that notify on, so the other consumer wakes; before
 * the fix it was lost and the program deadlocked. */
struct consumer {
    async_frame frame;
    async_lock *lock;
    async_condition *cond;
    int *items, got, status;
};

static int cond_consumer(async_task *task, void *arg) {
    struct consumer *c = (struct consumer *)arg;
    ASYNC_BEGIN(task, c);
    ASYNC_LOCK_ACQUIRE(c->lock);
    while (*c->items == 0) {
        ASYNC_COND_WAIT(c->cond);
        c->status = ASYNC_STATUS();
        if (c->status != ASYNC_OK) break;
    }
    if (c->status == ASYNC_OK) {
        (*c->items)--;
        c->got = 1;
    }
    ASYNC_FINALLY;
    if (async_lock_locked(c->lock)) ASYNC_LOCK_RELEASE(c->lock);
    ASYNC_END;
}

Test(found, a_notify_to_a_waiter_cancelled_at_once_is_passed_on) {
    async_loop loop;
    async_lock lock;
    async_condition cond;
    async_task t[2];
    struct consumer *c = (struct consumer *)calloc(2, sizeof *c);
    int items = 0, i;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_lock_init(&lock);
    async_condition_init(&cond, &lock);
    for (i = 0; i < 2; i++) {
        c[i].lock = &lock;
        c[i].cond = &cond;
        c[i].items = &items;
        async_spawn(&loop, &t[i], cond_consumer, &c[i]);
    }
    async_step(&loop); /* both wait on the condition */
    items = 1;
    async_condition_notify(&cond, 1); /* the first is handed the free lock... */
    async_cancel(&t[0]);              /* ...and cancelled before it runs */
    cr_assert_eq(async_run(&loop), ASYNC_OK, "the notify was lost: deadlock");
    cr_assert_eq(c[0].got, 0, "the cancelled consumer took nothing");
    cr_assert_eq(c[1].got, 1, "the second consumer took the item");
    cr_assert_eq(items, 0);
    cr_assert(!async_lock_locked(&lock));
    free(c);
}

/* A 3-party barrier is reset under a waiter that is then cancelled before
 * it runs.  Before the fix that waiter left the next round as well, so four
 * tasks passed a 3-party barrier, two of them with index 0. */
struct party {
    async_frame frame;
    async_barrier *b;
    size_t index;
    int status;
};

static int barrier_party(async_task *task, void *arg) {
    struct party *p = (struct party *)arg;
    ASYNC_BEGIN(task, p);
    p->status = 1; /* still waiting */
    ASYNC_BARRIER_WAIT(p->b, &p->index);
    p->status = ASYNC_STATUS();
    ASYNC_END;
}

Test(found, a_reset_waiter_cancelled_before_it_runs_is_not_uncounted_twice) {
    async_loop loop;
    async_barrier b;
    async_task t[5];
    struct party p[5];
    int i, passed = 0;
    size_t seen = 0;
    memset(p, 0, sizeof p);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_barrier_init(&b, 3);
    for (i = 0; i < 5; i++) p[i].b = &b;
    async_spawn(&loop, &t[0], barrier_party, &p[0]);
    async_step(&loop);             /* party 0 waits */
    async_spawn(&loop, &t[1], barrier_party, &p[1]);
    async_barrier_reset(&b);       /* party 0 let go (EBROKEN when it runs)... */
    async_cancel(&t[0]);           /* ...but cancelled first */
    async_step(&loop);             /* party 1 waits; party 0 leaves */
    cr_assert_eq(async_barrier_waiting(&b), 1);
    for (i = 2; i < 5; i++) async_spawn(&loop, &t[i], barrier_party, &p[i]);
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK, "the fifth party waits for a new round");
    for (i = 1; i < 5; i++)
        if (p[i].status == ASYNC_OK) {
            passed++;
            seen |= (size_t)1 << p[i].index;
        }
    cr_assert_eq(passed, 3, "%d parties passed a barrier of 3", passed);
    cr_assert_eq(seen, 7u, "indices 0, 1 and 2 once each");
    cr_assert_eq(async_barrier_waiting(&b), 1);
    async_cancel(&t[4]);
    async_cancel(&t[3]);
    async_cancel(&t[2]);
    async_run(&loop);
}

Test(found, a_future_error_code_that_does_not_fit_the_status_is_refused) {
    async_loop loop;
    async_future f;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_future_init(&f, &loop);
    cr_assert_eq(async_future_set_error(&f, -40000), ASYNC_EINVAL);
    cr_assert_eq(async_future_status(&f), ASYNC_EAGAIN, "still pending");
    cr_assert_eq(async_future_set_error(&f, -32767), ASYNC_OK);
    cr_assert_eq(async_future_status(&f), -32767);
}
