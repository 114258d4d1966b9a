/* Core behaviour: ordering, chaining, tasks, gather, scheduling passes,
 * sleeping edge values, cancellation and finally sections.  Time is virtual
 * unless a test says otherwise, so every figure asserted here is exact. */
#include "helpers.h"

static async_loop loop;
static test_log lg;

static void vinit(void) { virtual_start(&loop, &lg); }

/* ---- countasync: One One One Two Two Two in 1 s ------------------------- */

Test(order, countasync_three_sleepers_take_one_second) {
    static async_task t[3];
    static sleeper s[3];
    int i;
    vinit();
    for (i = 0; i < 3; i++) {
        s[i].log = &lg;
        s[i].id = i;
        s[i].ns = 1 * SEC;
        cr_assert_eq(async_spawn(&loop, &t[i], sleeper_fn, &s[i]), ASYNC_OK);
    }
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(lg.n, 6);
    for (i = 0; i < 6; i++) {
        cr_assert_eq(lg.what[i], i / 3, "event %d: expected %s", i, i < 3 ? "One" : "Two");
        cr_assert_eq(lg.who[i], i % 3, "event %d from task %d", i, lg.who[i]);
        cr_assert_eq(lg.when[i], i < 3 ? 0 : SEC);
    }
    cr_assert_eq(async_now(&loop), SEC, "elapsed %llu ns", (unsigned long long)async_now(&loop));
    for (i = 0; i < 3; i++) {
        cr_assert_eq(async_task_state(&t[i]), ASYNC_DONE);
        cr_assert_eq(async_task_result(&t[i]), i);
    }
}

Test(order, equal_deadlines_fire_in_start_order) {
    static async_task t[64];
    static sleeper s[64];
    int i;
    vinit();
    /* Start order is spawn order: all sleep 5 ms from time 0. */
    for (i = 0; i < 64; i++) {
        s[i].log = &lg;
        s[i].id = i;
        s[i].ns = 5 * MS;
        async_spawn(&loop, &t[i], sleeper_fn, &s[i]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    for (i = 0; i < 64; i++) cr_assert_eq(lg.who[64 + i], i, "wake %d was task %d", i, lg.who[64 + i]);
}

Test(order, different_deadlines_fire_in_deadline_order) {
    static async_task t[500];
    static sleeper s[500];
    uint32_t seed = 7;
    int i;
    vinit();
    for (i = 0; i < 500; i++) {
        s[i].log = &lg;
        s[i].id = i;
        s[i].ns = (int64_t)(xorshift32(&seed) % 50) * MS; /* many ties too */
        async_spawn(&loop, &t[i], sleeper_fn, &s[i]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    for (i = 1; i < 500; i++) {
        int a = lg.who[500 + i - 1], b = lg.who[500 + i];
        cr_assert(s[a].ns < s[b].ns || (s[a].ns == s[b].ns && a < b),
                  "task %d (%lld ns) woke before task %d (%lld ns)", a,
                  (long long)s[a].ns, b, (long long)s[b].ns);
        cr_assert_eq(lg.when[500 + i], (uint64_t)s[b].ns, "woke at the wrong time");
    }
}

/* ---- chaining: await a child coroutine, to any depth -------------------- */

typedef struct level {
    async_frame frame;
    int depth;
    struct level *child;
} level;

/* Each level sleeps 1 ms, awaits the next, and returns child's value + depth. */
static int level_fn(async_task *task, void *arg) {
    level *s = (level *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_MS(1);
    if (s->child) {
        ASYNC_AWAIT(level_fn, s->child);
        ASYNC_RETURN(ASYNC_RESULT(s->child) + s->depth);
    }
    ASYNC_RETURN(s->depth);
    ASYNC_END;
}

Test(chain, nested_awaits_return_values_at_depth_five) {
    static level lv[5];
    static async_task t;
    int i;
    vinit();
    for (i = 0; i < 5; i++) {
        lv[i].depth = i + 1;
        lv[i].child = i < 4 ? &lv[i + 1] : NULL;
    }
    async_spawn(&loop, &t, level_fn, &lv[0]);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_result(&t), 1 + 2 + 3 + 4 + 5);
    cr_assert_eq(async_now(&loop), 5 * MS, "each level slept 1 ms in turn");
}

/* chained.py: p1 = await part1(n); p2 = await part2(n, p1) */
typedef struct {
    async_frame frame;
    int n;
    intptr_t in;
} part;
static int part1(async_task *task, void *arg) {
    part *s = (part *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_NS((int64_t)s->n * MS);
    ASYNC_RETURN(s->n * 100 + 1);
    ASYNC_END;
}
static int part2(async_task *task, void *arg) {
    part *s = (part *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_NS((int64_t)s->n * MS);
    ASYNC_RETURN(s->in * 10 + 2);
    ASYNC_END;
}
typedef struct {
    async_frame frame;
    int n;
    part p1, p2;
} chain_st;
static int chain_fn(async_task *task, void *arg) {
    chain_st *s = (chain_st *)arg;
    ASYNC_BEGIN(task, s);
    s->p1.n = s->n;
    ASYNC_AWAIT(part1, &s->p1);
    s->p2.n = s->n;
    s->p2.in = ASYNC_RESULT(&s->p1);
    ASYNC_AWAIT(part2, &s->p2);
    ASYNC_RETURN(ASYNC_RESULT(&s->p2));
    ASYNC_END;
}

Test(chain, part1_then_part2_like_chained_py) {
    static chain_st c[3];
    static async_task t[3];
    int i;
    vinit();
    for (i = 0; i < 3; i++) {
        c[i].n = 3 - i;
        async_spawn(&loop, &t[i], chain_fn, &c[i]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    for (i = 0; i < 3; i++) cr_assert_eq(async_task_result(&t[i]), ((3 - i) * 100 + 1) * 10 + 2);
    cr_assert_eq(async_now(&loop), 6 * MS, "chains run concurrently: 2 x 3 ms");
}

/* Two awaits on one source line need __COUNTER__. */
static int two_on_a_line(async_task *task, void *arg) {
    part *s = (part *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_YIELD(); ASYNC_SLEEP_MS(2); ASYNC_YIELD();
    ASYNC_RETURN(7);
    ASYNC_END;
}

Test(chain, two_suspension_points_on_one_line) {
    static part p;
    static async_task t;
    vinit();
    async_spawn(&loop, &t, two_on_a_line, &p);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_result(&t), 7);
    cr_assert_eq(async_now(&loop), 2 * MS);
}

/* ---- tasks: await, gather, run_until ---------------------------------------- */

typedef struct {
    async_frame frame;
    async_task *other;
    test_log *log;
    int id;
} awaiter;
static int awaiter_fn(async_task *task, void *arg) {
    awaiter *s = (awaiter *)arg;
    ASYNC_BEGIN(task, s);
    log_add(s->log, s->id, 0, ASYNC_NOW());
    ASYNC_AWAIT_TASK(s->other);
    log_add(s->log, s->id, 1, ASYNC_NOW());
    ASYNC_RETURN(async_task_result(s->other) + 1000);
    ASYNC_END;
}

Test(tasks, awaiting_a_pending_task_wakes_when_it_finishes) {
    static async_task t[4];
    static sleeper s;
    static awaiter w[3];
    int i;
    vinit();
    s.log = &lg;
    s.id = 9;
    s.ns = 3 * MS;
    async_spawn(&loop, &t[0], sleeper_fn, &s);
    for (i = 0; i < 3; i++) {
        w[i].other = &t[0];
        w[i].log = &lg;
        w[i].id = i;
        async_spawn(&loop, &t[i + 1], awaiter_fn, &w[i]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    /* sleeper starts, 3 awaiters start, sleeper ends, awaiters resume FIFO */
    cr_assert_eq(lg.n, 8);
    cr_assert_eq(lg.who[4], 9);
    for (i = 0; i < 3; i++) {
        cr_assert_eq(lg.who[5 + i], i);
        cr_assert_eq(lg.when[5 + i], 3 * MS);
        cr_assert_eq(async_task_result(&t[i + 1]), 1009);
    }
}

static int counter_fn(async_task *task, void *arg) {
    sleeper *s = (sleeper *)arg;
    ASYNC_BEGIN(task, s);
    log_add(s->log, s->id, 5, 0);
    ASYNC_END;
}

Test(tasks, awaiting_a_finished_task_resumes_at_once) {
    static async_task a, b, c;
    static sleeper sa, sc;
    static awaiter w;
    vinit();
    sa.log = sc.log = &lg;
    sa.id = 1;
    sa.ns = 0;
    sc.id = 3;
    async_spawn(&loop, &a, sleeper_fn, &sa);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert(async_task_done(&a));
    lg.n = 0;
    w.other = &a;
    w.log = &lg;
    w.id = 2;
    async_spawn(&loop, &b, awaiter_fn, &w);
    async_spawn(&loop, &c, counter_fn, &sc);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    /* b logs before and after its await without c running in between */
    cr_assert_eq(lg.n, 3);
    cr_assert_eq(lg.who[0], 2);
    cr_assert_eq(lg.who[1], 2);
    cr_assert_eq(lg.what[1], 1);
    cr_assert_eq(lg.who[2], 3);
}

typedef struct {
    async_frame frame;
    async_gather g;
    async_task *tasks[4];
    intptr_t results[4];
} gatherer;
static int gatherer_fn(async_task *task, void *arg) {
    gatherer *s = (gatherer *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_GATHER(&s->g, s->tasks, 4, s->results);
    ASYNC_RETURN(ASYNC_RESULT(&s->g));
    ASYNC_END;
}

Test(tasks, gather_returns_results_in_argument_order) {
    static async_task t[5];
    static sleeper s[4];
    static gatherer g;
    static const int secs[4] = {3, 1, 4, 2};
    int i;
    vinit();
    for (i = 0; i < 4; i++) {
        s[i].log = &lg;
        s[i].id = i + 10;
        s[i].ns = secs[i] * (int64_t)SEC;
        async_spawn(&loop, &t[i], sleeper_fn, &s[i]);
        g.tasks[i] = &t[i];
    }
    async_spawn(&loop, &t[4], gatherer_fn, &g);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    for (i = 0; i < 4; i++) cr_assert_eq(g.results[i], i + 10);
    /* they completed in another order: 11 (1 s), 13, 10, 12 */
    cr_assert_eq(lg.who[4], 11);
    cr_assert_eq(lg.who[5], 13);
    cr_assert_eq(lg.who[6], 10);
    cr_assert_eq(lg.who[7], 12);
    cr_assert_eq(async_task_result(&t[4]), 0, "no gathered task was cancelled");
    cr_assert_eq(async_now(&loop), 4 * SEC);
}

Test(tasks, run_until_stops_when_that_task_is_done) {
    static async_task t[2];
    static sleeper s[2];
    vinit();
    s[0].log = s[1].log = &lg;
    s[0].ns = 1 * SEC;
    s[1].ns = 5 * SEC;
    s[1].id = 1;
    async_spawn(&loop, &t[0], sleeper_fn, &s[0]);
    async_spawn(&loop, &t[1], sleeper_fn, &s[1]);
    cr_assert_eq(async_run_until(&loop, &t[0]), ASYNC_OK);
    cr_assert(async_task_done(&t[0]));
    cr_assert_eq(async_task_state(&t[1]), ASYNC_PENDING);
    cr_assert_eq(async_now(&loop), 1 * SEC);
    cr_assert_eq(async_loop_pending(&loop), 1);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_now(&loop), 5 * SEC);
    cr_assert_eq(async_loop_pending(&loop), 0);
}

/* A task that sleeps a while and then counts how often it ran to the end. */
typedef struct {
    async_frame frame;
    int64_t ns;
    int *count;
} once;
static int once_fn(async_task *task, void *arg) {
    once *s = (once *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_NS(s->ns);
    (*s->count)++;
    ASYNC_END;
}

Test(tasks, one_hundred_thousand_tasks_each_complete_once, .timeout = 30) {
    enum { N = 100000 };
    static async_task t[N];
    static once s[N];
    static int count[N];
    uint32_t seed = 42;
    int i;
    vinit();
    for (i = 0; i < N; i++) {
        s[i].ns = (int64_t)(xorshift32(&seed) % 1000) * MS;
        s[i].count = &count[i];
        cr_assert_eq(async_spawn(&loop, &t[i], once_fn, &s[i]), ASYNC_OK);
    }
    cr_assert_eq(async_loop_pending(&loop), N);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    for (i = 0; i < N; i++) {
        cr_assert_eq(count[i], 1, "task %d completed %d times", i, count[i]);
        cr_assert_eq(async_task_state(&t[i]), ASYNC_DONE);
    }
    cr_assert_eq(loop.timers.n, 0);
    cr_assert_eq(async_loop_pending(&loop), 0);
    cr_assert_lt(async_now(&loop), 1000 * MS);
}

/* ---- scheduler passes ------------------------------------------------------ */

typedef struct {
    async_frame frame;
    test_log *log;
    int id, i, n;
} yielder;
static int yielder_fn(async_task *task, void *arg) {
    yielder *s = (yielder *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < s->n; s->i++) {
        log_add(s->log, s->id, s->i, 0);
        ASYNC_YIELD();
    }
    ASYNC_END;
}

Test(sched, yielding_tasks_alternate_fifo) {
    static async_task t[3];
    static yielder y[3];
    int i;
    vinit();
    for (i = 0; i < 3; i++) {
        y[i].log = &lg;
        y[i].id = i;
        y[i].n = 4;
        async_spawn(&loop, &t[i], yielder_fn, &y[i]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(lg.n, 12);
    for (i = 0; i < 12; i++) {
        cr_assert_eq(lg.who[i], i % 3);
        cr_assert_eq(lg.what[i], i / 3);
    }
}

/* A task spawned during a pass runs on the next pass, after the tasks that
 * were already queued. */
typedef struct {
    async_frame frame;
    async_task *child;
    sleeper *cs;
    test_log *log;
} spawner;
static int spawner_fn(async_task *task, void *arg) {
    spawner *s = (spawner *)arg;
    ASYNC_BEGIN(task, s);
    log_add(s->log, 100, 0, 0);
    cr_assert_eq(async_spawn(ASYNC_LOOP(), s->child, counter_fn, s->cs), ASYNC_OK);
    ASYNC_YIELD();
    log_add(s->log, 100, 1, 0);
    ASYNC_END;
}

Test(sched, spawned_during_a_pass_runs_next_pass) {
    static async_task t[3];
    static spawner sp;
    static sleeper cs, other;
    vinit();
    cs.log = other.log = &lg;
    cs.id = 200;
    other.id = 300;
    sp.child = &t[2];
    sp.cs = &cs;
    sp.log = &lg;
    async_spawn(&loop, &t[0], spawner_fn, &sp);
    async_spawn(&loop, &t[1], counter_fn, &other);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(lg.n, 4);
    cr_assert_eq(lg.who[0], 100);
    cr_assert_eq(lg.who[1], 300, "already-queued task runs in the same pass");
    cr_assert_eq(lg.who[2], 200, "spawned child runs on the next pass");
    cr_assert_eq(lg.who[3], 100, "the yielder, queued after the child");
}

/* A clock that advances 1 ms each time it is read: time passes while a task
 * yields forever, deterministically. */
static uint64_t fake_now;
static uint64_t idle_deadlines[16];
static int idle_calls;
static uint64_t fake_clock(void *ctx) {
    (void)ctx;
    return fake_now += MS;
}
static void fake_idle(void *ctx, uint64_t deadline) {
    (void)ctx;
    if (idle_calls < 16) idle_deadlines[idle_calls] = deadline;
    idle_calls++;
    if (fake_now < deadline) fake_now = deadline;
}

typedef struct {
    async_frame frame;
    async_task *watch;
    long spins;
} spinner;
static int spinner_fn(async_task *task, void *arg) {
    spinner *s = (spinner *)arg;
    ASYNC_BEGIN(task, s);
    while (!async_task_done(s->watch)) {
        s->spins++;
        cr_assert_lt(s->spins, 1000000, "sleeper starved by a yielding task");
        ASYNC_YIELD();
    }
    ASYNC_END;
}

Test(sched, yielding_forever_does_not_starve_timers) {
    static async_task t[2];
    static sleeper s;
    static spinner sp;
    cr_assert_eq(async_loop_init(&loop, 0), ASYNC_OK);
    cr_assert_eq(async_loop_set_clock(&loop, fake_clock, fake_idle, NULL), ASYNC_OK);
    fake_now = 0;
    idle_calls = 0;
    s.log = &lg;
    s.ns = 50 * MS;
    sp.watch = &t[0];
    async_spawn(&loop, &t[0], sleeper_fn, &s);
    async_spawn(&loop, &t[1], spinner_fn, &sp);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(idle_calls, 0, "never idle while a task is ready");
    cr_assert_geq(sp.spins, 40);
    cr_assert_leq(sp.spins, 60, "timer fired %ld passes late", sp.spins - 50);
}

Test(sched, idle_hook_is_asked_for_the_earliest_deadline) {
    static async_task t[3];
    static sleeper s[3];
    int i;
    cr_assert_eq(async_loop_init(&loop, 0), ASYNC_OK);
    cr_assert_eq(async_loop_set_clock(&loop, fake_clock, fake_idle, NULL), ASYNC_OK);
    cr_assert_eq(async_loop_set_clock(&loop, NULL, fake_idle, NULL), ASYNC_EINVAL);
    fake_now = 0;
    idle_calls = 0;
    for (i = 0; i < 3; i++) {
        s[i].log = &lg;
        s[i].ns = (int64_t)(3 - i) * 100 * MS;
        async_spawn(&loop, &t[i], sleeper_fn, &s[i]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(idle_calls, 3);
    /* each task reads the fake clock twice (log, then sleep): the sleeps
     * started at 2, 4 and 6 ms */
    cr_assert_eq(idle_deadlines[0], 106 * MS);
    cr_assert_eq(idle_deadlines[1], 204 * MS);
    cr_assert_eq(idle_deadlines[2], 302 * MS);
}

/* ---- sleep edge values --------------------------------------------------------- */

typedef struct {
    async_frame frame;
    test_log *log;
    int id;
    double sec;
} dsleeper;
static int dsleeper_fn(async_task *task, void *arg) {
    dsleeper *s = (dsleeper *)arg;
    ASYNC_BEGIN(task, s);
    log_add(s->log, s->id, 0, ASYNC_NOW());
    ASYNC_SLEEP(s->sec);
    log_add(s->log, s->id, 1, ASYNC_NOW());
    ASYNC_END;
}

Test(sleep, zero_negative_and_nan_behave_as_yield) {
    static async_task t[4];
    static dsleeper s[3];
    static yielder y;
    int i;
    vinit();
    s[0].sec = 0.0;
    s[1].sec = -5.0;
    s[2].sec = 0.0 / 0.0 == 0.0 ? 0.0 : strtod("nan", NULL);
    for (i = 0; i < 3; i++) {
        s[i].log = &lg;
        s[i].id = i;
        async_spawn(&loop, &t[i], dsleeper_fn, &s[i]);
    }
    y.log = &lg;
    y.id = 9;
    y.n = 2;
    async_spawn(&loop, &t[3], yielder_fn, &y);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    /* pass 1: 0,1,2 start, yielder step 0; pass 2: 0,1,2 end, yielder 1 */
    cr_assert_eq(lg.n, 8);
    for (i = 0; i < 8; i++) {
        cr_assert_eq(lg.who[i], i % 4 == 3 ? 9 : i % 4);
        cr_assert_eq(lg.when[i], 0, "no time passes");
    }
    cr_assert_eq(loop.timers.n, 0, "no timer was used");
}

Test(sleep, fractional_seconds) {
    static async_task t;
    static dsleeper s;
    vinit();
    s.log = &lg;
    s.sec = 0.25;
    async_spawn(&loop, &t, dsleeper_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_now(&loop), 250 * MS);
    cr_assert_eq(async_seconds_to_ns(1e300), INT64_MAX);
    cr_assert_eq(async_seconds_to_ns(-1e300), 0);
}

Test(sleep, largest_duration_saturates_the_deadline) {
    static async_task t;
    static sleeper s;
    vinit();
    loop.now = UINT64_MAX - 10; /* a clock near its limit */
    s.log = &lg;
    s.ns = INT64_MAX;
    async_spawn(&loop, &t, sleeper_fn, &s);
    cr_assert_eq(async_run_until(&loop, &t), ASYNC_OK);
    cr_assert_eq(async_now(&loop), UINT64_MAX, "deadline saturated, did not wrap");
    cr_assert_eq(lg.n, 2);
}

typedef struct {
    async_frame frame;
    uint64_t at;
} until_st;
static int until_fn(async_task *task, void *arg) {
    until_st *s = (until_st *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_UNTIL(s->at);
    ASYNC_RETURN(1);
    ASYNC_END;
}

Test(sleep, sleep_until_an_absolute_deadline) {
    static async_task t[2];
    static until_st u[2];
    vinit();
    loop.now = 10 * MS;
    u[0].at = 25 * MS;
    u[1].at = 5 * MS; /* in the past: a yield */
    async_spawn(&loop, &t[0], until_fn, &u[0]);
    async_spawn(&loop, &t[1], until_fn, &u[1]);
    cr_assert_eq(async_run_until(&loop, &t[1]), ASYNC_OK);
    cr_assert_eq(async_now(&loop), 10 * MS);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_now(&loop), 25 * MS);
}

/* ---- finishing: return, break, finally ---------------------------------------- */

typedef struct {
    async_frame frame;
    int mode;
    int body_after, finally_runs;
    int cancelled_seen;
    int64_t cleanup_ns;
} fin_st;
static int fin_fn(async_task *task, void *arg) {
    fin_st *s = (fin_st *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_MS(10);
    if (s->mode == 1) ASYNC_RETURN(11);
    if (s->mode == 2) break; /* top level: finishes like ASYNC_RETURN(0) */
    if (s->mode == 3) ASYNC_SLEEP_MS(1000);
    s->body_after = 1;
    ASYNC_RETURN(33);
    ASYNC_FINALLY;
    s->finally_runs++;
    s->cancelled_seen = ASYNC_CANCELLED();
    if (s->cleanup_ns) ASYNC_SLEEP_NS(s->cleanup_ns);
    ASYNC_END;
}

Test(finish, return_and_break_run_finally_once) {
    static async_task t[3];
    static fin_st f[3];
    int i;
    vinit();
    for (i = 0; i < 3; i++) {
        f[i].mode = i + 1 == 3 ? 0 : i + 1;
        async_spawn(&loop, &t[i], fin_fn, &f[i]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_result(&t[0]), 11);
    cr_assert_eq(async_task_result(&t[1]), 0);
    cr_assert_eq(async_task_result(&t[2]), 33);
    for (i = 0; i < 3; i++) {
        cr_assert_eq(f[i].finally_runs, 1, "task %d ran finally %d times", i, f[i].finally_runs);
        cr_assert_eq(f[i].cancelled_seen, 0);
        cr_assert_eq(async_task_state(&t[i]), ASYNC_DONE);
    }
    cr_assert_eq(f[1].body_after, 0, "break left the body");
}

/* ---- cancellation -------------------------------------------------------------- */

Test(cancel, sleeping_task_unwinds_through_finally) {
    static async_task t[3];
    static fin_st f;
    static canceller c;
    static awaiter w;
    vinit();
    f.mode = 3;
    c.victim = &t[0];
    c.after_ns = 20 * MS;
    w.other = &t[0];
    w.log = &lg;
    async_spawn(&loop, &t[0], fin_fn, &f);
    async_spawn(&loop, &t[1], canceller_fn, &c);
    async_spawn(&loop, &t[2], awaiter_fn, &w);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(c.ret, 1);
    cr_assert_eq(async_task_state(&t[0]), ASYNC_CANCELLED);
    cr_assert(async_task_done(&t[0]));
    cr_assert_eq(f.finally_runs, 1);
    cr_assert_eq(f.cancelled_seen, 1);
    cr_assert_eq(f.body_after, 0);
    cr_assert_eq(async_task_result(&t[0]), 0);
    cr_assert_eq(loop.timers.n, 0, "the cancelled sleep's timer was removed");
    cr_assert_eq(async_now(&loop), 20 * MS, "the 1 s sleep did not hold the loop");
    cr_assert_eq(lg.when[1], 20 * MS, "the awaiter saw the end at once");
    cr_assert_eq(async_cancel(&t[0]), 0, "cancelling a done task is a no-op");
    cr_assert_eq(async_task_state(&t[0]), ASYNC_CANCELLED);
}

Test(cancel, waiter_is_removed_from_the_awaited_task) {
    static async_task t[3];
    static sleeper s;
    static awaiter w;
    static canceller c;
    vinit();
    s.log = &lg;
    s.id = 5;
    s.ns = 100 * MS;
    w.other = &t[0];
    w.log = &lg;
    w.id = 6;
    c.victim = &t[1];
    c.after_ns = 10 * MS;
    async_spawn(&loop, &t[0], sleeper_fn, &s);
    async_spawn(&loop, &t[1], awaiter_fn, &w);
    async_spawn(&loop, &t[2], canceller_fn, &c);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_state(&t[1]), ASYNC_CANCELLED);
    cr_assert_eq(async_task_state(&t[0]), ASYNC_DONE);
    cr_assert_null(t[0].waiters);
    /* the awaiter never logged its "after" event */
    cr_assert_eq(lg.n, 3);
}

Test(cancel, cleanup_awaits_are_not_interrupted) {
    static async_task t[3];
    static fin_st f;
    static canceller c[2];
    int i;
    vinit();
    f.mode = 3;
    f.cleanup_ns = 50 * MS;
    for (i = 0; i < 2; i++) {
        c[i].victim = &t[0];
        c[i].after_ns = (int64_t)(i + 1) * 20 * MS; /* 20 ms and, in cleanup, 40 ms */
        async_spawn(&loop, &t[i + 1], canceller_fn, &c[i]);
    }
    async_spawn(&loop, &t[0], fin_fn, &f);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_state(&t[0]), ASYNC_CANCELLED);
    cr_assert_eq(f.finally_runs, 1);
    cr_assert_eq(async_now(&loop), 70 * MS, "cleanup slept its full 50 ms");
}

typedef struct {
    async_frame frame;
    int64_t ns;
    int before, after;
} selfcancel;
static int selfcancel_fn(async_task *task, void *arg) {
    selfcancel *s = (selfcancel *)arg;
    ASYNC_BEGIN(task, s);
    s->before = 1;
    cr_assert_eq(async_cancel(ASYNC_SELF()), 1);
    ASYNC_YIELD();
    s->after = 1;
    ASYNC_END;
}

Test(cancel, a_task_cancelling_itself_unwinds_at_its_next_suspension) {
    static async_task t;
    static selfcancel s;
    vinit();
    async_spawn(&loop, &t, selfcancel_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.before, 1);
    cr_assert_eq(s.after, 0);
    cr_assert_eq(async_task_state(&t), ASYNC_CANCELLED);
}

Test(cancel, nested_children_unwind_every_level) {
    static async_task t[2];
    static level lv[4];
    static canceller c;
    int i;
    vinit();
    for (i = 0; i < 4; i++) {
        lv[i].depth = i;
        lv[i].child = i < 3 ? &lv[i + 1] : NULL;
    }
    c.victim = &t[0];
    c.after_ns = 2 * MS + MS / 2; /* while level 2 sleeps */
    async_spawn(&loop, &t[0], level_fn, &lv[0]);
    async_spawn(&loop, &t[1], canceller_fn, &c);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_state(&t[0]), ASYNC_CANCELLED);
    cr_assert_eq(async_now(&loop), 2 * MS + MS / 2);
    for (i = 0; i < 3; i++) cr_assert_eq(lv[i].frame.pc, ASYNC__PC_DONE, "level %d finished", i);
}

Test(cancel, cancelling_a_gather_cancels_the_gathered_tasks) {
    static async_task t[6];
    static sleeper s[4];
    static gatherer g;
    static canceller c;
    int i;
    vinit();
    for (i = 0; i < 4; i++) {
        s[i].log = &lg;
        s[i].ns = (int64_t)(i + 1) * SEC;
        async_spawn(&loop, &t[i], sleeper_fn, &s[i]);
        g.tasks[i] = &t[i];
    }
    async_spawn(&loop, &t[4], gatherer_fn, &g);
    c.victim = &t[4];
    c.after_ns = 2 * SEC + 1;
    async_spawn(&loop, &t[5], canceller_fn, &c);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_state(&t[0]), ASYNC_DONE);
    cr_assert_eq(async_task_state(&t[1]), ASYNC_DONE);
    cr_assert_eq(async_task_state(&t[2]), ASYNC_CANCELLED);
    cr_assert_eq(async_task_state(&t[3]), ASYNC_CANCELLED);
    cr_assert_eq(async_task_state(&t[4]), ASYNC_CANCELLED);
    cr_assert_eq(async_now(&loop), 2 * SEC + 1);
}

/* ---- errors ---------------------------------------------------------------------- */

Test(errors, bad_arguments_return_einval) {
    static async_task t;
    static sleeper s;
    vinit();
    cr_assert_eq(async_loop_init(NULL, 0), ASYNC_EINVAL);
    cr_assert_eq(async_spawn(NULL, &t, sleeper_fn, &s), ASYNC_EINVAL);
    cr_assert_eq(async_spawn(&loop, NULL, sleeper_fn, &s), ASYNC_EINVAL);
    cr_assert_eq(async_spawn(&loop, &t, NULL, &s), ASYNC_EINVAL);
    cr_assert_eq(async_spawn(&loop, &t, sleeper_fn, NULL), ASYNC_EINVAL);
    cr_assert_eq(async_run(NULL), ASYNC_EINVAL);
    cr_assert_eq(async_run_until(&loop, NULL), ASYNC_EINVAL);
    cr_assert_str_eq(async_strerror(ASYNC_EDEADLK), "tasks remain that nothing can wake (deadlock)");
    cr_assert_eq(async_run(&loop), ASYNC_OK, "an empty loop has nothing to do");
}

Test(errors, tasks_awaiting_each_other_report_deadlock) {
    static async_task t[2];
    static awaiter w[2];
    vinit();
    w[0].other = &t[1];
    w[1].other = &t[0];
    w[0].log = w[1].log = &lg;
    async_spawn(&loop, &t[0], awaiter_fn, &w[0]);
    async_spawn(&loop, &t[1], awaiter_fn, &w[1]);
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK);
    cr_assert_eq(async_loop_pending(&loop), 2);
    /* cancelling one breaks the cycle */
    cr_assert_eq(async_cancel(&t[0]), 1);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_state(&t[0]), ASYNC_CANCELLED);
    cr_assert_eq(async_task_state(&t[1]), ASYNC_DONE);
}

Test(errors, async_main_runs_a_program) {
    static chain_st c;
    c.n = 2;
    cr_assert_eq(async_main(chain_fn, &c, ASYNC_VIRTUAL), ASYNC_OK);
    cr_assert_eq(ASYNC_RESULT(&c), (2 * 100 + 1) * 10 + 2);
}

/* ---- labels backend: suspension inside a switch of your own ------------------ */

#if defined(ASYNC_LABELS) && ASYNC_LABELS
static int switcher_fn(async_task *task, void *arg) {
    yielder *s = (yielder *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < 3; s->i++) {
        switch (s->i) {
        case 0:
            ASYNC_SLEEP_MS(1);
            log_add(s->log, 0, 0, ASYNC_NOW());
            break;
        case 1:
            ASYNC_YIELD();
            log_add(s->log, 1, 0, ASYNC_NOW());
            break;
        default:
            ASYNC_SLEEP_MS(2);
            log_add(s->log, 2, 0, ASYNC_NOW());
        }
    }
    ASYNC_END;
}

Test(labels, suspension_inside_a_user_switch) {
    static async_task t;
    static yielder y;
    vinit();
    y.log = &lg;
    async_spawn(&loop, &t, switcher_fn, &y);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(lg.n, 3);
    cr_assert_eq(lg.when[0], 1 * MS);
    cr_assert_eq(lg.when[1], 1 * MS);
    cr_assert_eq(lg.when[2], 3 * MS);
}
#endif

Test(labels, the_suite_was_built_with_the_backend_it_claims) {
    const char *want = getenv("ASYNC_TEST_LABELS");
#if defined(ASYNC_LABELS) && ASYNC_LABELS
    cr_assert(want && *want == '1', "labels build run without ASYNC_TEST_LABELS=1");
    cr_assert_eq(sizeof(async_frame), 2 * sizeof(intptr_t) + sizeof(intptr_t));
#else
    cr_assert(!want || *want != '1', "switch build run as the labels suite");
#endif
}

Test(memory, the_documented_sizes_hold_on_64_bit) {
    if (sizeof(void *) != 8) { /* 32-bit: pointers halve, so do the sizes */
        cr_assert_leq(sizeof(async_task), 64);
        cr_assert_leq(sizeof(async_frame), 16);
        return;
    }
#ifdef ASYNC_NO_INTROSPECTION
    cr_assert_eq(sizeof(async_task), 96);
#else
    cr_assert_eq(sizeof(async_task), 112, "96 + name and site");
#endif
    cr_assert_eq(sizeof(async_frame), (ASYNC_LABELS_ON ? 24 : 16));
    cr_assert_eq(sizeof(async_timeout), 72);
    cr_assert_eq(sizeof(async_waiter), 64);
#ifdef ASYNC_TIMER_HEAP
#define TIMER_BYTES 0
#else /* the wheel: 6 x 64 slot heads, 6 bitmaps, count, horizon, low, due list */
#define TIMER_BYTES (384 * 8 + 6 * 8 + 4 * 8)
#endif
#ifndef ASYNC_READ /* no I/O section: ASYNC_NO_IO, or a platform without it */
    cr_assert_eq(sizeof(async_loop), 136 + TIMER_BYTES);
#else
    cr_assert_eq(sizeof(async_loop), 216 + TIMER_BYTES);
#endif
#undef TIMER_BYTES
}

Test(version, the_macros_agree) {
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", ASYNC_VERSION_MAJOR, ASYNC_VERSION_MINOR,
             ASYNC_VERSION_PATCH);
    cr_assert_str_eq(ASYNC_VERSION, want);
    cr_assert_eq(ASYNC_VERSION_NUM,
                 ASYNC_VERSION_MAJOR * 10000 + ASYNC_VERSION_MINOR * 100 + ASYNC_VERSION_PATCH);
#if ASYNC_VERSION_NUM < 500
#error "usable in #if"
#endif
}
