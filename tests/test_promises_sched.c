/* Promises the README makes about the scheduler, each tested the way a
 * program written from the README alone would try to break it (issue 18).
 * Virtual time: every time asserted is exact. */
#include "helpers.h"

#ifndef ASYNC_SHIELD_MAX /* older headers: to show these tests failing there */
#define ASYNC_SHIELD_MAX 255
#endif

/* The loop's dump header says how many timers are left. */
static void keep_first_line(void *ctx, const char *line) {
    char *buf = (char *)ctx;
    if (!buf[0]) snprintf(buf, 512, "%s", line);
}
static int timers_left(const async_loop *loop) {
    char head[512] = {0};
    const char *p;
    async_dump_with(loop, keep_first_line, head);
    p = strstr(head, " pending tasks, ");
    cr_assert_not_null(p, "dump header: %s", head);
    return atoi(p + strlen(" pending tasks, "));
}

/* ---- 1: a generator's timeout covers the generator, not its consumer ------------- */

typedef struct {
    async_frame frame;
    async_timeout tmo;
    int i, after_yield, after_sleep;
} ticking_gen;
static int ticking_gen_fn(async_task *task, void *arg) {
    ticking_gen *g = (ticking_gen *)arg;
    ASYNC_BEGIN(task, g);
    ASYNC_TIMEOUT_ARM(&g->tmo, 1.0); /* left armed across the yields */
    for (g->i = 0; g->i < 3; g->i++) {
        ASYNC_SLEEP(0.4);
        g->after_sleep = ASYNC_STATUS();
        if (g->after_sleep != ASYNC_OK) break;
        ASYNC_YIELD_VALUE(g->i);
        g->after_yield = ASYNC_STATUS();
    }
    ASYNC_TIMEOUT_DISARM(&g->tmo);
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    ticking_gen gen;
    int close_it, sleep_status;
    uint64_t slept_until;
} gen_consumer;
static int gen_consumer_fn(async_task *task, void *arg) {
    gen_consumer *s = (gen_consumer *)arg;
    ASYNC_BEGIN(task, s);
    async_gen_init(&s->gen);
    ASYNC_NEXT(ticking_gen_fn, &s->gen);                 /* value 0 at t = 0.4 */
    cr_assert_eq(ASYNC_STATUS(), ASYNC_OK);
    ASYNC_SLEEP(2.0);                                    /* its timeout fires at t = 1 */
    s->sleep_status = ASYNC_STATUS();
    s->slept_until = ASYNC_NOW();
    if (s->close_it) {
        ASYNC_NEXT(ticking_gen_fn, &s->gen);             /* resumes: its timeout shows */
        cr_assert_eq(ASYNC_STATUS(), ASYNC_EXHAUSTED);
    }
    ASYNC_RETURN(7);
    ASYNC_END;
}

Test(promises_sched, a_generators_timeout_does_not_cut_its_consumers_sleep) {
    async_loop loop;
    test_log log;
    static async_task t;
    static gen_consumer s;
    virtual_start(&loop, &log);
    s.close_it = 1;
    async_spawn(&loop, &t, gen_consumer_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.sleep_status, ASYNC_OK, "the consumer's sleep said %d", s.sleep_status);
    cr_assert_eq(s.slept_until, 2400 * MS, "the consumer's sleep ended at %llu ns",
                 (unsigned long long)s.slept_until);
    cr_assert_eq(async_task_state(&t), ASYNC_DONE);
    cr_assert_eq(async_task_result(&t), 7);
    /* the generator saw its own timeout when it ran again */
    cr_assert(async_timeout_expired(&s.gen.tmo));
    cr_assert_eq(s.gen.after_yield, ASYNC_ETIMEDOUT);
    cr_assert_eq(timers_left(&loop), 0);
}

Test(promises_sched, a_generator_abandoned_with_a_timeout_leaves_no_timer_behind) {
    async_loop loop;
    test_log log;
    static async_task t;
    static gen_consumer s;
    virtual_start(&loop, &log);
    s.close_it = 0; /* the consumer ends without closing the generator */
    async_spawn(&loop, &t, gen_consumer_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.sleep_status, ASYNC_OK);
    cr_assert_eq(async_task_result(&t), 7);
    cr_assert_eq(timers_left(&loop), 0, "a finished task left an armed timeout");
}

/* ---- 2: a generator yielding from its cleanup shields nothing afterwards ---------- */

typedef struct {
    async_frame frame;
} cleanup_gen;
static int cleanup_gen_fn(async_task *task, void *arg) {
    cleanup_gen *g = (cleanup_gen *)arg;
    ASYNC_BEGIN(task, g);
    ASYNC_YIELD_VALUE(1);
    ASYNC_FINALLY;
    ASYNC_YIELD_VALUE(99); /* a last value from the cleanup */
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    cleanup_gen gen;
    intptr_t values[4];
    int n;
    uint64_t woke_at;
} cleanup_consumer;
static int cleanup_consumer_fn(async_task *task, void *arg) {
    cleanup_consumer *s = (cleanup_consumer *)arg;
    ASYNC_BEGIN(task, s);
    async_gen_init(&s->gen);
    for (;;) {
        ASYNC_NEXT(cleanup_gen_fn, &s->gen);
        if (ASYNC_STATUS() != ASYNC_OK) break;
        s->values[s->n++] = ASYNC_RESULT(&s->gen);
        if (s->n == 2) break; /* the value from its finally: stop there */
    }
    ASYNC_SLEEP(10.0); /* cancelled at t = 1 */
    ASYNC_FINALLY;
    s->woke_at = ASYNC_NOW();
    ASYNC_END;
}

Test(promises_sched, a_generator_yielding_from_its_finally_leaves_no_shield) {
    async_loop loop;
    test_log log;
    static async_task t[2];
    static cleanup_consumer s;
    static canceller c;
    virtual_start(&loop, &log);
    async_spawn(&loop, &t[0], cleanup_consumer_fn, &s);
    c.victim = &t[0];
    c.after_ns = (int64_t)SEC;
    async_spawn(&loop, &t[1], canceller_fn, &c);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.values[0], 1);
    cr_assert_eq(s.values[1], 99);
    cr_assert_eq(async_task_state(&t[0]), ASYNC_CANCELLED);
    cr_assert_eq(s.woke_at, SEC, "the cancelled sleep ended at %llu ns",
                 (unsigned long long)s.woke_at);
}

/* ---- 3: clearing a queued task's storage and spawning it again ----------------- */

static int noop_fn(async_task *task, void *arg) {
    async_frame *f = (async_frame *)arg;
    ASYNC_BEGIN(task, f);
    ASYNC_END;
}

Test(promises_sched, respawning_cleared_storage_in_the_middle_of_the_queue_is_caught,
     .signal = SIGABRT) {
    async_loop loop;
    static async_task t[4];
    static async_frame st[5];
    int i;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    for (i = 0; i < 4; i++) async_spawn(&loop, &t[i], noop_fn, &st[i]);
    memset(&t[1], 0, sizeof t[1]); /* "zero it before its first spawn"... */
    async_spawn(&loop, &t[1], noop_fn, &st[4]); /* ...but it was still queued */
    async_run(&loop);
}

/* ---- 5: a wake-up once given is never taken back --------------------------------- */

typedef struct {
    async_frame frame;
    async_task *target;
    async_frame *target_state;
    int respawn, status;
    uint64_t at;
} awaiter;
static int forever_fn(async_task *task, void *arg) {
    async_frame *f = (async_frame *)arg;
    ASYNC_BEGIN(task, f);
    ASYNC_SLEEP(100.0);
    ASYNC_END;
}
static int awaiter_fn(async_task *task, void *arg) {
    awaiter *s = (awaiter *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_AWAIT_TASK(s->target);
    s->status = ASYNC_STATUS();
    s->at = ASYNC_NOW();
    if (s->respawn) /* "a done task may be spawned again" */
        async_spawn(ASYNC_LOOP(), s->target, forever_fn, s->target_state);
    ASYNC_END;
}

/* A target sleeping `ns` (cancelled after `cancel_ns` if that is nonzero),
 * and two tasks awaiting it; the first to wake spawns the target's storage
 * again with a task that sleeps 100 s.  Runs until the second awaiter is
 * done (then cleans up); a[] says how the awaits ended. */
static void respawn_race(int64_t ns, int64_t cancel_ns, awaiter a[2]) {
    async_loop loop;
    test_log log;
    static async_task target, w[2], k;
    static sleeper ts;
    static async_frame again;
    static canceller c;
    int i;
    memset(&target, 0, sizeof target);
    memset(w, 0, sizeof w);
    memset(&k, 0, sizeof k);
    virtual_start(&loop, &log);
    ts.log = &log;
    ts.ns = ns;
    async_spawn(&loop, &target, sleeper_fn, &ts);
    if (cancel_ns) {
        c.victim = &target;
        c.after_ns = cancel_ns;
        async_spawn(&loop, &k, canceller_fn, &c);
    }
    for (i = 0; i < 2; i++) {
        a[i].target = &target;
        a[i].target_state = &again;
        a[i].respawn = i == 0;
        async_spawn(&loop, &w[i], awaiter_fn, &a[i]);
    }
    cr_assert_eq(async_run_until(&loop, &w[1]), ASYNC_OK);
    async_cancel(&target);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
}

Test(promises_sched, a_second_awaiter_is_not_held_by_a_respawn_of_the_awaited_task) {
    static awaiter a[2];
    respawn_race((int64_t)SEC, 0, a);
    cr_assert_eq(a[0].at, SEC);
    cr_assert_eq(a[1].status, ASYNC_OK);
    cr_assert_eq(a[1].at, SEC, "the second awaiter woke at %llu ns, not with the first finish",
                 (unsigned long long)a[1].at);
}

Test(promises_sched, the_outcome_of_the_awaited_run_is_reported_after_a_respawn) {
    static awaiter a[2];
    respawn_race(10 * (int64_t)SEC, (int64_t)SEC, a);
    cr_assert_eq(a[0].status, ASYNC_ECANCELED);
    cr_assert_eq(a[1].status, ASYNC_ECANCELED, "the respawned run's state leaked into the outcome");
}

/* ---- 6: groups and gather return only when every member has finished ------------ */

typedef struct {
    async_frame frame;
    uint64_t cleaned_at;
} slow_cleaner;
static int slow_cleaner_fn(async_task *task, void *arg) {
    slow_cleaner *s = (slow_cleaner *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP(10.0);
    ASYNC_FINALLY;
    ASYNC_SLEEP(1.0); /* cleanup takes a second */
    s->cleaned_at = ASYNC_NOW();
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_group g;
    async_waiter w[2];
    async_task t[2];
    slow_cleaner m[2];
    async_timeout tmo;
    int status, done_at_return;
    uint64_t returned_at;
} group_owner;
static int group_owner_fn(async_task *task, void *arg) {
    group_owner *s = (group_owner *)arg;
    int i;
    ASYNC_BEGIN(task, s);
    async_group_init(&s->g, s->w, 2);
    for (i = 0; i < 2; i++) async_group_spawn(&s->g, ASYNC_LOOP(), &s->t[i], slow_cleaner_fn, &s->m[i]);
    ASYNC_WITH_TIMEOUT(&s->tmo, 0.5, ASYNC_GROUP_WAIT(&s->g));
    s->status = ASYNC_STATUS();
    s->returned_at = ASYNC_NOW();
    for (i = 0; i < 2; i++) s->done_at_return += async_task_done(&s->t[i]);
    ASYNC_END;
}

Test(promises_sched, a_group_wait_under_a_timeout_returns_after_every_cleanup) {
    async_loop loop;
    test_log log;
    static async_task t;
    static group_owner s;
    virtual_start(&loop, &log);
    async_spawn(&loop, &t, group_owner_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.status, ASYNC_ETIMEDOUT);
    cr_assert_eq(s.done_at_return, 2, "%d of 2 members done when the wait returned",
                 s.done_at_return);
    cr_assert_eq(s.returned_at, 1500 * MS);
    cr_assert_eq(s.m[0].cleaned_at, 1500 * MS);
}

typedef struct {
    async_frame frame;
    async_gather g;
    async_task t[2];
    async_task *tp[2];
    slow_cleaner m[2];
    intptr_t results[2];
    async_timeout tmo;
    int status, done_at_return;
    intptr_t cancelled;
    uint64_t returned_at;
} gatherer;
static int gatherer_fn(async_task *task, void *arg) {
    gatherer *s = (gatherer *)arg;
    int i;
    ASYNC_BEGIN(task, s);
    for (i = 0; i < 2; i++) {
        s->tp[i] = &s->t[i];
        async_spawn(ASYNC_LOOP(), &s->t[i], slow_cleaner_fn, &s->m[i]);
    }
    ASYNC_WITH_TIMEOUT(&s->tmo, 0.5, ASYNC_GATHER(&s->g, s->tp, 2, s->results));
    s->status = ASYNC_STATUS();
    s->returned_at = ASYNC_NOW();
    s->cancelled = ASYNC_RESULT(&s->g);
    for (i = 0; i < 2; i++) s->done_at_return += async_task_done(&s->t[i]);
    ASYNC_END;
}

Test(promises_sched, a_gather_cut_short_returns_after_every_task_finished) {
    async_loop loop;
    test_log log;
    static async_task t;
    static gatherer s;
    virtual_start(&loop, &log);
    async_spawn(&loop, &t, gatherer_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.status, ASYNC_ETIMEDOUT);
    cr_assert_eq(s.done_at_return, 2, "%d of 2 tasks done when gather returned", s.done_at_return);
    cr_assert_eq(s.cancelled, 2, "gather counted %ld cancelled", (long)s.cancelled);
    cr_assert_eq(s.returned_at, 1500 * MS);
}

/* A cancelled gatherer: its own cleanup runs only once the gathered tasks
 * have finished theirs. */
typedef struct {
    async_frame frame;
    gatherer *g;
    uint64_t cleanup_at;
    int done_in_cleanup;
} cancelled_gatherer;
static int cancelled_gatherer_fn(async_task *task, void *arg) {
    cancelled_gatherer *s = (cancelled_gatherer *)arg;
    int i;
    ASYNC_BEGIN(task, s);
    for (i = 0; i < 2; i++) {
        s->g->tp[i] = &s->g->t[i];
        async_spawn(ASYNC_LOOP(), &s->g->t[i], slow_cleaner_fn, &s->g->m[i]);
    }
    ASYNC_GATHER(&s->g->g, s->g->tp, 2, s->g->results);
    ASYNC_FINALLY;
    s->cleanup_at = ASYNC_NOW();
    for (i = 0; i < 2; i++) s->done_in_cleanup += async_task_done(&s->g->t[i]);
    ASYNC_END;
}

Test(promises_sched, a_cancelled_gather_finishes_its_tasks_before_unwinding) {
    async_loop loop;
    test_log log;
    static async_task t[2];
    static gatherer g;
    static cancelled_gatherer s;
    static canceller c;
    virtual_start(&loop, &log);
    s.g = &g;
    async_spawn(&loop, &t[0], cancelled_gatherer_fn, &s);
    c.victim = &t[0];
    c.after_ns = (int64_t)(500 * MS);
    async_spawn(&loop, &t[1], canceller_fn, &c);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_state(&t[0]), ASYNC_CANCELLED);
    cr_assert_eq(s.done_in_cleanup, 2);
    cr_assert_eq(s.cleanup_at, 1500 * MS);
    cr_assert_eq(ASYNC_RESULT(&g.g), 2);
}

/* ---- 7: shields nest deep, and the limit is checked before it wraps ------------- */

#define DEEP 300
typedef struct {
    async_frame frame;
    int depth, target;
    void *all; /* the array of levels */
} level;
static int level_fn(async_task *task, void *arg) {
    level *s = (level *)arg;
    level *next = (level *)s->all + s->depth + 1;
    ASYNC_BEGIN(task, s);
    if (s->depth < s->target) {
        next->depth = s->depth + 1;
        next->target = s->target;
        next->all = s->all;
        ASYNC_AWAIT_SHIELDED(level_fn, next);
    } else {
        ASYNC_SLEEP(2.0); /* the task is cancelled meanwhile */
    }
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    level levels[DEEP + 1];
    int target;
    uint64_t woke_at;
} deep;
static int deep_fn(async_task *task, void *arg) {
    deep *s = (deep *)arg;
    ASYNC_BEGIN(task, s);
    s->levels[0].depth = 0;
    s->levels[0].target = s->target;
    s->levels[0].all = s->levels;
    ASYNC_AWAIT_SHIELDED(level_fn, &s->levels[0]);
    ASYNC_FINALLY;
    s->woke_at = ASYNC_NOW();
    ASYNC_END;
}

static void run_deep(int target, deep *s) {
    async_loop loop;
    test_log log;
    static async_task t[2];
    static canceller c;
    memset(t, 0, sizeof t);
    virtual_start(&loop, &log);
    s->target = target;
    async_spawn(&loop, &t[0], deep_fn, s);
    c.victim = &t[0];
    c.after_ns = (int64_t)SEC;
    async_spawn(&loop, &t[1], canceller_fn, &c);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_state(&t[0]), ASYNC_CANCELLED);
}

Test(promises_sched, two_hundred_nested_shielded_awaits_hold_off_a_cancel) {
    static deep s;
    run_deep(200, &s); /* 201 shields: the outer await and 200 levels */
    cr_assert_eq(s.woke_at, 2 * SEC, "the shielded sleep was cut at %llu ns",
                 (unsigned long long)s.woke_at);
}

Test(promises_sched, shields_deeper_than_the_limit_are_refused_before_wrapping,
     .signal = SIGABRT) {
    static deep s;
    run_deep(ASYNC_SHIELD_MAX, &s); /* one more than the limit */
}
