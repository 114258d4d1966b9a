/* Overload (issue 17): a server out of file descriptors keeps serving and
 * never spins (POSIX: fork and RLIMIT_NOFILE); a task whose awaits always
 * complete at once cannot starve the others (the cooperative budget, on
 * every platform). */
#include "helpers.h" /* first: it sets the feature macros */
#include <time.h>
#ifndef _WIN32
#include <dirent.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* The highest fd open now, plus one: RLIMIT_NOFILE bounds fd numbers. */
static int fd_ceiling(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int top = 0;
    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd != dirfd(d) && fd + 1 > top) top = fd + 1;
    }
    closedir(d);
    return top;
}

/* ---- accept when out of fds --------------------------------------------------- */

enum { CLIENTS = 24, ROOM = 6 };

typedef struct {
    async_frame frame;
    async_io io;
    async_sock_op op;
    char buf[64];
    intptr_t n;
} conn;

/* Echo until the client closes. */
static int conn_fn(async_task *task, void *arg) {
    conn *c = (conn *)arg;
    ASYNC_BEGIN(task, c);
    for (;;) {
        ASYNC_SOCK_RECV(&c->op, &c->io, c->buf, sizeof c->buf);
        c->n = ASYNC_RESULT(&c->op);
        if (c->n <= 0) break;
        ASYNC_SOCK_SENDALL(&c->op, &c->io, c->buf, (size_t)c->n);
        if (ASYNC_RESULT(&c->op) < 0) break;
    }
    async_io_close(&c->io);
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_io listener;
    async_sock_op op;
    conn conns[CLIENTS];
    async_task tasks[CLIENTS];
    int accepted, errors;
    size_t pauses;
} server;

/* The accept loop a newcomer writes (as examples/echo_server.c does): log an
 * error and go on.  Before the back-off, EMFILE came back at once, this loop
 * retried at once, and no connection task ever ran again. */
static int server_fn(async_task *task, void *arg) {
    server *s = (server *)arg;
    ASYNC_BEGIN(task, s);
    while (s->accepted < CLIENTS) {
        ASYNC_SOCK_ACCEPT(&s->op, &s->listener, &s->conns[s->accepted].io);
        if (ASYNC_RESULT(&s->op) < 0) {
            s->errors++;
            continue;
        }
        s->pauses += s->op.done;
        async_spawn(ASYNC_LOOP(), &s->tasks[s->accepted], conn_fn, &s->conns[s->accepted]);
        s->accepted++;
    }
    ASYNC_END;
}

/* The clients, in a child process with blocking sockets: all connect first
 * (the kernel queues them in the backlog), then each in turn does a round
 * trip and closes, which frees the server's fd for the next accept. */
static int run_clients(const struct sockaddr_in *a) {
    int fds[CLIENTS], i;
    for (i = 0; i < CLIENTS; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || connect(fds[i], (const struct sockaddr *)a, sizeof *a) != 0) return 10;
    }
    for (i = 0; i < CLIENTS; i++) {
        char out[32], in[32];
        struct pollfd p;
        size_t got = 0;
        int len = snprintf(out, sizeof out, "client %02d", i);
        if (send(fds[i], out, (size_t)len, 0) != len) return 20;
        while (got < (size_t)len) {
            ssize_t r;
            p.fd = fds[i];
            p.events = POLLIN;
            if (poll(&p, 1, 10000) != 1) return 30; /* not served for 10 s */
            r = recv(fds[i], in + got, sizeof in - got, 0);
            if (r <= 0) return 40;
            got += (size_t)r;
        }
        if (memcmp(in, out, (size_t)len) != 0) return 50;
        close(fds[i]);
    }
    return 0;
}

Test(overload, accept_out_of_fds_pauses_serves_the_accepted_and_resumes, .timeout = 60) {
    static async_loop loop;
    static server s;
    static async_task t;
    struct sockaddr_in a;
    struct rlimit old, low;
    double w0, c0, wall, cpu;
    int lfd, status;
    pid_t pid;
    /* valgrind keeps fds of its own at the top of the table and refuses to
     * lower RLIMIT_NOFILE; ASan and the plain runs cover this test. */
    if (getenv("ASYNC_VALGRIND")) cr_skip_test("valgrind refuses setrlimit(RLIMIT_NOFILE)");
    memset(&s, 0, sizeof s);
    lfd = bind_loopback(SOCK_STREAM, &a);
    cr_assert_eq(listen(lfd, 64), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(lfd);
        _exit(run_clients(&a));
    }
    cr_assert_eq(async_loop_init(&loop, 0), ASYNC_OK);
    cr_assert_eq(async_loop_prepare(&loop), ASYNC_OK);
    cr_assert_eq(async_io_open(&loop, &s.listener, lfd), ASYNC_OK);
    /* Room for ROOM connections at once, far fewer than CLIENTS. */
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)(fd_ceiling() + ROOM);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    async_spawn(&loop, &t, server_fn, &s);
    w0 = now_s();
    c0 = cpu_s();
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    wall = now_s() - w0;
    cpu = cpu_s() - c0;
    setrlimit(RLIMIT_NOFILE, &old);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "every client served (client status %d)", WEXITSTATUS(status));
    cr_assert_eq(s.accepted, CLIENTS);
    cr_assert_eq(s.errors, 0, "fd exhaustion is never returned to the accept loop");
    cr_assert_gt(s.pauses, 0, "the server did run out of fds and paused");
    cr_assert_lt(cpu, 0.8 * wall + 0.1, "no spinning: %.3f s CPU in %.3f s", cpu, wall);
    async_io_close(&s.listener);
    async_loop_close(&loop);
}

#endif /* _WIN32 */

/* ---- the cooperative budget ------------------------------------------------------ */

/* A task whose awaits never suspend: it takes an item from a queue that is
 * never empty and puts it back. */
typedef struct {
    async_frame frame;
    async_queue *q;
    const int *stop;
    int item;
    long iters;
} churner;

static int churner_fn(async_task *task, void *arg) {
    churner *s = (churner *)arg;
    ASYNC_BEGIN(task, s);
    while (!*s->stop) {
        ASYNC_QUEUE_GET(s->q, &s->item);
        ASYNC_QUEUE_PUT(s->q, &s->item);
        s->iters++;
    }
    ASYNC_END;
}

/* Between two looks of the observer the other task made one step's worth
 * of progress: some, and at most a budget's (one more: the operation that
 * yielded completes first when it resumes). */
static int step_within_budget(const long *seen, int i, long per_step) {
    long d = seen[i] - (i ? seen[i - 1] : 0);
    return d >= per_step - 1 && d <= per_step + 1;
}

/* Yields n times, noting each time how far `watched` has got. */
typedef struct {
    async_frame frame;
    const long *watched;
    int *stop;
    long seen[16];
    int i, n;
} observer;

static int observer_fn(async_task *task, void *arg) {
    observer *s = (observer *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < s->n; s->i++) {
        s->seen[s->i] = *s->watched;
        ASYNC_YIELD();
    }
    *s->stop = 1;
    ASYNC_END;
}

Test(overload, awaits_that_never_suspend_yield_after_the_budget) {
    async_loop loop;
    async_queue q;
    int buf[4], stop = 0, one = 1, i;
    churner c;
    observer o;
    async_task tc, to;
    cr_assert_eq(async_loop_init(&loop, ASYNC_VIRTUAL), ASYNC_OK);
    async_queue_init(&q, buf, 4, sizeof(int));
    cr_assert_eq(async_queue_try_put(&q, &one), ASYNC_OK);
    memset(&c, 0, sizeof c);
    memset(&o, 0, sizeof o);
    c.q = &q;
    c.stop = &stop;
    o.watched = &c.iters;
    o.stop = &stop;
    o.n = 8;
    async_spawn(&loop, &tc, churner_fn, &c);
    async_spawn(&loop, &to, observer_fn, &o);
    cr_assert_eq(async_run(&loop), ASYNC_OK, "the churner did not starve the observer");
    /* Each step of the churner: ASYNC_BUDGET waits, two per iteration. */
    for (i = 0; i < o.n; i++)
        cr_assert(step_within_budget(o.seen, i, ASYNC_BUDGET / 2), "step %d: %ld iterations", i,
                  o.seen[i]);
    async_queue_destroy(&q);
}

/* A reader whose socket always has data: each ASYNC_SOCK_RECV completes at
 * once, and still the other task runs between budgets. */
typedef struct {
    async_frame frame;
    async_io io;
    async_sock_op op;
    char c;
    long iters;
    int total;
} sipper;

static int sipper_fn(async_task *task, void *arg) {
    sipper *s = (sipper *)arg;
    ASYNC_BEGIN(task, s);
    while (s->iters < s->total) {
        ASYNC_SOCK_RECV(&s->op, &s->io, &s->c, 1);
        if (ASYNC_RESULT(&s->op) != 1) ASYNC_RETURN(-1);
        s->iters++;
    }
    ASYNC_END;
}

Test(overload, a_reader_whose_data_is_always_there_shares_the_loop, .timeout = 10) {
    async_loop loop;
    sipper s;
    observer o;
    async_task ts, to;
    char data[2048];
    int sv[2], stop = 0, i;
    memset(&s, 0, sizeof s);
    memset(&o, 0, sizeof o);
    memset(data, 'x', sizeof data);
#ifdef _WIN32
    cr_assert_eq(test_pipe(sv), 0); /* a pair of sockets there */
#else
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
#endif
    cr_assert_eq(test_write(sv[1], data, sizeof data), (long)sizeof data);
    cr_assert_eq(async_loop_init(&loop, 0), ASYNC_OK);
    cr_assert_eq(async_io_open(&loop, &s.io, sv[0]), ASYNC_OK);
    s.total = (int)sizeof data;
    o.watched = &s.iters;
    o.stop = &stop;
    o.n = 8;
    async_spawn(&loop, &ts, sipper_fn, &s);
    async_spawn(&loop, &to, observer_fn, &o);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.iters, (long)sizeof data);
    for (i = 0; i < o.n; i++)
        cr_assert(step_within_budget(o.seen, i, ASYNC_BUDGET), "step %d: %ld bytes", i, o.seen[i]);
    async_io_close(&s.io);
    test_close(sv[1]);
    async_loop_close(&loop);
}

/* ASYNC_COOPERATE in a loop of the user's own: same bound. */
typedef struct {
    async_frame frame;
    long iters;
    const int *stop;
} spinner;

static int spinner_fn(async_task *task, void *arg) {
    spinner *s = (spinner *)arg;
    ASYNC_BEGIN(task, s);
    while (!*s->stop) {
        s->iters++; /* work that never waits */
        ASYNC_COOPERATE();
    }
    ASYNC_END;
}

Test(overload, cooperate_bounds_a_loop_of_the_users_own) {
    async_loop loop;
    spinner sp;
    observer o;
    async_task ts, to;
    int stop = 0, i;
    memset(&sp, 0, sizeof sp);
    memset(&o, 0, sizeof o);
    sp.stop = &stop;
    o.watched = &sp.iters;
    o.stop = &stop;
    o.n = 4;
    cr_assert_eq(async_loop_init(&loop, ASYNC_VIRTUAL), ASYNC_OK);
    async_spawn(&loop, &ts, spinner_fn, &sp);
    async_spawn(&loop, &to, observer_fn, &o);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    for (i = 0; i < o.n; i++)
        cr_assert(step_within_budget(o.seen, i, ASYNC_BUDGET), "step %d: %ld", i, o.seen[i]);
}
