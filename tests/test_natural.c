/* Programs as a newcomer writes them from the README (issue 12): locals,
 * malloc, switch statements.  What they hit must either work or be
 * reported plainly. */
#include "helpers.h"
#ifndef _WIN32
#include <sys/wait.h>
#endif

/* ---- a suspension inside the coroutine's own switch ------------------------------ */

typedef struct {
    async_frame frame;
    int mode, after;
} switcher;
static int own_switch_fn(async_task *task, void *arg) {
    switcher *s = (switcher *)arg;
    ASYNC_BEGIN(task, s);
    switch (s->mode) { /* a port of an if/elif chain */
    case 1:
        ASYNC_SLEEP(0.5);
        s->after = 1;
        break;
    default:
        break;
    }
    ASYNC_RETURN(s->after);
    ASYNC_END;
}

#if defined(ASYNC_LABELS) && ASYNC_LABELS
Test(natural, a_suspension_inside_your_own_switch_works_with_labels) {
    async_loop loop;
    static async_task t;
    static switcher s;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    s.mode = 1;
    async_spawn(&loop, &t, own_switch_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_result(&t), 1);
}
#else
/* Never a silent end: the resume is caught and reported. */
Test(natural, a_suspension_inside_your_own_switch_is_reported, .signal = SIGABRT) {
    async_loop loop;
    static async_task t;
    static switcher s;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    s.mode = 1;
    async_spawn(&loop, &t, own_switch_fn, &s);
    async_run(&loop);
}
#endif

#ifndef _WIN32 /* compiles programs with the host's cc */
/* ---- every init on fresh locals, malloc'ed and garbage storage -------------------- */

static const char fresh_prog[] =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "#include \"async.h\"\n"
    "struct st { async_frame frame; async_queue *q; async_event *e;\n"
    "            async_semaphore *s; async_lock *l; int got; };\n"
    "static int fn(async_task *task, void *arg) {\n"
    "    struct st *s = (struct st *)arg;\n"
    "    int one = 1;\n"
    "    ASYNC_BEGIN(task, s);\n"
    "    async_queue_try_put(s->q, &one);\n"
    "    ASYNC_QUEUE_GET(s->q, &s->got);\n"
    "    async_event_set(s->e);\n"
    "    ASYNC_EVENT_WAIT(s->e);\n"
    "    ASYNC_SEM_ACQUIRE(s->s);\n"
    "    ASYNC_LOCK_ACQUIRE(s->l);\n"
    "    ASYNC_LOCK_RELEASE(s->l);\n"
    "    ASYNC_END;\n"
    "}\n"
    "static int run(async_queue *q, async_event *e, async_semaphore *sem, async_lock *l,\n"
    "               async_group *g, async_waiter *w) {\n"
    "    int buf[4];\n"
    "    struct st s;\n"
    "    if (async_queue_init(q, buf, 4, sizeof(int))) return 1;\n"
    "    async_event_init(e);\n"
    "    if (async_semaphore_init(sem, 1)) return 2;\n"
    "    async_lock_init(l);\n"
    "    if (async_group_init(g, w, 2)) return 3;\n"
    "    s.q = q; s.e = e; s.s = sem; s.l = l; s.got = 0;\n"
    "    if (async_main(fn, &s, ASYNC_VIRTUAL) || s.got != 1) return 4;\n"
    "    async_queue_destroy(q); async_event_destroy(e); async_semaphore_destroy(sem);\n"
    "    async_lock_destroy(l);\n"
    "    return 0;\n"
    "}\n"
    "struct st2 { async_frame frame; async_future *f; int got; };\n"
    "static int fn2(async_task *task, void *arg) {\n"
    "    struct st2 *s = (struct st2 *)arg;\n"
    "    ASYNC_BEGIN(task, s);\n"
    "    ASYNC_FUTURE_AWAIT(s->f);\n"
    "    s->got = (int)async_future_result(s->f);\n"
    "    ASYNC_END;\n"
    "}\n"
    "static void set7(async_loop *loop, void *arg) { (void)loop; async_future_set_result((async_future *)arg, 7); }\n"
    "/* a task, a handle and the newer objects as fresh locals */\n"
    "static int run2(void) {\n"
    "    async_loop loop; async_task t; async_handle h; async_future f; async_lock l;\n"
    "    async_condition c; async_barrier b; async_lqueue lq; struct st2 s;\n"
    "    int buf[2]; async_queue pq;\n"
    "    async_loop_init(&loop, ASYNC_VIRTUAL);\n"
    "    async_future_init(&f, &loop); async_lock_init(&l); async_condition_init(&c, &l);\n"
    "    async_barrier_init(&b, 2); async_lqueue_init(&lq);\n"
    "    async_lifo_queue_init(&pq, buf, 2, sizeof(int));\n"
    "    s.f = &f; s.got = 0;\n"
    "    if (async_spawn(&loop, &t, fn2, &s)) return 5;\n"
    "    if (async_call_soon(&loop, &h, set7, &f)) return 6;\n"
    "    if (async_run(&loop) || s.got != 7) return 7;\n"
    "    async_future_destroy(&f); async_condition_destroy(&c); async_barrier_destroy(&b);\n"
    "    async_lqueue_destroy(&lq); async_queue_destroy(&pq); async_lock_destroy(&l);\n"
    "    return 0;\n"
    "}\n"
    "int main(void) {\n"
    "    async_queue q; async_event e; async_semaphore sem; async_lock l;\n"
    "    async_group g; async_waiter w[2];\n"
    "    struct heap { async_queue q; async_event e; async_semaphore s; async_lock l;\n"
    "                  async_group g; async_waiter w[2]; } *h;\n"
    "    int rc = run(&q, &e, &sem, &l, &g, w); /* fresh locals */\n"
    "    if (rc) return rc;\n"
    "    rc = run2();\n"
    "    if (rc) return rc;\n"
    "    h = (struct heap *)malloc(sizeof *h);\n"
    "    if (!h) return 9;\n"
    "    memset(h, 0xA5, sizeof *h); /* garbage */\n"
    "    rc = run(&h->q, &h->e, &h->s, &h->l, &h->g, h->w);\n"
    "    free(h);\n"
    "    if (!rc) puts(\"ok\");\n"
    "    return rc;\n"
    "}\n";

Test(natural, every_init_works_on_fresh_and_garbage_storage, .timeout = 120) {
    static const char *const ccs[] = {"gcc", "clang"};
    static const char *const opts[] = {"-O0", "-O1", "-O2", "-O3"};
    char cmd[512];
    size_t c, o;
    FILE *f = fopen("build/natural_init.c", "w");
    cr_assert_not_null(f, "run the suite from the repository root");
    fputs(fresh_prog, f);
    fclose(f);
    for (c = 0; c < 2; c++)
        for (o = 0; o < 4; o++) {
            int rc;
            snprintf(cmd, sizeof cmd, "%s -std=c99 %s -Wall -Wextra -Wpedantic -Werror -I. "
                     "build/natural_init.c -o build/natural_init > build/natural_init.txt 2>&1",
                     ccs[c], opts[o]);
            cr_assert_eq(system(cmd), 0, "%s %s: see build/natural_init.txt", ccs[c], opts[o]);
            rc = system("build/natural_init > /dev/null");
            cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s %s: the program failed (%d)",
                      ccs[c], opts[o], rc);
        }
    /* under `make check` valgrind follows this run and fails on any
     * read of uninitialised memory */
}
#endif

/* ---- a task cancelled before it ever ran runs nothing ---------------------------- */

typedef struct {
    async_frame frame;
    int body_lines, cleanups;
} eager;
static int eager_fn(async_task *task, void *arg) {
    eager *s = (eager *)arg;
    ASYNC_BEGIN(task, s);
    s->body_lines++; /* prints, draws random numbers, takes locks... */
    ASYNC_SLEEP(1.0);
    s->body_lines++;
    ASYNC_FINALLY;
    s->cleanups++;
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_task *victim;
    int status;
} watcher;
static int watcher_fn(async_task *task, void *arg) {
    watcher *s = (watcher *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_AWAIT_TASK(s->victim);
    s->status = ASYNC_STATUS();
    ASYNC_END;
}

Test(natural, a_task_cancelled_before_its_first_step_runs_no_line) {
    async_loop loop;
    static async_task t, w;
    static eager e;
    static watcher s;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn(&loop, &w, watcher_fn, &s);
    async_spawn(&loop, &t, eager_fn, &e);
    s.victim = &t;
    cr_assert_eq(async_cancel(&t), 1);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_state(&t), ASYNC_CANCELLED);
    cr_assert_eq(e.body_lines, 0, "%d lines of the body ran", e.body_lines);
    cr_assert_eq(e.cleanups, 0, "its cleanup ran, but it entered no section");
    cr_assert_eq(s.status, ASYNC_ECANCELED, "the waiter saw %d", s.status);
    cr_assert_eq(async_now(&loop), 0);
}

/* ---- loop time starts at 0 in real time as on a virtual loop ------------------- */

typedef struct {
    async_frame frame;
    double at[3];
} stamper;
static int stamper_fn(async_task *task, void *arg) {
    stamper *s = (stamper *)arg;
    ASYNC_BEGIN(task, s);
    s->at[0] = async_time(ASYNC_LOOP());
    ASYNC_SLEEP(0.05);
    s->at[1] = async_time(ASYNC_LOOP());
    ASYNC_SLEEP(0.05);
    s->at[2] = async_time(ASYNC_LOOP());
    ASYNC_END;
}

Test(natural, loop_time_starts_at_zero_in_both_modes, .timeout = 10) {
    static const unsigned modes[] = {ASYNC_VIRTUAL, 0};
    int m, i;
    for (m = 0; m < 2; m++) {
        async_loop loop;
        static async_task t;
        static stamper s;
        memset(&t, 0, sizeof t);
        async_loop_init(&loop, modes[m]);
        async_spawn(&loop, &t, stamper_fn, &s);
        cr_assert_eq(async_run(&loop), ASYNC_OK);
        for (i = 0; i < 3; i++) /* 0, 0.05, 0.1 s, give or take the OS's latency */
            cr_assert(s.at[i] >= 0.05 * i && s.at[i] < 0.05 * i + 0.04,
                      "%s loop: stamp %d at %.6f s", m ? "real" : "virtual", i, s.at[i]);
        cr_assert_geq(async_clock_ns(&loop), async_now(&loop), "the raw clock is unshifted");
        async_loop_close(&loop);
    }
}

/* ---- workers in malloc'd storage that main frees (rule 6) --------------------------
 * main gives up on its workers after a timeout and frees their storage in its
 * finally section: it must stop them first (cancel, then await each), since
 * async_main cancels what main left only after main is done.  Under ASan
 * and valgrind (make check) a free before that is a use after free. */

struct job_result { int id; int kind; };

typedef struct {
    async_frame frame;
    int id, ms;
    async_queue *out;
    struct job_result r;
    int cleaned;
} job;
static int job_fn(async_task *task, void *arg) {
    job *j = (job *)arg;
    ASYNC_BEGIN(task, j);
    ASYNC_SLEEP_MS(j->ms);
    j->r.id = j->id;
    j->r.kind = j->id % 3;
    ASYNC_QUEUE_PUT(j->out, &j->r);
    ASYNC_FINALLY;
    j->cleaned = 1;
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_queue q;
    struct job_result buf[4], r;
    async_timeout tmo;
    async_task *tasks;
    job *jobs;
    int n, i, got, counts[3];
    int ended_cancelled, ended_done, cleaned, status;
    uint64_t gave_up, stopped;
} boss;
static int boss_fn(async_task *task, void *arg) {
    boss *s = (boss *)arg;
    ASYNC_BEGIN(task, s);
    async_queue_init(&s->q, s->buf, 4, sizeof(struct job_result));
    s->tasks = (async_task *)calloc((size_t)s->n, sizeof *s->tasks);
    s->jobs = (job *)calloc((size_t)s->n, sizeof *s->jobs);
    cr_assert(s->tasks && s->jobs);
    for (s->i = 0; s->i < s->n; s->i++) {
        s->jobs[s->i].id = s->i;
        /* four at 10, 20, 30, 40 ms, the rest from 140 ms on */
        s->jobs[s->i].ms = s->i < 4 ? 10 * (s->i + 1) : 100 + 10 * (s->i + 1);
        s->jobs[s->i].out = &s->q;
        async_spawn(ASYNC_LOOP(), &s->tasks[s->i], job_fn, &s->jobs[s->i]);
    }
    for (s->got = 0; s->got < s->n; s->got++) {
        /* 45 ms for each result: the fifth would come 100 ms after the
         * fourth, so main gives up at 40 + 45 = 85 ms */
        ASYNC_WITH_TIMEOUT(&s->tmo, 0.045, ASYNC_QUEUE_GET(&s->q, &s->r));
        s->status = ASYNC_STATUS();
        if (s->status != ASYNC_OK) break;
        switch (s->r.kind) { /* no await in here: rule 2 */
        case 0: s->counts[0]++; break;
        case 1: s->counts[1]++; break;
        default: s->counts[2]++; break;
        }
    }
    ASYNC_FINALLY;
    s->gave_up = ASYNC_NOW();
    for (s->i = 0; s->i < s->n; s->i++) {
        async_cancel(&s->tasks[s->i]);
        ASYNC_AWAIT_TASK(&s->tasks[s->i]);
        if (async_task_state(&s->tasks[s->i]) == ASYNC_CANCELLED) s->ended_cancelled++;
        if (async_task_state(&s->tasks[s->i]) == ASYNC_DONE) s->ended_done++;
        s->cleaned += s->jobs[s->i].cleaned;
    }
    s->stopped = ASYNC_NOW();
    free(s->tasks);
    free(s->jobs);
    ASYNC_END;
}

Test(natural, workers_freed_in_finally_are_cancelled_and_awaited_first) {
    boss *s = (boss *)calloc(1, sizeof *s);
    cr_assert(s);
    s->n = 20;
    cr_assert_eq(async_main(boss_fn, s, ASYNC_VIRTUAL), ASYNC_OK);
    cr_assert_eq(s->status, ASYNC_ETIMEDOUT, "the wait ended with %d", s->status);
    cr_assert_eq(s->got, 4, "got %d results", s->got);
    cr_assert_eq(s->counts[0], 2); /* ids 0 and 3 */
    cr_assert_eq(s->counts[1], 1);
    cr_assert_eq(s->counts[2], 1);
    cr_assert_eq(s->gave_up, 85000000u, "gave up at %llu ns", (unsigned long long)s->gave_up);
    cr_assert_eq(s->stopped, s->gave_up, "stopping the sleepers took time");
    cr_assert_eq(s->ended_done, 4);
    cr_assert_eq(s->ended_cancelled, 16);
    cr_assert_eq(s->cleaned, 20, "%d cleanups ran", s->cleaned);
    free(s);
}
