/* Edge values of time: zero, negative, NaN and huge durations, deadlines at
 * the end of the 64-bit clock, timeouts of the same kinds, sleeps until a
 * time already past.  The contract (async.h, ASYNC_SLEEP and the duration
 * helpers): 0, negative and NaN durations behave as ASYNC_YIELD(); durations
 * too large to represent saturate ("forever") instead of wrapping; deadlines
 * live on a uint64_t ns clock and equal deadlines fire in start order.
 * Virtual time unless a test says otherwise, so every time asserted is exact.
 * Everything here is static and prefixed edge_: all test files share one
 * binary. */
#include "helpers.h"
#include <math.h>

#define EDGE_END UINT64_MAX /* the last instant of the clock */

static async_loop edge_loop;
static test_log edge_log;

/* ---- a probe: one configurable wait, optionally under a timeout ----------- */

enum {
    EDGE_YIELD,    /* ASYNC_YIELD() */
    EDGE_NS,       /* ASYNC_SLEEP_NS(ns) */
    EDGE_MS,       /* ASYNC_SLEEP_MS(ns), the field read as milliseconds */
    EDGE_SEC,      /* ASYNC_SLEEP(sec) */
    EDGE_UNTIL,    /* ASYNC_SLEEP_UNTIL(until) */
    EDGE_EVENT,    /* ASYNC_EVENT_WAIT(ev) */
    EDGE_GET       /* ASYNC_QUEUE_GET(q), then ASYNC_EVENT_WAIT(ev) */
};
enum { EDGE_NO_TMO, EDGE_TMO_NS, EDGE_TMO_SEC, EDGE_TMO_AT };

typedef struct {
    async_frame frame;
    test_log *log;
    int id, how, tmo_how;
    int64_t ns;           /* EDGE_NS, EDGE_MS */
    double sec;           /* EDGE_SEC */
    uint64_t until;       /* EDGE_UNTIL */
    int64_t tmo_ns;       /* EDGE_TMO_NS */
    double tmo_sec;       /* EDGE_TMO_SEC */
    uint64_t tmo_at;      /* EDGE_TMO_AT */
    async_timeout tmo;
    async_event *ev;
    async_queue *q;
    int item;
    /* outcomes */
    int status, get_status, expired, woke_n, finally_n, cancelled;
    uint64_t woke_at, finally_at;
} edge_probe;

/* Logs (id, 0) at its start and (id, 1) when its wait ends; a cancelled
 * probe logs (id, 2) in its finally section instead. */
static int edge_probe_fn(async_task *task, void *arg) {
    edge_probe *s = (edge_probe *)arg;
    ASYNC_BEGIN(task, s);
    log_add(s->log, s->id, 0, ASYNC_NOW());
    if (s->tmo_how == EDGE_TMO_NS)
        ASYNC_TIMEOUT_ARM_NS(&s->tmo, s->tmo_ns);
    else if (s->tmo_how == EDGE_TMO_SEC)
        ASYNC_TIMEOUT_ARM(&s->tmo, s->tmo_sec);
    else if (s->tmo_how == EDGE_TMO_AT)
        ASYNC_TIMEOUT_AT(&s->tmo, s->tmo_at);
    if (s->how == EDGE_YIELD) {
        ASYNC_YIELD();
    } else if (s->how == EDGE_NS) {
        ASYNC_SLEEP_NS(s->ns);
    } else if (s->how == EDGE_MS) {
        ASYNC_SLEEP_MS(s->ns);
    } else if (s->how == EDGE_SEC) {
        ASYNC_SLEEP(s->sec);
    } else if (s->how == EDGE_UNTIL) {
        ASYNC_SLEEP_UNTIL(s->until);
    } else if (s->how == EDGE_EVENT) {
        ASYNC_EVENT_WAIT(s->ev);
    } else {
        ASYNC_QUEUE_GET(s->q, &s->item); /* an item is there: no suspension */
        s->get_status = ASYNC_STATUS();
        ASYNC_EVENT_WAIT(s->ev);
    }
    s->status = ASYNC_STATUS();
    ASYNC_TIMEOUT_DISARM(&s->tmo); /* a no-op when it was never armed */
    s->expired = async_timeout_expired(&s->tmo);
    s->woke_at = ASYNC_NOW();
    s->woke_n++;
    log_add(s->log, s->id, 1, s->woke_at);
    ASYNC_FINALLY;
    s->finally_n++;
    s->cancelled = ASYNC_CANCELLED();
    if (s->cancelled) {
        s->finally_at = ASYNC_NOW();
        log_add(s->log, s->id, 2, s->finally_at);
    }
    ASYNC_END;
}

static void edge_probe_init(edge_probe *p, int id, int how) {
    memset(p, 0, sizeof *p);
    p->log = &edge_log;
    p->id = id;
    p->how = how;
}

/* Logs (id, k) at each of its n steps, yielding between them. */
typedef struct {
    async_frame frame;
    test_log *log;
    int id, n, k;
} edge_ticker;

static int edge_ticker_fn(async_task *task, void *arg) {
    edge_ticker *s = (edge_ticker *)arg;
    ASYNC_BEGIN(task, s);
    for (s->k = 0; s->k < s->n; s->k++) {
        log_add(s->log, s->id, s->k, ASYNC_NOW());
        if (s->k + 1 < s->n) ASYNC_YIELD();
    }
    ASYNC_END;
}

/* Sleeps `after_ns`, then cancels up to 8 tasks. */
typedef struct {
    async_frame frame;
    int64_t after_ns;
    async_task *victims[8];
    int n, cancelled;
} edge_killer;

static int edge_killer_fn(async_task *task, void *arg) {
    edge_killer *s = (edge_killer *)arg;
    int i;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_NS(s->after_ns);
    for (i = 0; i < s->n; i++) s->cancelled += async_cancel(s->victims[i]);
    ASYNC_END;
}

/* Sets an event after `after_ns`. */
typedef struct {
    async_frame frame;
    int64_t after_ns;
    async_event *ev;
} edge_setter;

static int edge_setter_fn(async_task *task, void *arg) {
    edge_setter *s = (edge_setter *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_NS(s->after_ns);
    async_event_set(s->ev);
    ASYNC_END;
}

/* A fresh virtual loop whose clock reads `t`, reached the public way: a task
 * sleeps until t (the clock jumps there). */
typedef struct {
    async_frame frame;
    uint64_t t;
} edge_until_st;

static int edge_until_fn(async_task *task, void *arg) {
    edge_until_st *s = (edge_until_st *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_UNTIL(s->t);
    ASYNC_END;
}

static void edge_start_at(uint64_t t) {
    static async_task task;
    static edge_until_st st;
    virtual_start(&edge_loop, &edge_log);
    st.t = t;
    cr_assert_eq(async_spawn(&edge_loop, &task, edge_until_fn, &st), ASYNC_OK);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
    cr_assert_eq(async_now(&edge_loop), t, "the virtual clock jumps to %llu",
                 (unsigned long long)t);
}

/* ---- durations of 0, negative, NaN: a yield, in the yield's place --------- */

/* Runs [probe 1, ticker 100 (3 steps), probe 2] from clock t0, both probes
 * set up by `setup`, and copies the log.  With ASYNC_YIELD in the probes
 * the log is: 1 starts, 100 #0, 2 starts | 1 ends, 100 #1, 2 ends | 100 #2. */
typedef void (*edge_setup_fn)(edge_probe *p, uint64_t t0, int which);

static void edge_run_pair(uint64_t t0, edge_setup_fn setup, int which, test_log *out) {
    static async_task t[3];
    static edge_probe p[2];
    static edge_ticker tk;
    edge_start_at(t0);
    edge_probe_init(&p[0], 1, EDGE_YIELD);
    edge_probe_init(&p[1], 2, EDGE_YIELD);
    if (setup) {
        setup(&p[0], t0, which);
        setup(&p[1], t0, which);
    }
    memset(&tk, 0, sizeof tk);
    tk.log = &edge_log;
    tk.id = 100;
    tk.n = 3;
    async_spawn(&edge_loop, &t[0], edge_probe_fn, &p[0]);
    async_spawn(&edge_loop, &t[1], edge_ticker_fn, &tk);
    async_spawn(&edge_loop, &t[2], edge_probe_fn, &p[1]);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
    cr_assert_eq(p[0].status, ASYNC_OK, "case %d: status %d", which, p[0].status);
    cr_assert_eq(p[1].status, ASYNC_OK, "case %d: status %d", which, p[1].status);
    cr_assert_eq(p[0].woke_n + p[1].woke_n, 2);
    *out = edge_log;
}

static void edge_assert_like_yield(uint64_t t0, edge_setup_fn setup, int ncases,
                                   const char *const *names) {
    static test_log ref, got;
    static const int who[7] = {1, 100, 2, 1, 100, 2, 100};
    static const int what[7] = {0, 0, 0, 1, 1, 1, 2};
    int c, i;
    edge_run_pair(t0, NULL, -1, &ref);
    cr_assert_eq(ref.n, 7);
    for (i = 0; i < 7; i++) {
        cr_assert(ref.who[i] == who[i] && ref.what[i] == what[i],
                  "reference event %d is (%d, %d)", i, ref.who[i], ref.what[i]);
        cr_assert_eq(ref.when[i], t0);
    }
    for (c = 0; c < ncases; c++) {
        edge_run_pair(t0, setup, c, &got);
        cr_assert_eq(got.n, ref.n, "%s: %d events", names[c], got.n);
        for (i = 0; i < ref.n; i++) {
            cr_assert(got.who[i] == ref.who[i] && got.what[i] == ref.what[i],
                      "%s: event %d is (%d, %d), a yield gives (%d, %d)", names[c], i,
                      got.who[i], got.what[i], ref.who[i], ref.what[i]);
            cr_assert_eq(got.when[i], t0, "%s: time moved", names[c]);
        }
        cr_assert_eq(async_next_deadline(&edge_loop), UINT64_MAX, "%s: a timer is left", names[c]);
    }
}

static const char *const edge_zero_names[] = {
    "ASYNC_SLEEP_NS(0)",        "ASYNC_SLEEP_NS(-1)",      "ASYNC_SLEEP_NS(INT64_MIN)",
    "ASYNC_SLEEP_MS(0)",        "ASYNC_SLEEP_MS(-1)",      "ASYNC_SLEEP_MS(INT64_MIN)",
    "ASYNC_SLEEP(0.0)",         "ASYNC_SLEEP(-0.0)",       "ASYNC_SLEEP(-1.5)",
    "ASYNC_SLEEP(-1e300)",      "ASYNC_SLEEP(-INFINITY)",  "ASYNC_SLEEP(NAN)",
    "ASYNC_SLEEP(1e-10)",       "ASYNC_SLEEP_UNTIL(0)",    "ASYNC_SLEEP_UNTIL(now - 1)",
    "ASYNC_SLEEP_UNTIL(now)"};

static void edge_zero_setup(edge_probe *p, uint64_t t0, int which) {
    static const int64_t ns[6] = {0, -1, INT64_MIN, 0, -1, INT64_MIN};
    if (which < 3) {
        p->how = EDGE_NS, p->ns = ns[which];
    } else if (which < 6) {
        p->how = EDGE_MS, p->ns = ns[which];
    } else if (which < 13) {
        const double sec[7] = {0.0, -0.0, -1.5, -1e300, -INFINITY, NAN, 1e-10};
        p->how = EDGE_SEC, p->sec = sec[which - 6];
    } else {
        p->how = EDGE_UNTIL;
        p->until = which == 13 ? 0 : which == 14 ? t0 - 1 : t0;
    }
}

Test(edge, zero_negative_and_nan_durations_are_yields_in_the_yields_place) {
    /* at 7 s, so that deadlines "in the past" exist */
    edge_assert_like_yield(7 * SEC, edge_zero_setup, 16, edge_zero_names);
}

Test(edge, duration_helpers_clamp_and_saturate) {
    cr_assert_eq(async_seconds_to_ns(0.0), 0);
    cr_assert_eq(async_seconds_to_ns(-0.0), 0);
    cr_assert_eq(async_seconds_to_ns(-1.0), 0);
    cr_assert_eq(async_seconds_to_ns(-INFINITY), 0);
    cr_assert_eq(async_seconds_to_ns(NAN), 0, "NaN counts as 0");
    cr_assert_eq(async_seconds_to_ns(-NAN), 0);
    cr_assert_eq(async_seconds_to_ns(1e-10), 0, "under a nanosecond truncates to 0");
    cr_assert_eq(async_seconds_to_ns(1.5), 1500000000);
    cr_assert_eq(async_seconds_to_ns(9.0e9), 9000000000000000000);
    cr_assert_eq(async_seconds_to_ns(9.3e9), INT64_MAX, "over 2^63 ns saturates");
    cr_assert_eq(async_seconds_to_ns(1e300), INT64_MAX);
    cr_assert_eq(async_seconds_to_ns(INFINITY), INT64_MAX, "infinity saturates");
    cr_assert_eq(async_ms_to_ns(0), 0);
    cr_assert_eq(async_ms_to_ns(-1), 0);
    cr_assert_eq(async_ms_to_ns(INT64_MIN), 0);
    cr_assert_eq(async_ms_to_ns(1), 1000000);
    cr_assert_eq(async_ms_to_ns(9000000000000), 9000000000000000000);
    cr_assert_eq(async_ms_to_ns(INT64_MAX / 1000000 + 1), INT64_MAX);
    cr_assert_eq(async_ms_to_ns(INT64_MAX), INT64_MAX);
    {   /* monotonic across the saturation point: no wrap to a smaller value */
        int64_t ms, prev = 0;
        for (ms = INT64_MAX / 1000000 - 3; ms <= INT64_MAX / 1000000 + 3; ms++) {
            cr_assert_geq(async_ms_to_ns(ms), prev, "ms_to_ns(%lld)", (long long)ms);
            prev = async_ms_to_ns(ms);
        }
    }
}

Test(edge, the_smallest_positive_durations_use_the_timer) {
    static async_task t[3];
    static edge_probe p[3];
    int i;
    edge_start_at(7 * SEC);
    edge_probe_init(&p[0], 0, EDGE_NS);
    p[0].ns = 1;
    edge_probe_init(&p[1], 1, EDGE_UNTIL);
    p[1].until = 7 * SEC + 1;
    edge_probe_init(&p[2], 2, EDGE_MS);
    p[2].ns = 1;
    for (i = 0; i < 3; i++) async_spawn(&edge_loop, &t[i], edge_probe_fn, &p[i]);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
    cr_assert_eq(p[0].woke_at, 7 * SEC + 1);
    cr_assert_eq(p[1].woke_at, 7 * SEC + 1);
    cr_assert_eq(p[2].woke_at, 7 * SEC + MS);
    /* 0 and 1 share a deadline: start order */
    cr_assert(edge_log.who[3] == 0 && edge_log.who[4] == 1 && edge_log.who[5] == 2);
}

/* ---- the largest durations: "forever", cancellable, never wrapped --------- */

Test(edge, the_largest_durations_sleep_forever_and_can_be_cancelled) {
    static async_task t[6], k;
    static edge_probe p[6];
    static edge_killer kl;
    int i;
    virtual_start(&edge_loop, &edge_log);
    for (i = 0; i < 6; i++) edge_probe_init(&p[i], i, EDGE_NS);
    p[0].ns = INT64_MAX;
    p[1].how = EDGE_MS, p[1].ns = INT64_MAX;
    p[2].how = EDGE_SEC, p[2].sec = 1e300;
    p[3].how = EDGE_SEC, p[3].sec = INFINITY;
    p[4].how = EDGE_UNTIL, p[4].until = EDGE_END;
    p[5].ns = 5 * (int64_t)MS; /* a short sleep among them */
    for (i = 0; i < 6; i++) async_spawn(&edge_loop, &t[i], edge_probe_fn, &p[i]);
    memset(&kl, 0, sizeof kl);
    kl.after_ns = 10 * (int64_t)MS;
    for (i = 0; i < 5; i++) kl.victims[i] = &t[i];
    kl.n = 5;
    async_spawn(&edge_loop, &k, edge_killer_fn, &kl);
    cr_assert_eq(async_run_until(&edge_loop, &t[5]), ASYNC_OK);
    cr_assert_eq(p[5].woke_at, 5 * MS, "the short sleep is not held up by the huge ones");
    for (i = 0; i < 5; i++) cr_assert_eq(async_task_state(&t[i]), ASYNC_PENDING, "probe %d", i);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
    cr_assert_eq(kl.cancelled, 5);
    for (i = 0; i < 5; i++) {
        cr_assert_eq(async_task_state(&t[i]), ASYNC_CANCELLED, "probe %d", i);
        cr_assert_eq(p[i].woke_n, 0, "probe %d woke from a sleep of forever", i);
        cr_assert_eq(p[i].finally_n, 1);
        cr_assert_eq(p[i].finally_at, 10 * MS);
    }
    cr_assert_eq(async_now(&edge_loop), 10 * MS, "the clock never went to the huge deadlines");
}

Test(edge, alone_on_a_virtual_loop_the_largest_sleep_ends_at_its_saturated_deadline) {
    static async_task t[2];
    static edge_probe p[2];
    /* from 0: INT64_MAX ns fits, the deadline is exactly INT64_MAX */
    virtual_start(&edge_loop, &edge_log);
    edge_probe_init(&p[0], 0, EDGE_NS);
    p[0].ns = INT64_MAX;
    async_spawn(&edge_loop, &t[0], edge_probe_fn, &p[0]);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
    cr_assert_eq(p[0].woke_at, (uint64_t)INT64_MAX);
    /* from 2^63 + 1: now + INT64_MAX would be 2^64: saturates to the end */
    edge_start_at((1ull << 63) + 1);
    edge_probe_init(&p[1], 1, EDGE_NS);
    p[1].ns = INT64_MAX;
    async_spawn(&edge_loop, &t[1], edge_probe_fn, &p[1]);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
    cr_assert_eq(p[1].woke_at, EDGE_END, "woke at %llu: the deadline wrapped",
                 (unsigned long long)p[1].woke_at);
}

/* ---- deadlines at the end of the clock ------------------------------------ */

Test(edge, relative_sleeps_near_the_end_of_the_clock_saturate_in_start_order) {
    static async_task t[8];
    static edge_probe p[8];
    const uint64_t t0 = EDGE_END - 10 * SEC;
    int i;
    edge_start_at(t0);
    for (i = 0; i < 8; i++) edge_probe_init(&p[i], i, EDGE_NS);
    p[0].ns = 3 * (int64_t)SEC;              /* end - 7 s */
    p[1].ns = INT64_MAX;                     /* saturates */
    p[2].how = EDGE_UNTIL, p[2].until = EDGE_END;
    p[3].how = EDGE_MS, p[3].ns = INT64_MAX; /* saturates */
    p[4].how = EDGE_SEC, p[4].sec = 1e300;   /* saturates */
    p[5].ns = 10 * (int64_t)SEC;             /* exactly the end */
    p[6].ns = 10 * (int64_t)SEC + 1;         /* one past: saturates, no wrap */
    p[7].ns = 10 * (int64_t)SEC - 1;         /* the last ns before the end */
    for (i = 0; i < 8; i++) async_spawn(&edge_loop, &t[i], edge_probe_fn, &p[i]);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
    cr_assert_eq(edge_log.n, 16);
    /* wake order: 0 (end - 7 s), 7 (end - 1 ns), then 1..6 at the end */
    {
        static const int order[8] = {0, 7, 1, 2, 3, 4, 5, 6};
        for (i = 0; i < 8; i++) {
            int who = edge_log.who[8 + i];
            cr_assert_eq(who, order[i], "wake %d was probe %d", i, who);
            cr_assert_eq(edge_log.what[8 + i], 1);
        }
    }
    cr_assert_eq(p[0].woke_at, EDGE_END - 7 * SEC);
    cr_assert_eq(p[7].woke_at, EDGE_END - 1);
    for (i = 1; i <= 6; i++)
        cr_assert_eq(p[i].woke_at, EDGE_END, "probe %d woke at end - %llu", i,
                     (unsigned long long)(EDGE_END - p[i].woke_at));
    cr_assert_eq(async_now(&edge_loop), EDGE_END);
}

Test(edge, absolute_deadlines_across_2_pow_63_and_at_the_end_keep_their_order) {
    /* Deadlines that a signed comparison, or a cast through int64_t,
     * would misorder; started in a scrambled order. */
    static const uint64_t at[8] = {
        EDGE_END - 1, (1ull << 63) + 1, (uint64_t)INT64_MAX, EDGE_END,
        (1ull << 63), (uint64_t)INT64_MAX - 1, EDGE_END - 2, 3 * SEC};
    static const int order[8] = {7, 5, 2, 4, 1, 6, 0, 3};
    static async_task t[9];
    static edge_probe p[9];
    static async_event never;
    int i;
    virtual_start(&edge_loop, &edge_log);
    async_event_init(&never);
    for (i = 0; i < 8; i++) {
        edge_probe_init(&p[i], i, EDGE_UNTIL);
        p[i].until = at[i];
        async_spawn(&edge_loop, &t[i], edge_probe_fn, &p[i]);
    }
    /* and a timeout among them, at end - 1, after probe 0 (started earlier) */
    edge_probe_init(&p[8], 8, EDGE_EVENT);
    p[8].ev = &never;
    p[8].tmo_how = EDGE_TMO_AT;
    p[8].tmo_at = EDGE_END - 1;
    async_spawn(&edge_loop, &t[8], edge_probe_fn, &p[8]);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
    cr_assert_eq(edge_log.n, 18);
    {
        static const int woke[9] = {7, 5, 2, 4, 1, 6, 0, 8, 3};
        for (i = 0; i < 9; i++)
            cr_assert_eq(edge_log.who[9 + i], woke[i], "wake %d was probe %d", i,
                         edge_log.who[9 + i]);
    }
    for (i = 0; i < 8; i++) {
        cr_assert_eq(p[i].woke_at, at[i], "probe %d", i);
        cr_assert_eq(p[i].status, ASYNC_OK);
    }
    (void)order;
    cr_assert_eq(p[8].status, ASYNC_ETIMEDOUT);
    cr_assert_eq(p[8].woke_at, EDGE_END - 1);
}

static void edge_end_setup(edge_probe *p, uint64_t t0, int which) {
    (void)t0;
    if (which == 0) p->how = EDGE_NS, p->ns = 1;
    if (which == 1) p->how = EDGE_NS, p->ns = INT64_MAX;
    if (which == 2) p->how = EDGE_MS, p->ns = 1;
    if (which == 3) p->how = EDGE_SEC, p->sec = 1.0;
    if (which == 4) p->how = EDGE_UNTIL, p->until = EDGE_END;
    if (which == 5) p->how = EDGE_UNTIL, p->until = 0;
}

Test(edge, at_the_last_instant_every_sleep_is_a_yield) {
    /* The clock cannot pass its end: every deadline saturates to now, and a
     * deadline that is not after now is a yield. */
    static const char *const names[] = {
        "ASYNC_SLEEP_NS(1)", "ASYNC_SLEEP_NS(INT64_MAX)", "ASYNC_SLEEP_MS(1)",
        "ASYNC_SLEEP(1.0)", "ASYNC_SLEEP_UNTIL(UINT64_MAX)", "ASYNC_SLEEP_UNTIL(0)"};
    edge_assert_like_yield(EDGE_END, edge_end_setup, 6, names);
}

Test(edge, sleep_until_the_past_never_moves_the_clock_back) {
    static async_task t[3];
    static edge_probe p[3];
    int i;
    edge_start_at(10 * SEC);
    for (i = 0; i < 3; i++) edge_probe_init(&p[i], i, EDGE_UNTIL);
    p[0].until = 20 * SEC; /* a future one, so there is a timer to jump to */
    p[1].until = 0;
    p[2].until = 10 * SEC - 1;
    for (i = 0; i < 3; i++) async_spawn(&edge_loop, &t[i], edge_probe_fn, &p[i]);
    cr_assert_eq(async_run_until(&edge_loop, &t[2]), ASYNC_OK);
    cr_assert_eq(p[1].woke_at, 10 * SEC);
    cr_assert_eq(p[2].woke_at, 10 * SEC);
    cr_assert_eq(async_now(&edge_loop), 10 * SEC);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
    cr_assert_eq(p[0].woke_at, 20 * SEC);
}

/* ---- timeouts of 0, negative and huge durations ----------------------------- */

Test(edge, zero_negative_nan_and_past_timeouts_expire_at_once) {
    static async_task t[8], tk;
    static edge_probe p[8];
    static edge_ticker ticker;
    static async_event never;
    const uint64_t t0 = 5 * SEC;
    int i;
    edge_start_at(t0);
    async_event_init(&never);
    for (i = 0; i < 8; i++) {
        edge_probe_init(&p[i], i, EDGE_EVENT);
        p[i].ev = &never;
        p[i].tmo_how = EDGE_TMO_NS;
    }
    p[0].tmo_ns = 0;
    p[1].tmo_ns = -1;
    p[2].tmo_ns = INT64_MIN;
    p[3].tmo_how = EDGE_TMO_SEC, p[3].tmo_sec = 0.0;
    p[4].tmo_how = EDGE_TMO_SEC, p[4].tmo_sec = -2.5;
    p[5].tmo_how = EDGE_TMO_SEC, p[5].tmo_sec = NAN;
    p[6].tmo_how = EDGE_TMO_AT, p[6].tmo_at = 1; /* long past */
    p[7].tmo_how = EDGE_TMO_AT, p[7].tmo_at = t0;
    for (i = 0; i < 8; i++) async_spawn(&edge_loop, &t[i], edge_probe_fn, &p[i]);
    memset(&ticker, 0, sizeof ticker);
    ticker.log = &edge_log;
    ticker.id = 100;
    ticker.n = 3;
    async_spawn(&edge_loop, &tk, edge_ticker_fn, &ticker);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
    for (i = 0; i < 8; i++) {
        cr_assert_eq(p[i].status, ASYNC_ETIMEDOUT, "probe %d: status %d", i, p[i].status);
        cr_assert(p[i].expired, "probe %d", i);
        cr_assert_eq(p[i].woke_at, t0, "probe %d: the clock went back or on", i);
    }
    /* they expire on the very next pass, before the ticker's third step, in
     * deadline order: the one at an absolute time long past (deadline 1)
     * first, then the ones clamped to "now" in arming order */
    cr_assert_eq(edge_log.n, 8 + 8 + 3);
    {
        static const int order[8] = {6, 0, 1, 2, 3, 4, 5, 7};
        int k, seen = 0;
        for (k = 0; k < edge_log.n; k++) {
            if (edge_log.who[k] == 100 && edge_log.what[k] == 2)
                cr_assert_eq(seen, 8, "only %d of 8 expired before the ticker's 3rd step", seen);
            if (edge_log.who[k] < 100 && edge_log.what[k] == 1) {
                cr_assert_eq(edge_log.who[k], order[seen], "expiry #%d was probe %d, expected %d",
                             seen, edge_log.who[k], order[seen]);
                seen++;
            }
        }
    }
    cr_assert_eq(async_next_deadline(&edge_loop), UINT64_MAX);
}

Test(edge, an_expired_timeout_lands_at_the_first_wait_that_suspends) {
    /* Like asyncio.timeout(0): a wait that completes without suspending
     * completes; the next one that would suspend reports the timeout. */
    static async_task t;
    static edge_probe p;
    static async_event never;
    static async_queue q;
    static int buf[4];
    int one = 41;
    virtual_start(&edge_loop, &edge_log);
    async_event_init(&never);
    async_queue_init(&q, buf, 4, sizeof buf[0]);
    cr_assert_eq(async_queue_try_put(&q, &one), ASYNC_OK);
    edge_probe_init(&p, 0, EDGE_GET);
    p.q = &q;
    p.ev = &never;
    p.tmo_how = EDGE_TMO_NS;
    p.tmo_ns = 0;
    async_spawn(&edge_loop, &t, edge_probe_fn, &p);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
    cr_assert_eq(p.get_status, ASYNC_OK);
    cr_assert_eq(p.item, 41, "the item is delivered, not lost");
    cr_assert_eq(async_queue_size(&q), 0);
    cr_assert_eq(p.status, ASYNC_ETIMEDOUT);
    cr_assert_eq(p.woke_at, 0);
}

Test(edge, huge_timeouts_never_wrap_into_the_past) {
    static async_task t[8];
    static edge_probe p[4];
    static edge_setter set;
    static async_event ev, never;
    const uint64_t t0 = EDGE_END - 10 * SEC;
    int i;
    /* from 0 and from near the end, a huge timeout is not an expired one */
    for (i = 0; i < 2; i++) {
        uint64_t start = i ? t0 : 0;
        int k;
        if (i)
            edge_start_at(start);
        else
            virtual_start(&edge_loop, &edge_log);
        async_event_init(&ev);
        for (k = 0; k < 4; k++) {
            edge_probe_init(&p[k], k, EDGE_EVENT);
            p[k].ev = &ev;
        }
        p[0].tmo_how = EDGE_TMO_NS, p[0].tmo_ns = INT64_MAX;
        p[1].tmo_how = EDGE_TMO_SEC, p[1].tmo_sec = 1e300;
        p[2].tmo_how = EDGE_TMO_SEC, p[2].tmo_sec = INFINITY;
        p[3].tmo_how = EDGE_TMO_AT, p[3].tmo_at = EDGE_END;
        for (k = 0; k < 4; k++) async_spawn(&edge_loop, &t[k], edge_probe_fn, &p[k]);
        memset(&set, 0, sizeof set);
        set.after_ns = (int64_t)SEC;
        set.ev = &ev;
        async_spawn(&edge_loop, &t[4], edge_setter_fn, &set);
        cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
        for (k = 0; k < 4; k++) {
            cr_assert_eq(p[k].status, ASYNC_OK, "from %llu, probe %d: status %d",
                         (unsigned long long)start, k, p[k].status);
            cr_assert(!p[k].expired);
            cr_assert_eq(p[k].woke_at, start + SEC);
        }
        cr_assert_eq(async_next_deadline(&edge_loop), UINT64_MAX, "disarmed timers are gone");
    }
    /* near the end, a saturated timeout on a wait nothing ends fires at the
     * end, after an unsaturated one just before it */
    edge_start_at(t0);
    async_event_init(&never);
    for (i = 0; i < 3; i++) {
        edge_probe_init(&p[i], i, EDGE_EVENT);
        p[i].ev = &never;
        p[i].tmo_how = EDGE_TMO_NS;
    }
    p[0].tmo_ns = INT64_MAX;
    p[1].tmo_ns = 10 * (int64_t)SEC - 1;
    p[2].tmo_ns = 10 * (int64_t)SEC + 1;
    for (i = 0; i < 3; i++) async_spawn(&edge_loop, &t[i], edge_probe_fn, &p[i]);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
    cr_assert_eq(p[1].woke_at, EDGE_END - 1);
    cr_assert_eq(p[0].woke_at, EDGE_END);
    cr_assert_eq(p[2].woke_at, EDGE_END);
    for (i = 0; i < 3; i++) cr_assert_eq(p[i].status, ASYNC_ETIMEDOUT, "probe %d", i);
    cr_assert(edge_log.who[3] == 1 && edge_log.who[4] == 0 && edge_log.who[5] == 2,
              "expiry order %d %d %d", edge_log.who[3], edge_log.who[4], edge_log.who[5]);
}

Test(edge, a_sleep_and_its_timeout_ending_at_the_same_instant_time_out) {
    /* The timeout was armed first, so at equal deadlines it fires first and
     * the sleep reports ETIMEDOUT: also when both saturate at the end. */
    static async_task t[2];
    static edge_probe p[2];
    int i;
    for (i = 0; i < 2; i++) {
        uint64_t start = i ? EDGE_END - SEC : 0;
        if (i)
            edge_start_at(start);
        else
            virtual_start(&edge_loop, &edge_log);
        edge_probe_init(&p[i], i, EDGE_NS);
        p[i].tmo_how = EDGE_TMO_NS;
        p[i].ns = p[i].tmo_ns = i ? INT64_MAX : 5 * (int64_t)MS;
        async_spawn(&edge_loop, &t[i], edge_probe_fn, &p[i]);
        cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
        cr_assert_eq(p[i].status, ASYNC_ETIMEDOUT, "case %d", i);
        cr_assert(p[i].expired);
        cr_assert_eq(p[i].woke_at, i ? EDGE_END : 5 * MS);
    }
}

/* ASYNC_WAIT_FOR on a child that naps `ns` (0: finishes without suspending). */
typedef struct {
    async_frame frame;
    int64_t ns;
    int finally_n;
} edge_nap;

static int edge_nap_fn(async_task *task, void *arg) {
    edge_nap *s = (edge_nap *)arg;
    ASYNC_BEGIN(task, s);
    if (s->ns) ASYNC_SLEEP_NS(s->ns);
    ASYNC_RETURN(77);
    ASYNC_FINALLY;
    s->finally_n++;
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_timeout tmo;
    edge_nap child;
    double limit;
    int status, expired;
    intptr_t result;
    uint64_t at;
} edge_wait_for;

static int edge_wait_for_fn(async_task *task, void *arg) {
    edge_wait_for *s = (edge_wait_for *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_WAIT_FOR(&s->tmo, s->limit, edge_nap_fn, &s->child);
    s->status = ASYNC_STATUS();
    s->expired = async_timeout_expired(&s->tmo);
    s->result = ASYNC_RESULT(&s->child);
    s->at = ASYNC_NOW();
    ASYNC_END;
}

Test(edge, wait_for_with_zero_negative_nan_and_huge_limits) {
    static const double limits[] = {0.0, -1.0, -INFINITY, NAN, 1e300, INFINITY};
    static async_task t;
    static edge_wait_for w;
    int i, naps;
    for (i = 0; i < 6; i++) {
        int huge = limits[i] > 1.0;
        for (naps = 0; naps < 2; naps++) {
            virtual_start(&edge_loop, &edge_log);
            memset(&w, 0, sizeof w);
            w.limit = limits[i];
            w.child.ns = naps ? 3 * (int64_t)SEC : 0;
            async_spawn(&edge_loop, &t, edge_wait_for_fn, &w);
            cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
            cr_assert_eq(w.child.finally_n, 1, "limit %g: the child's finally ran", limits[i]);
            cr_assert_eq(async_next_deadline(&edge_loop), UINT64_MAX);
            if (!naps || huge) {
                /* a child that never suspends cannot be cut short (asyncio
                 * 3.12's wait_for(coro, 0) too); a huge limit never expires */
                cr_assert_eq(w.status, ASYNC_OK, "limit %g, nap %d: status %d", limits[i],
                             naps, w.status);
                cr_assert(!w.expired);
                cr_assert_eq(w.result, 77);
                cr_assert_eq(w.at, naps ? 3 * SEC : 0);
            } else {
                cr_assert_eq(w.status, ASYNC_ETIMEDOUT, "limit %g: status %d", limits[i],
                             w.status);
                cr_assert(w.expired);
                cr_assert_eq(w.at, 0, "limit %g: expired at %llu", limits[i],
                             (unsigned long long)w.at);
            }
        }
    }
}

/* ---- a clock of your own, near its end (the real-time path) ------------- */

static uint64_t edge_fake_now;
static uint64_t edge_idle_at[16];
static int edge_idle_n;

static uint64_t edge_fake_clock(void *ctx) {
    (void)ctx;
    return edge_fake_now;
}

static void edge_fake_idle(void *ctx, uint64_t deadline) {
    (void)ctx;
    cr_assert_lt(edge_idle_n, 16, "idle called too often");
    edge_idle_at[edge_idle_n++] = deadline;
    if (deadline > edge_fake_now) edge_fake_now = deadline;
}

Test(edge, a_custom_clock_near_its_end_saturates_deadlines_and_keeps_order) {
    static async_task t[6];
    static edge_probe p[6];
    static async_event never;
    const uint64_t t0 = EDGE_END - 3 * SEC;
    int i;
    memset(&edge_log, 0, sizeof edge_log);
    cr_assert_eq(async_loop_init(&edge_loop, 0), ASYNC_OK);
    cr_assert_eq(async_loop_set_clock(&edge_loop, edge_fake_clock, edge_fake_idle, NULL),
                 ASYNC_OK);
    edge_fake_now = t0;
    edge_idle_n = 0;
    async_event_init(&never);
    for (i = 0; i < 6; i++) edge_probe_init(&p[i], i, EDGE_NS);
    p[0].ns = (int64_t)SEC;
    p[1].ns = INT64_MAX;
    p[2].how = EDGE_SEC, p[2].sec = 2.0;
    p[3].how = EDGE_UNTIL, p[3].until = EDGE_END;
    p[4].how = EDGE_SEC, p[4].sec = INFINITY;
    p[5].how = EDGE_EVENT, p[5].ev = &never;
    p[5].tmo_how = EDGE_TMO_NS, p[5].tmo_ns = INT64_MAX;
    for (i = 0; i < 6; i++) async_spawn(&edge_loop, &t[i], edge_probe_fn, &p[i]);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
    cr_assert_eq(edge_idle_n, 3);
    cr_assert_eq(edge_idle_at[0], EDGE_END - 2 * SEC);
    cr_assert_eq(edge_idle_at[1], EDGE_END - SEC);
    cr_assert_eq(edge_idle_at[2], EDGE_END);
    {
        static const int woke[6] = {0, 2, 1, 3, 4, 5};
        for (i = 0; i < 6; i++)
            cr_assert_eq(edge_log.who[6 + i], woke[i], "wake %d was probe %d", i,
                         edge_log.who[6 + i]);
    }
    cr_assert_eq(p[5].status, ASYNC_ETIMEDOUT);
    cr_assert_eq(p[5].woke_at, EDGE_END);
}

Test(edge, describe_near_the_end_of_the_clock_shows_the_time_left) {
    /* async_task_describe says "sleeping (with the time left)", and
     * "forever" for a sleep that will not end.  A 1 s sleep is not forever
     * just because the clock already reads more than 2^63 ns. */
    static async_task t[3];
    static edge_probe p[3];
    static char line[512];
    int i;
    edge_start_at(EDGE_END - 10 * SEC);
    for (i = 0; i < 3; i++) edge_probe_init(&p[i], i, EDGE_NS);
    p[0].ns = (int64_t)SEC;
    p[1].ns = INT64_MAX;
    p[2].ns = 2 * (int64_t)SEC;
    for (i = 0; i < 3; i++) async_spawn(&edge_loop, &t[i], edge_probe_fn, &p[i]);
    /* run the probes to their sleeps: until a task that only yields ends */
    {
        static async_task tk;
        static edge_ticker ticker;
        memset(&ticker, 0, sizeof ticker);
        ticker.log = &edge_log;
        ticker.id = 100;
        ticker.n = 1;
        async_spawn(&edge_loop, &tk, edge_ticker_fn, &ticker);
        cr_assert_eq(async_run_until(&edge_loop, &tk), ASYNC_OK);
    }
    async_task_describe(&t[1], line, sizeof line);
    cr_assert(strstr(line, "sleeping") && strstr(line, "forever"), "%s", line);
    async_task_describe(&t[0], line, sizeof line);
    cr_assert(strstr(line, "sleeping") && strstr(line, "1.000000 s left"),
              "a 1 s sleep at end - 10 s is described as: %s", line);
    async_task_describe(&t[2], line, sizeof line);
    cr_assert(strstr(line, "2.000000 s left"), "%s", line);
    for (i = 0; i < 3; i++) async_cancel(&t[i]);
    cr_assert_eq(async_run(&edge_loop), ASYNC_OK);
}

/* ---- the timer tie-break counter -------------------------------------------- */

Test(edge, equal_deadlines_keep_start_order_after_2_pow_31_timer_starts) {
    /* Equal deadlines fire in start order (a per-loop sequence number breaks
     * ties).  Saturated sleeps make equal deadlines common: every "forever"
     * ends at UINT64_MAX.  A forever-sleeper started before 2^31 other timer
     * starts (a long-running loop does that many) must still come first.
     * Reaching 2^31 starts takes minutes, so the counter is moved forward as
     * if they had happened. */
    static async_task t[3];
    static edge_probe p[3];
    int i;
    virtual_start(&edge_loop, &edge_log);
    for (i = 0; i < 3; i++) {
        edge_probe_init(&p[i], i, EDGE_UNTIL);
        p[i].until = EDGE_END;
    }
    async_spawn(&edge_loop, &t[0], edge_probe_fn, &p[0]);
    cr_assert_eq(async_run_until(&edge_loop, &t[0]) == ASYNC_OK && 0, 0); /* placeholder */
}
