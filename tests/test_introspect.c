/* Introspection: task names, async_task_describe, async_dump, and misuse
 * reports that name the task concerned.  Assertions are routed to a longjmp
 * here so each message and task can be inspected. */
#include <setjmp.h>
static jmp_buf intro_jump;
static const char *intro_msg;
static const void *intro_task;
static void intro_hit(const char *msg, const void *task) {
    intro_msg = msg;
    intro_task = task;
    longjmp(intro_jump, 1);
}
#define ASYNC_ASSERT(cond, msg) ((cond) ? (void)0 : intro_hit((msg), NULL))
#define ASYNC_ASSERT_TASK(cond, msg, task) ((cond) ? (void)0 : intro_hit((msg), (task)))
#include "helpers.h"

/* Runs `what`; the assertion message it raised, or NULL. */
#define INTRO_CAPTURE(what)                                                   \
    (intro_msg = NULL, intro_task = NULL,                                     \
     setjmp(intro_jump) == 0 ? ((what), (const char *)NULL) : intro_msg)

static char intro_line[512];
static const char *describe(const async_task *t) {
    async_task_describe(t, intro_line, sizeof intro_line);
    return intro_line;
}
#define HAS(s, sub) cr_assert(strstr((s), (sub)) != NULL, "\"%s\" lacks \"%s\"", (s), (sub))

typedef struct {
    async_frame frame;
    int what;                 /* which wait */
    async_queue *q;
    async_event *e;
    async_semaphore *sem;
    async_task *other;
    async_io *io;
    int item;
} intro_st;

enum { W_SLEEP, W_GET, W_PUT, W_EVENT, W_SEM, W_TASK, W_IO, W_YIELD, W_FOREVER, W_IO_OUT };

static int intro_fn(async_task *task, void *arg) {
    intro_st *s = (intro_st *)arg;
    ASYNC_BEGIN(task, s);
    if (s->what == W_SLEEP) ASYNC_SLEEP_MS(1500);
    else if (s->what == W_FOREVER) ASYNC_SLEEP_NS(INT64_MAX);
    else if (s->what == W_GET) ASYNC_QUEUE_GET(s->q, &s->item);
    else if (s->what == W_PUT) ASYNC_QUEUE_PUT(s->q, &s->item);
    else if (s->what == W_EVENT) ASYNC_EVENT_WAIT(s->e);
    else if (s->what == W_SEM) ASYNC_SEM_ACQUIRE(s->sem);
    else if (s->what == W_TASK) ASYNC_AWAIT_TASK(s->other);
    else if (s->what == W_IO) ASYNC_IO_WAIT(s->io, ASYNC_READ);
    else if (s->what == W_IO_OUT) ASYNC_IO_WAIT(s->io, ASYNC_WRITE);
    else ASYNC_YIELD();
    ASYNC_RETURN(7);
    ASYNC_END;
}

/* A marker task: run_until it to advance a virtual loop by `ms`. */
static int intro_tick(async_task *task, void *arg) {
    async_frame *f = (async_frame *)arg;
    ASYNC_BEGIN(task, f);
    ASYNC_SLEEP_MS(1);
    ASYNC_END;
}

Test(introspect, names_belong_to_the_spawn) {
    static async_loop loop;
    static async_task t;
    static intro_st s;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    cr_assert_eq(async_spawn_named(&loop, &t, intro_fn, &s, "worker"), ASYNC_OK);
    cr_assert_str_eq(async_task_name(&t), "worker");
    async_task_set_name(&t, "renamed");
    cr_assert_str_eq(async_task_name(&t), "renamed");
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_str_eq(async_task_name(&t), "renamed", "a done task keeps its name");
    cr_assert_eq(async_spawn(&loop, &t, intro_fn, &s), ASYNC_OK);
    cr_assert_null(async_task_name(&t), "spawning again clears the name");
    cr_assert_eq(async_run(&loop), ASYNC_OK);
}

Test(introspect, describe_says_where_and_on_what_each_task_waits) {
    static async_loop loop;
    static async_task t[9], tick;
    static intro_st s[9];
    static async_frame tf;
    static async_queue q, full;
    static int qbuf[4], fbuf[1];
    static async_event e;
    static async_semaphore sem;
    const char *d;
    int i = 0;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_queue_init(&q, qbuf, 4, sizeof(int));
    async_queue_init(&full, fbuf, 1, sizeof(int));
    cr_assert_eq(async_queue_try_put(&full, &i), ASYNC_OK);
    async_event_init(&e);
    async_semaphore_init(&sem, 0);
    s[0].what = W_SLEEP;
    s[1].what = W_GET, s[1].q = &q;
    s[2].what = W_PUT, s[2].q = &full;
    s[3].what = W_EVENT, s[3].e = &e;
    s[4].what = W_SEM, s[4].sem = &sem;
    s[5].what = W_TASK, s[5].other = &t[3];
    s[6].what = W_FOREVER;
    s[7].what = W_GET, s[7].q = &q;
    for (i = 0; i < 8; i++) cr_assert_eq(async_spawn(&loop, &t[i], intro_fn, &s[i]), ASYNC_OK);
    async_task_set_name(&t[0], "sleeper");
    async_task_set_name(&t[3], "waiter");

    d = describe(&t[0]);
    HAS(d, "\"sleeper\" ready, not started");
    async_spawn(&loop, &tick, intro_tick, &tf);
    cr_assert_eq(async_run_until(&loop, &tick), ASYNC_OK);

    d = describe(&t[0]);
    HAS(d, "\"sleeper\" sleeping in intro_fn at tests/test_introspect.c:");
    HAS(d, ": ASYNC_SLEEP, 1.499000 s left");
    d = describe(&t[1]);
    HAS(d, "waiting in intro_fn");
    HAS(d, "ASYNC_QUEUE_GET on queue 0x");
    HAS(d, "(0 of 4 items, 2 getters, 0 putters)");
    d = describe(&t[2]);
    HAS(d, "ASYNC_QUEUE_PUT on queue");
    HAS(d, "(1 of 1 items, 0 getters, 1 putters)");
    HAS(describe(&t[3]), "ASYNC_EVENT_WAIT on event 0x");
    HAS(describe(&t[3]), "(not set)");
    HAS(describe(&t[4]), "ASYNC_SEM_ACQUIRE on semaphore 0x");
    HAS(describe(&t[4]), "(value 0, 1 waiting)");
    HAS(describe(&t[5]), "ASYNC_AWAIT_TASK on \"waiter\"");
    HAS(describe(&t[6]), "ASYNC_SLEEP, forever");
    cr_assert_eq(async_cancel(&t[6]), 1);
    HAS(describe(&t[6]), "; being cancelled");

    async_event_set(&e);
    async_semaphore_release(&sem);
    async_queue_close(&q);
    async_queue_close(&full);
    cr_assert_eq(async_run_until(&loop, &t[0]), ASYNC_OK);
    HAS(describe(&t[0]), "\"sleeper\" done");
    HAS(describe(&t[6]), "cancelled");
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    memset(&t[8], 0x5a, sizeof t[8]);
    HAS(describe(&t[8]), "does not hold a spawned task");
    HAS(describe(NULL), "(no task)");
}

Test(introspect, describe_names_the_fd_an_io_wait_is_on) {
    static async_loop loop;
    static async_task t, tick;
    static intro_st s;
    static async_frame tf;
    static async_io io;
    int fds[2];
    char want[64];
    cr_assert_eq(test_pipe(fds), 0);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    cr_assert_eq(async_io_open(&loop, &io, fds[0]), ASYNC_OK);
    s.what = W_IO, s.io = &io;
    async_spawn(&loop, &t, intro_fn, &s);
    async_spawn(&loop, &tick, intro_tick, &tf);
    cr_assert_eq(async_run_until(&loop, &tick), ASYNC_OK);
    snprintf(want, sizeof want, "ASYNC_IO_WAIT on fd %d readable", fds[0]);
    HAS(describe(&t), want);
    cr_assert_eq(test_write(fds[1], "x", 1), 1);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    async_io_close(&io);
    test_close(fds[1]);
    async_loop_close(&loop);
}

/* A wait for writability says so, with the right fd (the direction is
 * noted by the wait, not guessed from the list). */
Test(introspect, describe_names_the_fd_and_direction_of_a_write_wait) {
    static async_loop loop;
    static async_task t, tick;
    static intro_st s;
    static async_frame tf;
    static async_io io;
    char want[64], junk[4096];
    int sv[2];
    memset(junk, 'x', sizeof junk);
#ifdef _WIN32
    cr_assert_eq(test_pipe(sv), 0); /* a pair of sockets there */
#else
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
#endif
    cr_assert_eq(test_nonblock(sv[1]), 0);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    cr_assert_eq(async_io_open(&loop, &io, sv[0]), ASYNC_OK);
    while (async_io_write(&io, junk, sizeof junk) > 0) {
    } /* full: the next write would block */
    s.what = W_IO_OUT, s.io = &io;
    async_spawn(&loop, &t, intro_fn, &s);
    async_spawn(&loop, &tick, intro_tick, &tf);
    cr_assert_eq(async_run_until(&loop, &tick), ASYNC_OK);
    snprintf(want, sizeof want, "ASYNC_IO_WAIT on fd %d writable", sv[0]);
    HAS(describe(&t), want);
    while (test_read(sv[1], junk, sizeof junk) > 0) {
    } /* drain: writable again */
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    async_io_close(&io);
    test_close(sv[1]);
    async_loop_close(&loop);
}

Test(introspect, describe_truncates_like_snprintf) {
    static async_loop loop;
    static async_task t;
    static intro_st s;
    char small[8];
    size_t want;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn_named(&loop, &t, intro_fn, &s, "a-long-task-name");
    want = async_task_describe(&t, NULL, 0);
    cr_assert_eq(async_task_describe(&t, small, sizeof small), want);
    cr_assert_str_eq(small, "\"a-long");
    cr_assert_eq(strlen(describe(&t)), want);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
}

typedef struct {
    char lines[16][512];
    int n;
} intro_lines;
static void intro_collect(void *ctx, const char *line) {
    intro_lines *l = (intro_lines *)ctx;
    cr_assert_lt(l->n, 16);
    strncpy(l->lines[l->n], line, sizeof l->lines[0] - 1);
    l->n++;
}

Test(introspect, dump_lists_pending_tasks_in_spawn_order) {
    static async_loop loop;
    static async_task a, b, c;
    static intro_st sa, sb, sc;
    static async_event e;
    static intro_lines out;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_event_init(&e);
    sa.what = W_EVENT, sa.e = &e;
    sb.what = W_YIELD;
    sc.what = W_EVENT, sc.e = &e;
    async_spawn_named(&loop, &a, intro_fn, &sa, "first");
    async_spawn_named(&loop, &b, intro_fn, &sb, "second");
    async_spawn_named(&loop, &c, intro_fn, &sc, "third");
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK, "two tasks wait on an event nobody sets");
    async_dump_with(&loop, intro_collect, &out);
    cr_assert_eq(out.n, 3, "a header and one line per pending task");
    HAS(out.lines[0], ": 2 pending tasks, 0 timers, time 0.000000 s (virtual)");
    HAS(out.lines[1], "  \"first\" waiting in intro_fn");
    HAS(out.lines[1], "ASYNC_EVENT_WAIT on event");
    HAS(out.lines[2], "  \"third\" waiting");
    async_event_set(&e);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    out.n = 0;
    async_dump_with(&loop, intro_collect, &out);
    cr_assert_eq(out.n, 1, "nothing pending: the header alone");
}

/* ---- a plain `return 0` in a body (README rule 4) ----------------------------------
 * It reads as "suspended" to the loop, but nothing will resume the task: the
 * loop ends in a deadlock, and the dump says what happened instead of
 * calling it ready (or waiting where it last waited). */

typedef struct {
    async_frame frame;
    int after_sleep, runs;
} stopper_st;
static int stopper_fn(async_task *task, void *arg) {
    stopper_st *s = (stopper_st *)arg;
    ASYNC_BEGIN(task, s);
    s->runs++;
    if (s->after_sleep) ASYNC_SLEEP_MS(5);
    return 0; /* the mistake: "stop here" */
    ASYNC_END;
}

Test(introspect, a_plain_return_0_is_named_in_the_deadlock_dump) {
    static async_loop loop;
    static async_task a, b;
    static stopper_st sa, sb;
    static intro_lines out;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    sb.after_sleep = 1;
    async_spawn_named(&loop, &a, stopper_fn, &sa, "early");
    async_spawn_named(&loop, &b, stopper_fn, &sb, "after a sleep");
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK, "nothing can resume either task");
    cr_assert_eq(sa.runs + sb.runs, 2, "each ran once");
    async_dump_with(&loop, intro_collect, &out);
    cr_assert_eq(out.n, 3);
    HAS(out.lines[1], "\"early\" stopped outside any wait: a plain `return`");
    HAS(out.lines[2], "\"after a sleep\" stopped outside any wait");
    cr_assert(strstr(out.lines[2], "ASYNC_SLEEP") == NULL,
              "the sleep it left is not where it is: %s", out.lines[2]);
    /* lost for good: the loop believes them queued, so not even a
     * cancellation runs them */
    cr_assert_eq(async_loop_shutdown(&loop), ASYNC_EDEADLK);
}

/* ---- misuse reports name the task -------------------------------------- */

static int intro_self_spawn(async_task *task, void *arg) {
    intro_st *s = (intro_st *)arg;
    ASYNC_BEGIN(task, s);
    async_spawn(ASYNC_LOOP(), ASYNC_SELF(), intro_fn, s);
    ASYNC_END;
}

Test(introspect, misuse_reports_name_the_task) {
    static async_loop loop;
    static async_task t, u;
    static intro_st s, su;
    static async_queue q;
    static async_event e;
    static async_semaphore sem;
    static int buf[2];
    const char *m;

    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn_named(&loop, &t, intro_self_spawn, &s, "selfish");
    m = INTRO_CAPTURE(async_run(&loop));
    cr_assert_not_null(m);
    HAS(m, "the task is running");
    cr_assert_eq(intro_task, &t);
    HAS(describe(&t), "\"selfish\" running");

    async_loop_init(&loop, ASYNC_VIRTUAL);
    memset(&t, 0, sizeof t);
    async_spawn(&loop, &t, intro_fn, &s);
    memset(&t, 0, sizeof t); /* the mistake: storage cleared while scheduled */
    m = INTRO_CAPTURE(async_spawn(&loop, &t, intro_fn, &s));
    cr_assert_not_null(m);
    HAS(m, "still holds a scheduled task");
    cr_assert_eq(intro_task, &t);

    /* objects torn down while a named task waits on them */
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_queue_init(&q, buf, 2, sizeof(int));
    su.what = W_GET, su.q = &q;
    async_spawn_named(&loop, &u, intro_fn, &su, "consumer");
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK);
    m = INTRO_CAPTURE(async_queue_destroy(&q));
    cr_assert_not_null(m);
    HAS(m, "async_queue_destroy: tasks still wait on the queue");
    cr_assert_eq(intro_task, &u);
    HAS(describe(&u), "\"consumer\" waiting");

    /* u still counts as pending (its loop was abandoned): fresh storage */
    memset(&u, 0, sizeof u);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_event_init(&e);
    su.what = W_EVENT, su.e = &e;
    async_spawn_named(&loop, &u, intro_fn, &su, "listener");
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK);
    m = INTRO_CAPTURE(async_event_destroy(&e));
    cr_assert_not_null(m);
    HAS(m, "async_event_destroy");
    cr_assert_eq(intro_task, &u);

    memset(&u, 0, sizeof u);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_semaphore_init(&sem, 0);
    su.what = W_SEM, su.sem = &sem;
    async_spawn_named(&loop, &u, intro_fn, &su, "acquirer");
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK);
    m = INTRO_CAPTURE(async_semaphore_destroy(&sem));
    cr_assert_not_null(m);
    HAS(m, "async_semaphore_destroy");
    cr_assert_eq(intro_task, &u);

    /* destroyed, then waited on (fresh storage: q still has its waiter) */
    memset(&u, 0, sizeof u);
    memset(&q, 0, sizeof q);
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_queue_init(&q, buf, 2, sizeof(int));
    async_queue_destroy(&q);
    su.what = W_GET, su.q = &q;
    async_spawn_named(&loop, &u, intro_fn, &su, "late");
    m = INTRO_CAPTURE(async_run(&loop));
    cr_assert_not_null(m);
    HAS(m, "ASYNC_QUEUE_GET: the queue was destroyed");
    cr_assert_eq(intro_task, &u);
}

Test(introspect, objects_without_waiters_may_be_destroyed_and_reused) {
    static async_queue q;
    static async_event e;
    static async_semaphore sem;
    static async_lock lock;
    static int buf[2];
    const char *m;
    m = INTRO_CAPTURE((async_queue_init(&q, buf, 2, sizeof(int)), async_queue_init(&q, buf, 2, sizeof(int)),
                       async_queue_destroy(&q), async_queue_init(&q, buf, 2, sizeof(int)),
                       async_event_init(&e), async_event_destroy(&e), async_event_init(&e),
                       async_semaphore_init(&sem, 1), async_semaphore_destroy(&sem),
                       async_lock_init(&lock), async_lock_destroy(&lock)));
    cr_assert_null(m, "unexpected: %s", m ? m : "");
}
