/* Promises the README makes, each tested the way a program written from the
 * README alone would try to break it (issue 18).  One test per promise;
 * each failed on v0.3.0.  I/O and threads here; the scheduler's promises
 * are in test_promises_sched.c. */
#include "helpers.h" /* first: it sets the feature macros */
#include <pthread.h>
#include <signal.h>
#include <time.h>
#ifndef _WIN32 /* pipes, files, SIGPIPE and the host's compiler: POSIX's tests */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

/* ---- 8: calls from other threads run while tasks stay ready ------------------ */

static void set_flag(async_loop *loop, void *arg) {
    (void)loop;
    *(int *)arg = 1;
}

/* A task that keeps yielding, counting passes, until the flag is set. */
typedef struct {
    async_frame frame;
    const int *flag;
    long passes, limit;
} spinner;
static int spinner_fn(async_task *task, void *arg) {
    spinner *s = (spinner *)arg;
    ASYNC_BEGIN(task, s);
    while (!*s->flag && s->passes < s->limit) {
        s->passes++;
        ASYNC_YIELD();
    }
    ASYNC_END;
}

static void *call_from_thread(void *arg) {
    static async_call call;
    void **a = (void **)arg;
    async_call_soon_threadsafe((async_loop *)a[0], &call, set_flag, a[1]);
    return NULL;
}

Test(promises, a_threadsafe_call_runs_while_a_task_stays_ready, .timeout = 10) {
    static async_loop loop;
    static async_task t;
    static spinner s;
    static int flag;
    void *args[2];
    pthread_t th;
    async_loop_init(&loop, 0);
    cr_assert_eq(async_loop_prepare(&loop), ASYNC_OK);
    s.flag = &flag;
    s.limit = 50000000; /* far more passes than a thread needs to call in */
    async_spawn(&loop, &t, spinner_fn, &s);
    args[0] = &loop;
    args[1] = &flag;
    cr_assert_eq(pthread_create(&th, NULL, call_from_thread, args), 0);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    pthread_join(th, NULL);
    cr_assert_eq(flag, 1, "the call never ran");
    cr_assert_lt(s.passes, s.limit, "the call waited until the spinning task gave up");
    async_loop_close(&loop);
}

static int quick_fn(async_task *task, void *arg) {
    async_frame *f = (async_frame *)arg;
    ASYNC_BEGIN(task, f);
    ASYNC_END;
}

Test(promises, a_threadsafe_call_made_before_run_is_delivered_before_run_returns) {
    static async_loop loop;
    static async_task t;
    static async_frame st;
    static async_call call;
    static int flag;
    async_loop_init(&loop, 0);
    cr_assert_eq(async_loop_prepare(&loop), ASYNC_OK);
    async_spawn(&loop, &t, quick_fn, &st);
    cr_assert_eq(async_call_soon_threadsafe(&loop, &call, set_flag, &flag), ASYNC_OK);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(flag, 1, "async_run returned OK with a call undelivered");
    async_loop_close(&loop);
}

/* ---- 9: connect reports success only for a connected socket -------------------- */

typedef struct {
    async_frame frame;
    async_io *io;
    struct sockaddr_in addr;
    async_sock_op op;
    intptr_t result;
} connector;
static int connector_fn(async_task *task, void *arg) {
    connector *s = (connector *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_MS(10); /* the loop looks at the new socket meanwhile */
    ASYNC_SOCK_CONNECT(&s->op, s->io, (const struct sockaddr *)&s->addr,
                       sizeof s->addr, 0.3);
    s->result = ASYNC_RESULT(&s->op);
    ASYNC_END;
}

Test(promises, connect_to_a_listener_that_never_answers_times_out, .timeout = 10) {
    static async_loop loop;
    static async_io io;
    static async_task t;
    static connector c;
    struct sockaddr_in a;
    int ls = bind_loopback(SOCK_STREAM, &a), filler[3], i;
    cr_assert_eq(listen(TEST_SOCK(ls), 0), 0); /* accepts nothing: the queue fills at once */
    for (i = 0; i < 3; i++) { /* fill the accept queue */
        filler[i] = test_socket(AF_INET, SOCK_STREAM);
        cr_assert_eq(test_nonblock(filler[i]), 0);
        connect(TEST_SOCK(filler[i]), (struct sockaddr *)&a, sizeof a);
    }
    async_loop_init(&loop, 0);
    cr_assert_eq(async_tcp_socket(&loop, &io, AF_INET), ASYNC_OK);
    c.io = &io;
    c.addr = a;
    async_spawn(&loop, &t, connector_fn, &c);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(c.result, ASYNC_ETIMEDOUT, "connect said %ld (%s) for a socket still connecting",
                 (long)c.result, async_strerror((int)c.result));
    async_io_close(&io);
    for (i = 0; i < 3; i++) test_close(filler[i]);
    test_close(ls);
    async_loop_close(&loop);
}

/* ---- 10: IO_WAIT after the user's own reads, datagrams (add_reader) -------------- */

/* Waits for readability, drains with its own recv(), waits again: counts
 * how often the wait returned. */
typedef struct {
    async_frame frame;
    async_io *io;
    int datagrams, wakeups, want;
} udp_reader;
static int udp_reader_fn(async_task *task, void *arg) {
    udp_reader *s = (udp_reader *)arg;
    char buf[64];
    ASYNC_BEGIN(task, s);
    while (s->datagrams < s->want) {
        ASYNC_IO_WAIT(s->io, ASYNC_READ);
        cr_assert_eq(ASYNC_STATUS(), ASYNC_OK);
        s->wakeups++;
        while (recvfrom(TEST_SOCK(s->io->fd), buf, sizeof buf, 0, NULL, NULL) > 0) s->datagrams++;
    }
    ASYNC_END;
}

/* Sends one datagram every 20 ms, and counts its own ticks. */
typedef struct {
    async_frame frame;
    int fd, n, i;
    struct sockaddr_in to;
} udp_sender;
static int udp_sender_fn(async_task *task, void *arg) {
    udp_sender *s = (udp_sender *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < s->n; s->i++) {
        ASYNC_SLEEP_MS(20);
        cr_assert_eq(sendto(TEST_SOCK(s->fd), "x", 1, 0, (struct sockaddr *)&s->to, sizeof s->to), 1);
    }
    ASYNC_END;
}

Test(promises, io_wait_after_the_users_own_recvfrom_waits_for_new_data, .timeout = 10) {
    static async_loop loop;
    static async_io io;
    static async_task t[2];
    static udp_reader r;
    static udp_sender w;
    struct sockaddr_in a;
    int rx = bind_loopback(SOCK_DGRAM, &a);
    async_loop_init(&loop, 0);
    cr_assert_eq(async_io_open(&loop, &io, rx), ASYNC_OK);
    r.io = &io;
    r.want = 5;
    w.fd = test_socket(AF_INET, SOCK_DGRAM);
    w.n = 5;
    w.to = a;
    async_spawn(&loop, &t[0], udp_reader_fn, &r);
    async_spawn(&loop, &t[1], udp_sender_fn, &w);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(r.datagrams, 5);
    /* one wake-up per datagram (two may arrive together): no spinning */
    cr_assert_leq(r.wakeups, 5, "the wait returned %d times for 5 datagrams", r.wakeups);
    test_close(w.fd);
    async_io_close(&io);
    async_loop_close(&loop);
}

/* The same with a pipe and read(): a wait after draining must not return at
 * once, so a timer elsewhere is not starved and the wait can time out. */
typedef struct {
    async_frame frame;
    async_io *io;
    async_timeout tmo;
    int first, second;
} drainer;
static int drainer_fn(async_task *task, void *arg) {
    drainer *s = (drainer *)arg;
    char c;
    ASYNC_BEGIN(task, s);
    ASYNC_IO_WAIT(s->io, ASYNC_READ);
    s->first = ASYNC_STATUS();
    cr_assert_eq(test_read(s->io->fd, &c, 1), 1); /* the user's own read */
    ASYNC_WITH_TIMEOUT(&s->tmo, 0.1, ASYNC_IO_WAIT(s->io, ASYNC_READ));
    s->second = ASYNC_STATUS();
    ASYNC_END;
}

Test(promises, io_wait_after_the_users_own_read_can_time_out, .timeout = 10) {
    static async_loop loop;
    static async_io io;
    static async_task t;
    static drainer d;
    int p[2];
    cr_assert_eq(test_pipe(p), 0);
    cr_assert_eq(test_write(p[1], "x", 1), 1);
    async_loop_init(&loop, 0);
    cr_assert_eq(async_io_open(&loop, &io, p[0]), ASYNC_OK);
    d.io = &io;
    async_spawn(&loop, &t, drainer_fn, &d);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(d.first, ASYNC_OK);
    cr_assert_eq(d.second, ASYNC_ETIMEDOUT, "the second wait said %d", d.second);
    async_io_close(&io);
    test_close(p[1]);
    async_loop_close(&loop);
}

#ifndef _WIN32 /* pipes, stdout and regular files: Windows polls sockets only */
/* ---- 11: no SIGPIPE from a pipe whose reader has gone --------------------------- */

Test(promises, writing_to_a_pipe_whose_reader_closed_returns_epipe) {
    static async_loop loop;
    static async_io io;
    sigset_t pending;
    int p[2];
    cr_assert_eq(pipe(p), 0);
    close(p[0]);
    async_loop_init(&loop, 0);
    cr_assert_eq(async_io_open(&loop, &io, p[1]), ASYNC_OK);
    cr_assert_eq(async_io_write(&io, "x", 1), -EPIPE); /* and we are still alive */
    sigemptyset(&pending);
    sigpending(&pending);
    cr_assert_eq(sigismember(&pending, SIGPIPE), 0, "a SIGPIPE was left pending");
    async_io_close(&io);
    async_loop_close(&loop);
}

/* ---- 12, 14: async_io_open changes only the blocking mode ----------------------- */

Test(promises, watching_stdout_keeps_it_for_child_processes) {
    static async_loop loop;
    static async_io io;
    char cmd[64], buf[16] = {0};
    int p[2], saved, fl, fdfl;
    cr_assert_eq(pipe(p), 0);
    fflush(stdout);
    saved = dup(1);
    cr_assert_eq(dup2(p[1], 1), 1);
    fl = fcntl(1, F_GETFL);
    fdfl = fcntl(1, F_GETFD);
    async_loop_init(&loop, 0);
    cr_assert_eq(async_io_open(&loop, &io, 1), ASYNC_OK);
    cr_assert_eq(fcntl(1, F_GETFD), fdfl, "async_io_open changed close-on-exec");
    snprintf(cmd, sizeof cmd, "echo hello");
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(async_io_detach(&io), ASYNC_OK);
    cr_assert_eq(fcntl(1, F_GETFL), fl, "async_io_detach left the fd's flags changed");
    dup2(saved, 1);
    close(saved);
    close(p[1]);
    cr_assert_eq(read(p[0], buf, sizeof buf - 1), 6);
    cr_assert_str_eq(buf, "hello\n");
    close(p[0]);
    async_loop_close(&loop);
}

Test(promises, a_regular_file_is_refused_and_left_as_it_was) {
    static async_loop loop;
    static async_io io;
    char path[] = "/tmp/async_promises_XXXXXX";
    int fd = mkstemp(path), fl;
    cr_assert_geq(fd, 0);
    unlink(path);
    fl = fcntl(fd, F_GETFL);
    async_loop_init(&loop, 0);
    cr_assert_eq(async_io_open(&loop, &io, fd), -EPERM);
    cr_assert_eq(fcntl(fd, F_GETFL), fl, "a refused fd was changed");
    cr_assert_eq(async_io_open(&loop, &io, -1), -EBADF);
    close(fd);
    async_loop_close(&loop);
}

#endif /* _WIN32 */

/* ---- 13: a thread-safe call that closes a handle during an event batch ------------ */

typedef struct {
    async_io *b;      /* the handle the call closes */
    int done;
} closer_arg;
static void close_and_scribble(async_loop *loop, void *arg) {
    closer_arg *c = (closer_arg *)arg;
    (void)loop;
    async_io_close(c->b);
    memset(c->b, 0xff, sizeof *c->b); /* the storage is the user's again */
    c->done = 1;
}

/* Makes the wake fd ready, then b: both come back in one event batch. */
typedef struct {
    async_frame frame;
    async_loop *loop;
    async_call call;
    closer_arg *arg;
    int bfd_w;
} batcher;
static int batcher_fn(async_task *task, void *arg) {
    batcher *s = (batcher *)arg;
    ASYNC_BEGIN(task, s);
    async_call_soon_threadsafe(s->loop, &s->call, close_and_scribble, s->arg);
    cr_assert_eq(test_write(s->bfd_w, "x", 1), 1);
    ASYNC_SLEEP_MS(30); /* the loop waits in the backend and gets both */
    ASYNC_END;
}

Test(promises, a_call_that_closes_a_handle_with_an_event_pending_is_safe, .timeout = 10) {
    static async_loop loop;
    static async_io *b;
    static async_task t;
    static batcher s;
    static closer_arg c;
    int pb[2];
    cr_assert_eq(test_pipe(pb), 0);
    b = (async_io *)malloc(sizeof *b);
    async_loop_init(&loop, 0);
    cr_assert_eq(async_io_open(&loop, b, pb[0]), ASYNC_OK);
    c.b = b;
    s.loop = &loop;
    s.arg = &c;
    s.bfd_w = pb[1];
    async_spawn(&loop, &t, batcher_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(c.done, 1);
    {   /* nothing wrote to b's storage after the call gave it back */
        unsigned char *p = (unsigned char *)b;
        size_t i;
        for (i = 0; i < sizeof *b; i++) cr_assert_eq(p[i], 0xff, "byte %zu of a closed handle was written", i);
    }
    free(b);
    test_close(pb[1]);
    async_loop_close(&loop);
}

/* ---- shutting down with a job in flight ------------------------------------------ */

static intptr_t slow_job(void *arg) {
    sleep_ms(100);
    return (intptr_t)arg + 1;
}
typedef struct {
    async_frame frame;
    async_pool *pool;
    async_job job;
} offloader;
static int offloader_fn(async_task *task, void *arg) {
    offloader *s = (offloader *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_TO_THREAD(s->pool, &s->job, slow_job, (void *)41);
    ASYNC_END;
}

Test(promises, closing_the_loop_with_a_job_in_flight_waits_for_it, .timeout = 10) {
    static async_loop loop;
    static async_pool pool;
    static async_task t[2];
    static offloader o;
    static async_frame q;
    async_loop_init(&loop, 0);
    cr_assert_eq(async_pool_start(&pool, 1), ASYNC_OK);
    o.pool = &pool;
    async_spawn(&loop, &t[0], offloader_fn, &o);
    async_spawn(&loop, &t[1], quick_fn, &q);
    cr_assert_eq(async_run_until(&loop, &t[1]), ASYNC_OK); /* the job is still out */
    cr_assert_eq(o.job.done, 0);
    async_loop_close(&loop);
    cr_assert_eq(o.job.done, 1, "the job's completion was dropped");
    cr_assert_eq(o.job.result, 42);
    async_pool_stop(&pool);
}

/* ---- no SIGPIPE from sockets either, and none in a strict ISO build ------------- */

#ifndef _WIN32 /* SIGPIPE, and the host's C compiler */

Test(promises, writing_to_a_socket_whose_peer_closed_returns_epipe) {
    static async_loop loop;
    static async_io io;
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    async_loop_init(&loop, 0);
    cr_assert_eq(async_io_open(&loop, &io, sv[0]), ASYNC_OK);
    cr_assert_eq(async_io_write(&io, "x", 1), -EPIPE);
    async_io_close(&io);
    async_loop_close(&loop);
}

/* Runs `cc <flags> -I. FILE -o build/promise_prog && build/promise_prog` on a
 * program; its exit status (or -1 if it did not build). */
static int build_and_run(const char *source, const char *flags) {
    const char *cc = getenv("CC");
    char cmd[512];
    FILE *f = fopen("build/promise_prog.c", "w");
    int rc;
    cr_assert_not_null(f, "run the suite from the repository root");
    fputs(source, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s %s -I. build/promise_prog.c -o build/promise_prog "
             "> build/promise_prog.txt 2>&1", cc && *cc ? cc : "cc", flags);
    if (system(cmd) != 0) return -1;
    rc = system("build/promise_prog >> build/promise_prog.txt 2>&1");
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

Test(promises, a_strict_iso_build_writes_to_a_closed_pipe_without_sigpipe, .timeout = 60) {
    static const char prog[] =
        "#include \"async.h\"\n"
        "int main(void) {\n"
        "    async_loop loop; async_io io; int p[2];\n"
        "    if (pipe(p)) return 2;\n"
        "    close(p[0]);\n"
        "    async_loop_init(&loop, 0);\n"
        "    if (async_io_open(&loop, &io, p[1])) return 3;\n"
        "    if (async_io_write(&io, \"x\", 1) != -EPIPE) return 4;\n"
        "    async_io_close(&io); async_loop_close(&loop); return 0;\n"
        "}\n";
    cr_assert_eq(build_and_run(prog, "-std=c99 -Wall -Wextra -Wpedantic -Werror"), 0,
                 "see build/promise_prog.txt");
}

/* ---- no allocation, no mutable globals ----------------------------------------- */

/* Every function of the header, kept even when unused
 * (-fkeep-inline-functions), in one object: its symbols say what it calls
 * and what data it has. */
static void header_symbols(const char *flags, char *undefined, size_t un, char *data, size_t dn) {
    char cmd[512], line[256];
    FILE *f = fopen("build/promise_syms.c", "w");
    cr_assert_not_null(f, "run the suite from the repository root");
    fputs("#include \"async.h\"\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "gcc %s -O2 -fkeep-inline-functions -c -I. build/promise_syms.c "
             "-o build/promise_syms.o && nm build/promise_syms.o > build/promise_syms.txt", flags);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    f = fopen("build/promise_syms.txt", "r");
    cr_assert_not_null(f);
    undefined[0] = data[0] = 0;
    while (fgets(line, sizeof line, f)) {
        char a[64], b[200], c[200], type;
        const char *name;
        int n = sscanf(line, "%63s %199s %199s", a, b, c);
        if (n == 3) { /* address, type, name */
            type = b[0];
            name = c;
        } else if (n == 2) { /* undefined: type, name */
            type = a[0];
            name = b;
        } else {
            continue;
        }
        if (type == 'U') {
            strncat(undefined, name, un - strlen(undefined) - 2);
            strncat(undefined, " ", un - strlen(undefined) - 1);
        } else if (strchr("bBdDCGS", type) && strncmp(name, "async__site.", 12) != 0 &&
                   /* async_main's pointer for its signal handler (README) */
                   strncmp(name, "async__signal_target.", 21) != 0) {
            strncat(data, name, dn - strlen(data) - 2);
            strncat(data, " ", dn - strlen(data) - 1);
        }
    }
    fclose(f);
}

Test(promises, the_header_allocates_nothing_and_has_no_mutable_data, .timeout = 60) {
    static const char *const flags[] = {"-std=c99", "-std=gnu11 -DASYNC_TRACE",
                                        "-std=c99 -DASYNC_POLL", "-std=c99 -DASYNC_LABELS=1"};
    static const char *const alloc[] = {"malloc", "calloc", "realloc", "free", "strdup",
                                        "aligned_alloc", "posix_memalign"};
    char undefined[4096], data[1024], word[32];
    size_t i, j;
    for (i = 0; i < sizeof flags / sizeof *flags; i++) {
        header_symbols(flags[i], undefined, sizeof undefined, data, sizeof data);
        cr_assert(strstr(undefined, "epoll_wait") || strstr(undefined, "poll"),
                  "the object holds the I/O code (%s)", undefined);
        for (j = 0; j < sizeof alloc / sizeof *alloc; j++) {
            snprintf(word, sizeof word, " %s ", alloc[j]);
            cr_assert(!strstr(undefined, word) && strncmp(undefined, word + 1, strlen(word) - 1),
                      "%s: the header calls %s", flags[i], alloc[j]);
        }
        cr_assert_str_eq(data, "", "%s: the header has data: %s", flags[i], data);
    }
}
#endif /* _WIN32 */
