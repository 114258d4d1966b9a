/* async_main as asyncio.run (issue 12 A4, A5; issue 17 item 5): it returns
 * when main returns, cancelling what main left behind and running its
 * cleanup; on a deadlock it says who waits on what, cleans up and reports;
 * on SIGINT/SIGTERM it cancels main, cleans up and returns 128 + signo. */
#include "helpers.h" /* first: it sets the feature macros */
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What the tasks of one program did; the program's globals, the way a
 * newcomer writes it. */
static struct {
    int ticks, ticker_cleaned, waiter_cleaned, main_cleaned, main_done;
} seen;

typedef struct {
    async_frame frame;
} ticker_state;

/* A periodic task: it never ends by itself. */
static int ticker(async_task *task, void *arg) {
    ticker_state *s = (ticker_state *)arg;
    ASYNC_BEGIN(task, s);
    for (;;) {
        ASYNC_SLEEP(1.0);
        seen.ticks++;
    }
    ASYNC_FINALLY;
    seen.ticker_cleaned = 1;
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_event *ev;
} waiter_state;

/* Waits on an event nobody sets. */
static int waiter(async_task *task, void *arg) {
    waiter_state *s = (waiter_state *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_EVENT_WAIT(s->ev);
    ASYNC_FINALLY;
    seen.waiter_cleaned = 1;
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_task t1, t2;
    ticker_state ts;
    waiter_state ws;
    async_event ev;
    double main_sleep;  /* main's own sleep */
    int main_waits;     /* main waits on the event too... */
    int no_ticker;      /* ...and no ticker keeps time going: a deadlock */
} main_state;

static int main_coro(async_task *task, void *arg) {
    main_state *s = (main_state *)arg;
    ASYNC_BEGIN(task, s);
    async_event_init(&s->ev);
    s->ws.ev = &s->ev;
    if (!s->no_ticker) async_spawn(ASYNC_LOOP(), &s->t1, ticker, &s->ts);
    async_spawn(ASYNC_LOOP(), &s->t2, waiter, &s->ws);
    ASYNC_SLEEP(s->main_sleep);
    if (s->main_waits) ASYNC_EVENT_WAIT(&s->ev);
    seen.main_done = 1;
    ASYNC_RETURN(42);
    ASYNC_FINALLY;
    seen.main_cleaned = 1;
    ASYNC_END;
}

Test(async_main, returns_when_main_returns_and_cleans_up_the_leftovers) {
    main_state s;
    memset(&s, 0, sizeof s);
    memset(&seen, 0, sizeof seen);
    s.main_sleep = 3.5;
    cr_assert_eq(async_main(main_coro, &s, ASYNC_VIRTUAL), ASYNC_OK,
                 "a periodic task and a task waiting on an event are no reason to wait");
    cr_assert_eq(ASYNC_RESULT(&s), 42);
    cr_assert_eq(seen.ticks, 3, "the ticker ran while main did");
    cr_assert(seen.main_done && seen.main_cleaned);
    cr_assert(seen.ticker_cleaned, "the leftover ticker was cancelled and cleaned up");
    cr_assert(seen.waiter_cleaned, "the leftover waiter was cancelled and cleaned up");
    cr_assert(async_task_state(&s.t1) == ASYNC_CANCELLED && async_task_state(&s.t2) == ASYNC_CANCELLED);
}

/* Run fn with stderr sent to a file; returns what was written there. */
static char *capture_stderr(int (*fn)(void *), void *arg, int *rc) {
    static char text[8192];
    FILE *f = tmpfile();
    int saved = dup(2);
    size_t n;
    cr_assert_not_null(f);
    fflush(stderr);
    dup2(fileno(f), 2);
    *rc = fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(f);
    n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    return text;
}

static int run_deadlocked_main(void *arg) {
    return async_main(main_coro, arg, ASYNC_VIRTUAL);
}

Test(async_main, a_deadlock_is_dumped_cleaned_up_and_reported) {
    main_state s;
    const char *err;
    int rc;
    memset(&s, 0, sizeof s);
    memset(&seen, 0, sizeof seen);
    s.main_sleep = 1.5;
    s.main_waits = 1;
    s.no_ticker = 1;
    err = capture_stderr(run_deadlocked_main, &s, &rc);
    cr_assert_eq(rc, ASYNC_EDEADLK);
    cr_assert_not_null(strstr(err, "2 pending tasks"), "%s", err);
    cr_assert_not_null(strstr(err, "ASYNC_EVENT_WAIT"), "who waits on what: %s", err);
    cr_assert_not_null(strstr(err, "test_main.c:"), "at which line: %s", err);
    cr_assert(!seen.main_done);
    cr_assert(seen.main_cleaned && seen.waiter_cleaned, "every task's cleanup ran (%d %d)",
              seen.main_cleaned, seen.waiter_cleaned);
}

/* With async_run the caller decides: tasks stay pending after EDEADLK (it
 * may still feed them), and async_loop_shutdown cleans them up. */
Test(async_main, async_run_keeps_deadlocked_tasks_until_shutdown) {
    async_loop loop;
    async_task t;
    async_event ev;
    waiter_state w;
    memset(&seen, 0, sizeof seen);
    cr_assert_eq(async_loop_init(&loop, ASYNC_VIRTUAL), ASYNC_OK);
    async_event_init(&ev);
    w.ev = &ev;
    async_spawn(&loop, &t, waiter, &w);
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK);
    cr_assert_eq(async_task_state(&t), ASYNC_PENDING);
    cr_assert_eq(async_loop_pending(&loop), 1);
    cr_assert_eq(async_loop_shutdown(&loop), ASYNC_OK);
    cr_assert_eq(async_task_state(&t), ASYNC_CANCELLED);
    cr_assert(seen.waiter_cleaned);
    cr_assert_eq(async_loop_pending(&loop), 0);
}

static int run_loop_with_cleanup_flag(void *arg) {
    async_loop *loop = (async_loop *)arg;
    return async_run(loop);
}

Test(async_main, the_cleanup_flag_gives_async_run_the_same_policy) {
    async_loop loop;
    async_task t;
    async_event ev;
    waiter_state w;
    const char *err;
    int rc;
    memset(&seen, 0, sizeof seen);
    cr_assert_eq(async_loop_init(&loop, ASYNC_VIRTUAL | ASYNC_CLEANUP_ON_DEADLOCK), ASYNC_OK);
    async_event_init(&ev);
    w.ev = &ev;
    async_spawn(&loop, &t, waiter, &w);
    err = capture_stderr(run_loop_with_cleanup_flag, &loop, &rc);
    cr_assert_eq(rc, ASYNC_EDEADLK);
    cr_assert_not_null(strstr(err, "ASYNC_EVENT_WAIT"), "%s", err);
    cr_assert(seen.waiter_cleaned);
    cr_assert_eq(async_loop_pending(&loop), 0);
}

/* ---- signals ------------------------------------------------------------------ */

typedef struct {
    int sig;
    double after;
} shot;

static void *send_later(void *arg) {
    shot *sh = (shot *)arg;
    struct timespec ts;
    ts.tv_sec = (time_t)sh->after;
    ts.tv_nsec = (long)((sh->after - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
    kill(getpid(), sh->sig);
    return NULL;
}

/* A real-time program: main sleeps 30 s, a ticker ticks each second. */
static int signalled_main(int sig, double *took) {
    main_state s;
    pthread_t th;
    shot sh;
    double t0;
    int rc;
    memset(&s, 0, sizeof s);
    memset(&seen, 0, sizeof seen);
    s.main_sleep = 30;
    sh.sig = sig;
    sh.after = 0.1;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    cr_assert_eq(pthread_create(&th, NULL, send_later, &sh), 0);
    t0 = now_s();
    rc = async_main(main_coro, &s, 0);
    *took = now_s() - t0;
    pthread_join(th, NULL);
    return rc;
}

Test(async_main, sigint_cancels_main_runs_every_cleanup_and_returns_130, .timeout = 20) {
    double took;
    int rc = signalled_main(SIGINT, &took);
    cr_assert_eq(rc, 130);
    cr_assert_lt(took, 5.0, "returned soon after the signal (%.2f s)", took);
    cr_assert(!seen.main_done, "main was interrupted in its sleep");
    cr_assert(seen.main_cleaned && seen.ticker_cleaned && seen.waiter_cleaned,
              "every cleanup ran (%d %d %d)", seen.main_cleaned, seen.ticker_cleaned,
              seen.waiter_cleaned);
    cr_assert(signal(SIGINT, SIG_DFL) == SIG_DFL, "the default disposition is back");
}

Test(async_main, sigterm_returns_143, .timeout = 20) {
    double took;
    cr_assert_eq(signalled_main(SIGTERM, &took), 143);
    cr_assert(seen.main_cleaned && seen.ticker_cleaned && seen.waiter_cleaned);
}

static void on_int(int sig) {
    (void)sig;
}

Test(async_main, a_handler_of_the_programs_own_is_left_alone, .timeout = 20) {
    main_state s;
    pthread_t th;
    shot sh = {SIGINT, 0.05};
    struct sigaction sa, after;
    memset(&s, 0, sizeof s);
    memset(&seen, 0, sizeof seen);
    s.main_sleep = 0.3;
    /* sigaction, not signal(): in a strict POSIX build glibc's signal()
     * has System V semantics and resets the handler when it runs. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_int;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGINT, &sa, NULL), 0);
    cr_assert_eq(pthread_create(&th, NULL, send_later, &sh), 0);
    cr_assert_eq(async_main(main_coro, &s, 0), ASYNC_OK);
    pthread_join(th, NULL);
    cr_assert(seen.main_done, "main ran to its end: the signal was the program's");
    cr_assert_eq(sigaction(SIGINT, NULL, &after), 0);
    cr_assert(after.sa_handler == on_int);
    signal(SIGINT, SIG_DFL);
}

/* A cleanup that hangs: the second Ctrl-C ends the program, as it would
 * without async.h. */
typedef struct {
    async_frame frame;
} stubborn_state;

static int stubborn(async_task *task, void *arg) {
    stubborn_state *s = (stubborn_state *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP(30);
    ASYNC_FINALLY;
    ASYNC_SLEEP(30); /* shielded: a cleanup that takes for ever */
    ASYNC_END;
}

Test(async_main, a_second_sigint_ends_a_cleanup_that_hangs, .timeout = 20) {
    int status;
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        stubborn_state s;
        signal(SIGINT, SIG_DFL);
        _exit(async_main(stubborn, &s, 0) == 130 ? 3 : 4);
    }
    sleep_ms(200);
    kill(pid, SIGINT);
    sleep_ms(200);
    cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "still cleaning up after one SIGINT");
    kill(pid, SIGINT);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "status %#x", status);
}
