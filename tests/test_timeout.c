/* Timeouts, shields, task groups, and cancellation corner cases. */
#include "helpers.h"

static async_loop loop;
static test_log lg;

static void vinit(void) { virtual_start(&loop, &lg); }

/* A child that sleeps `ns` (logging), with a finally that logs too. */
typedef struct {
    async_frame frame;
    test_log *log;
    int64_t ns;
    int finally_runs;
} napper;
static int napper_fn(async_task *task, void *arg) {
    napper *s = (napper *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_NS(s->ns);
    log_add(s->log, 1, 0, ASYNC_NOW()); /* woke normally */
    ASYNC_RETURN(7);
    ASYNC_FINALLY;
    s->finally_runs++;
    ASYNC_END;
}

/* mode 0: WAIT_FOR a child; 1: a queue get under a timeout; 2: a semaphore;
 * 3: await a task; 4: a plain sleep; 5: an event. */
typedef struct {
    async_frame frame;
    int mode;
    double limit;
    async_timeout tmo;
    napper child;
    async_queue *q;
    async_semaphore *sem;
    async_task *other;
    async_event *ev;
    int item, status, expired;
    uint64_t when;
} limited;
static int limited_fn(async_task *task, void *arg) {
    limited *s = (limited *)arg;
    ASYNC_BEGIN(task, s);
    switch (s->mode) { /* no suspension inside: only picks the case */
    case 0: s->status = 100; break;
    default: s->status = 200; break;
    }
    if (s->mode == 0) {
        ASYNC_WAIT_FOR(&s->tmo, s->limit, napper_fn, &s->child);
    } else if (s->mode == 1) {
        ASYNC_WITH_TIMEOUT(&s->tmo, s->limit, ASYNC_QUEUE_GET(s->q, &s->item));
    } else if (s->mode == 2) {
        ASYNC_WITH_TIMEOUT(&s->tmo, s->limit, ASYNC_SEM_ACQUIRE(s->sem));
    } else if (s->mode == 3) {
        ASYNC_WITH_TIMEOUT(&s->tmo, s->limit, ASYNC_AWAIT_TASK(s->other));
    } else if (s->mode == 4) {
        ASYNC_WITH_TIMEOUT(&s->tmo, s->limit, ASYNC_SLEEP(10.0));
    } else {
        ASYNC_WITH_TIMEOUT(&s->tmo, s->limit, ASYNC_EVENT_WAIT(s->ev));
    }
    s->status = ASYNC_STATUS();
    s->expired = async_timeout_expired(&s->tmo);
    s->when = ASYNC_NOW();
    ASYNC_END;
}

Test(timeout, wait_for_cuts_a_child_short_and_runs_its_finally) {
    static async_task t;
    static limited s;
    vinit();
    s.mode = 0;
    s.limit = 0.5;
    s.child.ns = 2 * (int64_t)SEC;
    s.child.log = &lg;
    async_spawn(&loop, &t, limited_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.status, ASYNC_ETIMEDOUT);
    cr_assert(s.expired);
    cr_assert_eq(s.when, 500 * MS);
    cr_assert_eq(s.child.finally_runs, 1);
    cr_assert_eq(lg.n, 0, "the child did not wake normally");
    cr_assert_eq(loop.timers.n, 0, "the child's sleep timer is gone");
    cr_assert_eq(async_task_state(&t), ASYNC_DONE, "a timeout is not a cancellation");
}

Test(timeout, wait_for_a_fast_child_is_not_a_timeout) {
    static async_task t;
    static limited s;
    vinit();
    s.mode = 0;
    s.limit = 3.0;
    s.child.ns = 1 * (int64_t)SEC;
    s.child.log = &lg;
    async_spawn(&loop, &t, limited_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.status, ASYNC_OK);
    cr_assert_not(s.expired);
    cr_assert_eq(ASYNC_RESULT(&s.child), 7);
    cr_assert_eq(s.when, 1 * SEC);
    cr_assert_eq(loop.timers.n, 0, "the disarmed timeout left the heap");
    cr_assert_eq(async_now(&loop), 1 * SEC, "and did not hold the loop");
}

Test(timeout, a_queue_get_times_out_and_the_queue_stays_consistent) {
    static int buf[2];
    static async_queue q;
    static async_task t;
    static limited s;
    int v = 5, out = 0;
    vinit();
    async_queue_init(&q, buf, 2, sizeof(int));
    s.mode = 1;
    s.limit = 0.25;
    s.q = &q;
    async_spawn(&loop, &t, limited_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.status, ASYNC_ETIMEDOUT);
    cr_assert_eq(s.when, 250 * MS);
    cr_assert_null(q.getters, "no getter left behind");
    cr_assert_eq(async_queue_try_put(&q, &v), ASYNC_OK);
    cr_assert_eq(async_queue_try_get(&q, &out), ASYNC_OK, "the item is not held for anyone");
    cr_assert_eq(out, 5);
}

Test(timeout, a_semaphore_acquire_times_out_without_taking_a_permit) {
    static async_semaphore sem;
    static async_task t;
    static limited s;
    vinit();
    async_semaphore_init(&sem, 0);
    s.mode = 2;
    s.limit = 1.0;
    s.sem = &sem;
    async_spawn(&loop, &t, limited_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.status, ASYNC_ETIMEDOUT);
    cr_assert_eq(s.when, 1 * SEC);
    cr_assert_null(sem.waiters);
    async_semaphore_release(&sem);
    cr_assert_eq(sem.value, 1, "the permit was not handed to the gone waiter");
}

Test(timeout, awaiting_a_task_times_out_and_leaves_it_running) {
    static async_task t[2];
    static limited s;
    static napper n;
    vinit();
    n.ns = 3 * (int64_t)SEC;
    n.log = &lg;
    async_spawn(&loop, &t[0], napper_fn, &n);
    s.mode = 3;
    s.limit = 1.0;
    s.other = &t[0];
    async_spawn(&loop, &t[1], limited_fn, &s);
    cr_assert_eq(async_run_until(&loop, &t[1]), ASYNC_OK);
    cr_assert_eq(s.status, ASYNC_ETIMEDOUT);
    cr_assert_eq(s.when, 1 * SEC);
    cr_assert_eq(async_task_state(&t[0]), ASYNC_PENDING, "left running");
    cr_assert_null(t[0].waiters);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_result(&t[0]), 7);
    cr_assert_eq(async_now(&loop), 3 * SEC);
}

Test(timeout, sleep_and_event_waits_end_at_the_deadline) {
    static async_task t[2];
    static limited s[2];
    static async_event ev;
    vinit();
    async_event_init(&ev);
    s[0].mode = 4;
    s[0].limit = 0.3;
    s[1].mode = 5;
    s[1].limit = 0.4;
    s[1].ev = &ev;
    async_spawn(&loop, &t[0], limited_fn, &s[0]);
    async_spawn(&loop, &t[1], limited_fn, &s[1]);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s[0].status, ASYNC_ETIMEDOUT);
    cr_assert_eq(s[0].when, 300 * MS);
    cr_assert_eq(s[1].status, ASYNC_ETIMEDOUT);
    cr_assert_eq(s[1].when, 400 * MS);
    cr_assert_null(ev.waiters);
}

/* Nested timeouts: the outer one (1 s) expires while an inner one (5 s) is
 * armed in a child: the child unwinds, the outer frame sees the timeout. */
typedef struct {
    async_frame frame;
    async_timeout tmo;
    napper n;
    double limit;
    int status, finally_runs;
} inner_st;
static int inner_fn(async_task *task, void *arg) {
    inner_st *s = (inner_st *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_WAIT_FOR(&s->tmo, s->limit, napper_fn, &s->n);
    s->status = ASYNC_STATUS();
    ASYNC_FINALLY;
    s->finally_runs++;
    ASYNC_END;
}
typedef struct {
    async_frame frame;
    async_timeout tmo;
    inner_st in;
    double limit;
    int status;
    uint64_t when;
} outer_st;
static int outer_fn(async_task *task, void *arg) {
    outer_st *s = (outer_st *)arg;
    ASYNC_BEGIN(task, s);
    s->in.status = 99;
    ASYNC_WAIT_FOR(&s->tmo, s->limit, inner_fn, &s->in);
    s->status = ASYNC_STATUS();
    s->when = ASYNC_NOW();
    ASYNC_END;
}

Test(timeout, an_outer_timeout_unwinds_inner_frames) {
    static async_task t;
    static outer_st s;
    vinit();
    s.in.n.ns = 10 * (int64_t)SEC;
    s.in.n.log = &lg;
    s.limit = 1.0;
    s.in.limit = 5.0;
    async_spawn(&loop, &t, outer_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.status, ASYNC_ETIMEDOUT);
    cr_assert_eq(s.when, 1 * SEC);
    cr_assert_eq(s.in.status, 99, "the inner frame did not carry on");
    cr_assert_eq(s.in.finally_runs, 1);
    cr_assert_eq(s.in.n.finally_runs, 1);
    cr_assert_eq(loop.timers.n, 0, "both timeouts and the sleep left the heap");
    cr_assert_null(t.scopes);
}

Test(timeout, an_inner_timeout_is_handled_by_the_inner_frame) {
    static async_task t;
    static outer_st s;
    vinit();
    s.in.n.ns = 10 * (int64_t)SEC;
    s.in.n.log = &lg;
    s.limit = 8.0;
    s.in.limit = 2.0;
    async_spawn(&loop, &t, outer_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.in.status, ASYNC_ETIMEDOUT, "the inner frame saw its own timeout");
    cr_assert_eq(s.in.finally_runs, 1);
    cr_assert_eq(s.status, ASYNC_OK, "the outer one did not expire");
    cr_assert_eq(s.when, 2 * SEC);
    cr_assert_eq(loop.timers.n, 0);
}

/* Both expire at the same instant: the outer one wins. */
Test(timeout, simultaneous_timeouts_unwind_to_the_outer_frame) {
    static async_task t;
    static outer_st s;
    vinit();
    s.in.n.ns = 10 * (int64_t)SEC;
    s.in.n.log = &lg;
    s.limit = 2.0;
    s.in.limit = 2.0;
    s.in.status = 99;
    async_spawn(&loop, &t, outer_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.in.status, 99);
    cr_assert_eq(s.status, ASYNC_ETIMEDOUT);
    cr_assert_eq(s.when, 2 * SEC);
}

/* The timeout cannot be forgotten: a frame that returns while armed
 * disarms it. */
typedef struct {
    async_frame frame;
    async_timeout tmo;
} forgetful;
static int forgetful_fn(async_task *task, void *arg) {
    forgetful *s = (forgetful *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_TIMEOUT_ARM(&s->tmo, 1.0);
    ASYNC_SLEEP(0.1);
    ASYNC_RETURN(1);
    ASYNC_END;
}

Test(timeout, a_timeout_left_armed_is_disarmed_when_its_frame_ends) {
    static async_task t;
    static forgetful s;
    vinit();
    async_spawn(&loop, &t, forgetful_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(loop.timers.n, 0);
    cr_assert_null(t.scopes);
    cr_assert_eq(async_now(&loop), 100 * MS);
    cr_assert_not(async_timeout_expired(&s.tmo));
}

/* ---- shields ---------------------------------------------------------------------- */

typedef struct {
    async_frame frame;
    napper n;
    int after;
} shielder;
static int shielder_fn(async_task *task, void *arg) {
    shielder *s = (shielder *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_AWAIT_SHIELDED(napper_fn, &s->n);
    s->after = 1; /* not reached: the cancellation takes effect here */
    ASYNC_END;
}

Test(shield, a_shielded_child_finishes_before_the_cancellation_lands) {
    static async_task t[2];
    static shielder s;
    static canceller c;
    vinit();
    s.n.ns = 2 * (int64_t)SEC;
    s.n.log = &lg;
    c.victim = &t[0];
    c.after_ns = 1 * (int64_t)SEC;
    async_spawn(&loop, &t[0], shielder_fn, &s);
    async_spawn(&loop, &t[1], canceller_fn, &c);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(lg.n, 1, "the child slept its full time");
    cr_assert_eq(lg.when[0], 2 * SEC);
    cr_assert_eq(ASYNC_RESULT(&s.n), 7);
    cr_assert_eq(s.after, 0);
    cr_assert_eq(async_task_state(&t[0]), ASYNC_CANCELLED);
}

/* A task that cancels itself and then awaits something that never comes
 * must unwind, not hang. */
typedef struct {
    async_frame frame;
    async_event ev;
    int after;
} selfcancel;
static int selfcancel_fn(async_task *task, void *arg) {
    selfcancel *s = (selfcancel *)arg;
    ASYNC_BEGIN(task, s);
    async_event_init(&s->ev);
    async_cancel(ASYNC_SELF());
    ASYNC_EVENT_WAIT(&s->ev);
    s->after = 1;
    ASYNC_END;
}

Test(cancel, cancelling_yourself_then_waiting_unwinds_at_once) {
    static async_task t;
    static selfcancel s;
    vinit();
    async_spawn(&loop, &t, selfcancel_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_state(&t), ASYNC_CANCELLED);
    cr_assert_eq(s.after, 0);
}

/* ---- task groups ------------------------------------------------------------------ */

typedef struct {
    async_frame frame;
    int64_t ns;
    intptr_t result;
    int finally_runs;
} member;
static int member_fn(async_task *task, void *arg) {
    member *s = (member *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_NS(s->ns);
    ASYNC_RETURN(s->result);
    ASYNC_FINALLY;
    s->finally_runs++;
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_group g;
    async_waiter w[4];
    async_task tasks[4];
    member m[4];
    int n, status;
    uint64_t when;
} grouper;
static int grouper_fn(async_task *task, void *arg) {
    grouper *s = (grouper *)arg;
    int i;
    ASYNC_BEGIN(task, s);
    async_group_init(&s->g, s->w, 4);
    for (i = 0; i < s->n; i++)
        cr_assert_eq(async_group_spawn(&s->g, ASYNC_LOOP(), &s->tasks[i], member_fn, &s->m[i]), ASYNC_OK);
    if (s->n == 4) {
        static async_task extra;
        static member em;
        cr_assert_eq(async_group_spawn(&s->g, ASYNC_LOOP(), &extra, member_fn, &em), ASYNC_ENOSPC);
    }
    ASYNC_GROUP_WAIT(&s->g);
    s->status = ASYNC_STATUS();
    s->when = ASYNC_NOW();
    ASYNC_END;
}

Test(group, all_succeed) {
    static grouper s;
    int i;
    s.n = 4;
    for (i = 0; i < 4; i++) {
        s.m[i].ns = (int64_t)(i + 1) * SEC;
        s.m[i].result = i;
    }
    cr_assert_eq(async_main(grouper_fn, &s, ASYNC_VIRTUAL), ASYNC_OK);
    cr_assert_eq(s.status, ASYNC_OK);
    cr_assert_eq(s.when, 4 * SEC);
    cr_assert_null(s.g.failed);
    for (i = 0; i < 4; i++) cr_assert_eq(async_task_result(&s.tasks[i]), i);
}

Test(group, the_first_failure_cancels_the_siblings) {
    static grouper s;
    int i;
    s.n = 4;
    for (i = 0; i < 4; i++) {
        s.m[i].ns = (int64_t)(i + 1) * SEC;
        s.m[i].result = i == 1 ? -42 : i; /* member 1 fails at 2 s */
    }
    s.m[2].result = -7; /* would fail at 3 s, but is cancelled first */
    cr_assert_eq(async_main(grouper_fn, &s, ASYNC_VIRTUAL), ASYNC_OK);
    cr_assert_eq(s.status, ASYNC_ECANCELED);
    cr_assert_eq(s.g.error, -42);
    cr_assert_eq(s.g.failed, &s.tasks[1]);
    cr_assert_eq(s.when, 2 * SEC, "the group ended when the siblings were cancelled");
    cr_assert_eq(async_task_state(&s.tasks[0]), ASYNC_DONE);
    cr_assert_eq(async_task_state(&s.tasks[1]), ASYNC_DONE);
    cr_assert_eq(async_task_state(&s.tasks[2]), ASYNC_CANCELLED);
    cr_assert_eq(async_task_state(&s.tasks[3]), ASYNC_CANCELLED);
    for (i = 0; i < 4; i++) cr_assert_eq(s.m[i].finally_runs, 1);
}
