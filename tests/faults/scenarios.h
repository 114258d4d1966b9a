/* tests/faults/scenarios.h - the fault-injection scenarios (issue 17).
 *
 * Three programs, each on one async_loop, each run once per seed under the
 * fault layer (fault.h, included before async.h by whoever includes this):
 *
 *   echo  an accept loop and 3-6 clients over loopback TCP; each client
 *         sends a few KB of its own byte pattern in messages of varying
 *         size, then half-closes, and reads the echo back.
 *   http  a tiny HTTP/1.0 server of generated pages that link to each
 *         other, and a crawler of three tasks that starts at /page0 and
 *         follows every href (socket helpers only: connect, send the GET,
 *         read to the end, parse the status, Content-Length and links).
 *   pool  a worker pool and many ASYNC_TO_THREAD jobs whose workers also
 *         call async_call_soon_threadsafe.
 *
 * What each run must show, whatever the faults:
 *   - every client / page / job is OK (all bytes back, in order; the page
 *     byte-identical to what the server generated; the job's result once)
 *     or ERRORED: a helper reported an error (a negative result), or the
 *     server dropped the connection before sending anything.  Wrong bytes,
 *     or a stream that stops short with no error anywhere, are BAD;
 *   - no hang: a watchdog task fails the run (with async_dump) after
 *     hang_s seconds, and a watchdog thread aborts the process if the loop
 *     itself stops turning;
 *   - async_run returns ASYNC_OK, no handle is left open, and the process
 *     has as many fds open after async_loop_close as before the run.
 * Faults are realistic (fault.h), so an ERRORED outcome is the library
 * reporting a real failure and a BAD one is a bug (in async.h, or planted).
 *
 * fx_run_seed() runs one scenario for one seed; fx_run_seeds() a range, with
 * totals.  Used by tests/test_faults.c (Criterion) and tests/faults/driver.c
 * (make faults).  No Criterion here: failures are printed and returned. */
#ifndef FAULT_SCENARIOS_H
#define FAULT_SCENARIOS_H
#ifndef FAULT_H
#error "include tests/faults/fault.h first (then async.h)"
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include "async.h"

enum { FX_ECHO, FX_HTTP, FX_POOL, FX_NSCEN };
static const char *const fx_scenario_names[FX_NSCEN] = {"echo", "http", "pool"};

/* Outcomes of one client, page or job. */
enum { FX_PENDING, FX_OK, FX_ERR, FX_BAD };

typedef struct fx_opts {
    unsigned one_in;  /* fault rate (fault_config.one_in); 0: no faults */
    int plant;        /* FAULT_PLANT_* */
    double hang_s;    /* the in-loop watchdog's limit */
    int quiet;        /* bits: 1 no async_dump when the watchdog fires, 2 print nothing */
    FILE *dump;       /* where the watchdog's async_dump goes (NULL: stderr) */
    int beyond;       /* fault_config.beyond: fcntl EINTR too */
} fx_opts;

/* One run, or the sum of many. */
typedef struct fx_result {
    long seeds, failed;         /* runs, and runs that failed */
    long ok, errored, bad;      /* clients / pages / jobs */
    long hangs, leaks, retries; /* retries: setup calls that failed and were retried */
    long first_failed;          /* seed, or -1 */
    uint64_t digest;            /* of everything the run received (one run) */
    char why[256];              /* first failure, one line */
} fx_result;

static inline void fx_result_init(fx_result *r) {
    memset(r, 0, sizeof *r);
    r->first_failed = -1;
    r->digest = 1469598103934665603ull;
}

static inline void fx_fail(fx_result *r, const char *what) {
    if (!r->why[0]) snprintf(r->why, sizeof r->why, "%s", what);
}

static inline uint64_t fx_hash(uint64_t h, const void *p, size_t n) { /* FNV-1a */
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static inline uint64_t fx_rand(uint64_t *s) { return fault_splitmix(s); } /* the scenario's shape */
static inline unsigned fx_between(uint64_t *s, unsigned lo, unsigned hi) {
    return lo + (unsigned)(fx_rand(s) % (hi - lo + 1));
}

static inline double fx_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int fx_count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

/* ---- watchdogs ------------------------------------------------------------------ */

/* In the loop: a task that sleeps hang_s, and if it is still there (the
 * scenario cancels it when done), reports the hang, dumps the loop and
 * cancels the scenario's tasks so that the run ends and cleans up. */
typedef struct fx_watchdog {
    async_frame frame;
    double limit;
    int fired, quiet;
    FILE *dump;
    const char *scenario;
    uint64_t seed;
    void (*cancel_all)(void *ctx);
    void *ctx;
} fx_watchdog;

static inline int fx_watchdog_fn(async_task *task, void *arg) {
    fx_watchdog *s = (fx_watchdog *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP(s->limit);
    s->fired = 1;
    if (!(s->quiet & 2))
        fprintf(stderr, "faults: %s seed %llu: hung (nothing finished in %.1f s)%s\n", s->scenario,
                (unsigned long long)s->seed, s->limit, (s->quiet & 1) || s->dump ? "" : "; the loop:");
    if (!(s->quiet & 1)) async_dump(ASYNC_LOOP(), s->dump ? s->dump : stderr);
    s->cancel_all(s->ctx);
    ASYNC_END;
}

static inline void fx_cancel(async_task *t, int spawned) {
    if (spawned && !async_task_done(t)) async_cancel(t);
}

/* Outside the loop: a thread that aborts the process if one run takes far
 * longer than its watchdog allows (the loop itself stuck, e.g. blocked in a
 * system call or spinning).  It holds SIGALRM blocked so that a signal
 * storm lands on the loop's thread. */
static pthread_mutex_t fx_hard_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fx_hard_cv = PTHREAD_COND_INITIALIZER;
static struct {
    pthread_t th;
    int running, stop;
    double deadline; /* fx_now() time; 0: disarmed */
    char what[128];
} fx_hard;

static inline void *fx_hard_thread(void *arg) {
    (void)arg;
    pthread_mutex_lock(&fx_hard_mu);
    while (!fx_hard.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts); /* the condition's clock */
        ts.tv_nsec += 100000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&fx_hard_cv, &fx_hard_mu, &ts);
        if (fx_hard.deadline > 0 && fx_now() > fx_hard.deadline) {
            fprintf(stderr, "faults: %s: the loop stopped turning (hard time limit); aborting\n",
                    fx_hard.what);
            abort();
        }
    }
    pthread_mutex_unlock(&fx_hard_mu);
    return NULL;
}

static inline void fx_hard_start(void) {
    sigset_t alrm, old;
    if (fx_hard.running) return;
    fx_hard.stop = 0;
    fx_hard.deadline = 0;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alrm, &old);
    if (pthread_create(&fx_hard.th, NULL, fx_hard_thread, NULL) == 0) fx_hard.running = 1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static inline void fx_hard_stop(void) {
    if (!fx_hard.running) return;
    pthread_mutex_lock(&fx_hard_mu);
    fx_hard.stop = 1;
    pthread_cond_signal(&fx_hard_cv);
    pthread_mutex_unlock(&fx_hard_mu);
    pthread_join(fx_hard.th, NULL);
    fx_hard.running = 0;
}

static inline void fx_hard_arm(double seconds, const char *scenario, uint64_t seed) {
    pthread_mutex_lock(&fx_hard_mu);
    fx_hard.deadline = seconds > 0 ? fx_now() + seconds : 0;
    snprintf(fx_hard.what, sizeof fx_hard.what, "%s seed %llu", scenario, (unsigned long long)seed);
    pthread_mutex_unlock(&fx_hard_mu);
}

/* ---- SIGALRM storm ------------------------------------------------------------------
 * setitimer(ITIMER_REAL) at 1 kHz, with a handler installed WITHOUT
 * SA_RESTART: every blocking system call of the loop's thread may return
 * EINTR.  The pool's workers and the watchdog thread hold SIGALRM blocked,
 * so the signals land on the loop's thread. */
static volatile sig_atomic_t fx_storm_signals;
static inline void fx_storm_handler(int sig) {
    (void)sig;
    fx_storm_signals = fx_storm_signals + 1; /* C++20: no ++ on a volatile */
}
static struct sigaction fx_storm_old;

static inline void fx_storm_start(void) {
    struct sigaction sa;
    struct itimerval it;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fx_storm_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: interrupted calls fail with EINTR */
    sigaction(SIGALRM, &sa, &fx_storm_old);
    memset(&it, 0, sizeof it);
    it.it_interval.tv_usec = 1000;
    it.it_value.tv_usec = 1000;
    setitimer(ITIMER_REAL, &it, NULL);
}

/* A SIGALRM may still be pending when the timer stops (under valgrind,
 * delivery lags): ignoring it first discards it (POSIX), so restoring the
 * default action cannot let it kill the process. */
static inline void fx_storm_stop(void) {
    struct itimerval it;
    struct sigaction ign;
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_REAL, &it, NULL);
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGALRM, &ign, NULL);
    sigaction(SIGALRM, &fx_storm_old, NULL);
}

/* ---- shared pieces ---------------------------------------------------------------- */

/* A listener on 127.0.0.1, port picked by the kernel.  Under faults making
 * it may fail (no fd, no memory, an fcntl interrupted): try again, as a
 * server would at start-up.  The number of tries is bounded by the fault
 * layer's cap on faults in a row. */
static inline int fx_listen(async_loop *loop, async_io *io, struct sockaddr_in *a, fx_result *r) {
    socklen_t len = sizeof *a;
    int tries, rc = -1;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (tries = 0; tries < 100; tries++) {
        rc = async_tcp_listen(loop, io, (struct sockaddr *)a, sizeof *a, 128);
        if (rc == ASYNC_OK) break;
        r->retries++;
    }
    if (rc != ASYNC_OK) {
        fx_fail(r, "could not listen in 100 tries");
        return rc;
    }
    getsockname(io->fd, (struct sockaddr *)a, &len);
    return ASYNC_OK;
}

/* The first offset where got[] differs from want[], or n if none. */
static inline size_t fx_diff(const unsigned char *got, const unsigned char *want, size_t n) {
    size_t i;
    for (i = 0; i < n && got[i] == want[i]; i++) {
    }
    return i;
}

/* ==== echo ======================================================================= */

enum { FX_ECHO_CLIENTS = 6, FX_ECHO_BYTES = 6144, FX_ECHO_MSGS = 64 };

struct fx_echo;
struct fx_eclient;

typedef struct fx_econn { /* the server's side of one connection */
    async_frame frame;
    async_io io;
    async_sock_op op;
    unsigned char buf[1500];
    intptr_t n;
} fx_econn;

typedef struct fx_eaccept {
    async_frame frame;
    async_sock_op op;
    struct fx_echo *e;
} fx_eaccept;

typedef struct fx_esend {
    async_frame frame;
    async_sock_op op;
    struct fx_eclient *c;
    size_t off;
    int m;
    intptr_t result; /* 0, or the first negative result */
} fx_esend;

typedef struct fx_eclient {
    async_frame frame;
    async_io io;
    async_sock_op op;
    struct fx_echo *e;
    int id, nmsg, opened, sender_spawned, outcome;
    size_t len, got;
    size_t msg[FX_ECHO_MSGS];
    unsigned char out[FX_ECHO_BYTES], in[FX_ECHO_BYTES];
    intptr_t rc; /* the first negative result of a helper (or of socket()), else 0 */
    async_task sender_task;
    fx_esend sender;
} fx_eclient;

/* A pipe alongside the sockets: the same bytes through write(2) and
 * read(2) (async_io_write's pipe path, SIGPIPE held), short transfers and
 * EINTR included. */
typedef struct fx_epipe {
    async_frame frame;
    async_io *io;
    async_sock_op op;
    struct fx_echo *e;
    int m;
    size_t off;
    intptr_t rc;
} fx_epipe;

typedef struct fx_econductor {
    async_frame frame;
    struct fx_echo *e;
    int i;
} fx_econductor;

typedef struct fx_echo {
    async_loop loop;
    async_io listener;
    struct sockaddr_in addr;
    int nclients, nconns;
    fx_eclient clients[FX_ECHO_CLIENTS];
    async_task ctasks[FX_ECHO_CLIENTS];
    fx_econn conns[FX_ECHO_CLIENTS];
    async_task stasks[FX_ECHO_CLIENTS];
    fx_eaccept acc;
    async_task acc_task;
    /* the pipe: one stream, its own pattern and message sizes */
    int piped;                   /* both ends open and tasks spawned */
    async_io pin, pout;
    fx_epipe pw, pr;
    async_task pw_task, pr_task;
    size_t plen, pgot, pmsg[FX_ECHO_MSGS];
    int pnmsg;
    unsigned char pdata[FX_ECHO_BYTES], pin_buf[FX_ECHO_BYTES];
    fx_econductor cond;
    async_task cond_task;
    fx_watchdog wd;
    async_task wd_task;
} fx_echo;

static inline int fx_econn_fn(async_task *task, void *arg) {
    fx_econn *s = (fx_econn *)arg;
    ASYNC_BEGIN(task, s);
    for (;;) {
        ASYNC_SOCK_RECV(&s->op, &s->io, s->buf, sizeof s->buf);
        s->n = ASYNC_RESULT(&s->op);
        if (s->n <= 0) break; /* the client is done, or the connection broke */
        ASYNC_SOCK_SENDALL(&s->op, &s->io, s->buf, (size_t)s->n);
        if (ASYNC_RESULT(&s->op) < 0) break;
    }
    ASYNC_FINALLY;
    async_io_close(&s->io);
    ASYNC_END;
}

/* Accepts one connection per client (a client connects once); the
 * conductor cancels it when the clients are done. */
static inline int fx_eaccept_fn(async_task *task, void *arg) {
    fx_eaccept *s = (fx_eaccept *)arg;
    fx_echo *e = s->e;
    ASYNC_BEGIN(task, s);
    while (e->nconns < e->nclients) {
        ASYNC_SOCK_ACCEPT(&s->op, &e->listener, &e->conns[e->nconns].io);
        if (ASYNC_RESULT(&s->op) < 0) continue; /* that connection is lost: its client hears */
        async_spawn_named(ASYNC_LOOP(), &e->stasks[e->nconns], fx_econn_fn, &e->conns[e->nconns],
                          "echo conn");
        e->nconns++;
    }
    ASYNC_FINALLY;
    async_io_close(&e->listener);
    ASYNC_END;
}

static inline int fx_esend_fn(async_task *task, void *arg) {
    fx_esend *s = (fx_esend *)arg;
    fx_eclient *c = s->c;
    ASYNC_BEGIN(task, s);
    for (s->m = 0, s->off = 0; s->m < c->nmsg; s->off += c->msg[s->m], s->m++) {
        ASYNC_SOCK_SENDALL(&s->op, &c->io, c->out + s->off, c->msg[s->m]);
        if (ASYNC_RESULT(&s->op) < 0) {
            s->result = ASYNC_RESULT(&s->op);
            ASYNC_RETURN(0);
        }
    }
    shutdown(c->io.fd, SHUT_WR); /* the end of what this client sends */
    ASYNC_END;
}

static inline int fx_epipe_writer_fn(async_task *task, void *arg) {
    fx_epipe *s = (fx_epipe *)arg;
    fx_echo *e = s->e;
    ASYNC_BEGIN(task, s);
    for (s->m = 0, s->off = 0; s->m < e->pnmsg; s->off += e->pmsg[s->m], s->m++) {
        ASYNC_SOCK_SENDALL(&s->op, s->io, e->pdata + s->off, e->pmsg[s->m]);
        if (ASYNC_RESULT(&s->op) < 0) {
            s->rc = ASYNC_RESULT(&s->op);
            break;
        }
    }
    ASYNC_FINALLY;
    async_io_close(s->io); /* the reader sees the end */
    ASYNC_END;
}

static inline int fx_epipe_reader_fn(async_task *task, void *arg) {
    fx_epipe *s = (fx_epipe *)arg;
    fx_echo *e = s->e;
    ASYNC_BEGIN(task, s);
    ASYNC_SOCK_RECV_EXACTLY(&s->op, s->io, e->pin_buf, e->plen);
    s->rc = ASYNC_RESULT(&s->op) < 0 ? ASYNC_RESULT(&s->op) : 0;
    e->pgot = s->op.done;
    ASYNC_FINALLY;
    async_io_close(s->io);
    ASYNC_END;
}

static inline int fx_eclient_fn(async_task *task, void *arg) {
    fx_eclient *s = (fx_eclient *)arg;
    ASYNC_BEGIN(task, s);
    s->rc = async_tcp_socket(ASYNC_LOOP(), &s->io, AF_INET);
    if (s->rc) ASYNC_RETURN(0);
    s->opened = 1;
    ASYNC_SOCK_CONNECT(&s->op, &s->io, (const struct sockaddr *)&s->e->addr, sizeof s->e->addr, 0);
    s->rc = ASYNC_RESULT(&s->op);
    if (s->rc) ASYNC_RETURN(0);
    s->sender.c = s;
    s->sender_spawned = 1;
    async_spawn_named(ASYNC_LOOP(), &s->sender_task, fx_esend_fn, &s->sender, "echo sender");
    ASYNC_SOCK_RECV_EXACTLY(&s->op, &s->io, s->in, s->len);
    s->rc = ASYNC_RESULT(&s->op) < 0 ? ASYNC_RESULT(&s->op) : 0;
    s->got = s->op.done; /* what arrived, also when the stream broke */
    ASYNC_AWAIT_TASK(&s->sender_task);
    if (!s->rc) s->rc = s->sender.result;
    ASYNC_FINALLY;
    if (s->opened) async_io_close(&s->io);
    ASYNC_END;
}

static inline int fx_econductor_fn(async_task *task, void *arg) {
    fx_econductor *s = (fx_econductor *)arg;
    fx_echo *e = s->e;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < e->nclients; s->i++) ASYNC_AWAIT_TASK(&e->ctasks[s->i]);
    async_cancel(&e->acc_task);
    ASYNC_AWAIT_TASK(&e->acc_task);
    for (s->i = 0; s->i < e->nconns; s->i++) ASYNC_AWAIT_TASK(&e->stasks[s->i]);
    if (e->piped) {
        ASYNC_AWAIT_TASK(&e->pw_task);
        ASYNC_AWAIT_TASK(&e->pr_task);
    }
    async_cancel(&e->wd_task);
    ASYNC_END;
}

static inline void fx_echo_cancel_all(void *ctx) {
    fx_echo *e = (fx_echo *)ctx;
    int i;
    fx_cancel(&e->cond_task, 1);
    fx_cancel(&e->acc_task, 1);
    for (i = 0; i < e->nclients; i++) {
        fx_cancel(&e->ctasks[i], 1);
        fx_cancel(&e->clients[i].sender_task, e->clients[i].sender_spawned);
    }
    for (i = 0; i < e->nconns; i++) fx_cancel(&e->stasks[i], 1);
    fx_cancel(&e->pw_task, e->piped);
    fx_cancel(&e->pr_task, e->piped);
}

/* Make the pipe and watch both ends (watching may fail under faults: try
 * again, as with the listener).  0, or -1 if it could not be set up. */
static inline int fx_echo_pipe(fx_echo *e, fx_result *r) {
    int p[2], tries, rc = -1;
    if (pipe(p) < 0) return -1;
    for (tries = 0; tries < 100 && rc != ASYNC_OK; tries++)
        if ((rc = async_io_open(&e->loop, &e->pin, p[0])) != ASYNC_OK) r->retries++;
    for (tries = 0, rc = rc == ASYNC_OK ? -1 : rc; e->pin.open && tries < 100 && rc != ASYNC_OK; tries++)
        if ((rc = async_io_open(&e->loop, &e->pout, p[1])) != ASYNC_OK) r->retries++;
    if (rc != ASYNC_OK) {
        if (e->pin.open) async_io_detach(&e->pin);
        close(p[0]);
        close(p[1]);
        fault_forget(p[0]);
        fault_forget(p[1]);
        fx_fail(r, "could not watch a pipe in 100 tries");
        return -1;
    }
    return 0;
}

static inline void fx_echo_run(uint64_t seed, const fx_opts *o, fx_result *r) {
    fx_echo *e = (fx_echo *)calloc(1, sizeof *e); /* zeroed: tasks must be */
    uint64_t rs = seed * 7919u + 17u;
    int i, m, rc;
    char why[200];
    if (!e) {
        fx_fail(r, "out of memory");
        return;
    }
    async_loop_init(&e->loop, 0);
    if (fx_listen(&e->loop, &e->listener, &e->addr, r) != ASYNC_OK) {
        async_loop_close(&e->loop);
        free(e);
        return;
    }
    e->nclients = (int)fx_between(&rs, 3, FX_ECHO_CLIENTS);
    for (i = 0; i < e->nclients; i++) {
        fx_eclient *c = &e->clients[i];
        size_t left, k;
        uint64_t ps = seed * 1000003u + (uint64_t)i; /* the client's own byte pattern */
        c->e = e;
        c->id = i;
        c->len = fx_between(&rs, 256, FX_ECHO_BYTES);
        for (k = 0; k < c->len; k++) c->out[k] = (unsigned char)(fx_rand(&ps) >> 56);
        for (left = c->len, m = 0; left > 0; m++) {
            size_t n = m == FX_ECHO_MSGS - 1 ? left : fx_between(&rs, 1, 1400);
            c->msg[m] = n < left ? n : left;
            left -= c->msg[m];
        }
        c->nmsg = m;
    }
    {
        uint64_t ps = seed * 1000003u + 999u;
        size_t left, k;
        e->plen = fx_between(&rs, 256, FX_ECHO_BYTES);
        for (k = 0; k < e->plen; k++) e->pdata[k] = (unsigned char)(fx_rand(&ps) >> 56);
        for (left = e->plen, m = 0; left > 0; m++) {
            size_t n = m == FX_ECHO_MSGS - 1 ? left : fx_between(&rs, 1, 1400);
            e->pmsg[m] = n < left ? n : left;
            left -= e->pmsg[m];
        }
        e->pnmsg = m;
    }
    e->acc.e = e;
    e->cond.e = e;
    e->wd.limit = o->hang_s;
    e->wd.quiet = o->quiet;
    e->wd.dump = o->dump;
    e->wd.scenario = "echo";
    e->wd.seed = seed;
    e->wd.cancel_all = fx_echo_cancel_all;
    e->wd.ctx = e;
    async_spawn_named(&e->loop, &e->wd_task, fx_watchdog_fn, &e->wd, "watchdog");
    async_spawn_named(&e->loop, &e->acc_task, fx_eaccept_fn, &e->acc, "echo accept");
    for (i = 0; i < e->nclients; i++)
        async_spawn_named(&e->loop, &e->ctasks[i], fx_eclient_fn, &e->clients[i], "echo client");
    if (fx_echo_pipe(e, r) == 0) {
        e->piped = 1;
        e->pw.e = e->pr.e = e;
        e->pw.io = &e->pout;
        e->pr.io = &e->pin;
        async_spawn_named(&e->loop, &e->pw_task, fx_epipe_writer_fn, &e->pw, "pipe writer");
        async_spawn_named(&e->loop, &e->pr_task, fx_epipe_reader_fn, &e->pr, "pipe reader");
    }
    async_spawn_named(&e->loop, &e->cond_task, fx_econductor_fn, &e->cond, "conductor");
    rc = async_run(&e->loop);
    if (rc != ASYNC_OK) {
        snprintf(why, sizeof why, "async_run returned %s", async_strerror(rc));
        fx_fail(r, why);
    }
    if (e->wd.fired) {
        r->hangs++;
        fx_fail(r, "hung (watchdog)");
    }
    for (i = 0; i < e->nclients; i++) {
        fx_eclient *c = &e->clients[i];
        size_t d = fx_diff(c->in, c->out, c->got);
        if (d < c->got) {
            c->outcome = FX_BAD;
            snprintf(why, sizeof why, "echo client %d: wrong byte at offset %zu of %zu", i, d, c->len);
        } else if (c->got == c->len && !c->rc) {
            c->outcome = FX_OK;
        } else if (c->rc || c->got == 0) {
            c->outcome = FX_ERR; /* reported, or dropped by the server before any echo */
        } else {
            c->outcome = FX_BAD;
            snprintf(why, sizeof why,
                     "echo client %d: the stream ended after %zu of %zu bytes and no error was reported",
                     i, c->got, c->len);
        }
        if (e->wd.fired && c->outcome != FX_BAD) c->outcome = FX_ERR; /* counted as the hang */
        if (c->outcome == FX_OK) r->ok++;
        if (c->outcome == FX_ERR) r->errored++;
        if (c->outcome == FX_BAD) {
            r->bad++;
            fx_fail(r, why);
        }
        r->digest = fx_hash(r->digest, &c->outcome, sizeof c->outcome);
        r->digest = fx_hash(r->digest, c->in, c->got);
        if (c->io.open) fx_fail(r, "an echo client's handle was left open");
    }
    if (e->piped) { /* nothing drops bytes in a pipe: anything short is BAD */
        size_t d = fx_diff(e->pin_buf, e->pdata, e->pgot);
        int out = FX_BAD;
        if (d == e->pgot && e->pgot == e->plen && !e->pr.rc && !e->pw.rc)
            out = FX_OK;
        else if (d == e->pgot && (e->pr.rc || e->pw.rc || e->wd.fired))
            out = FX_ERR;
        if (out == FX_OK) r->ok++;
        if (out == FX_ERR) r->errored++;
        if (out == FX_BAD) {
            r->bad++;
            snprintf(why, sizeof why, "echo pipe: %zu of %zu bytes, first wrong at offset %zu", e->pgot,
                     e->plen, d);
            fx_fail(r, why);
        }
        r->digest = fx_hash(r->digest, e->pin_buf, e->pgot);
        if (e->pin.open || e->pout.open) fx_fail(r, "a pipe handle was left open");
    }
    for (i = 0; i < e->nconns; i++)
        if (e->conns[i].io.open) fx_fail(r, "an echo server connection was left open");
    if (e->listener.open) fx_fail(r, "the echo listener was left open");
    async_loop_close(&e->loop);
    free(e);
}

/* ==== http ======================================================================= */

enum { FX_PAGES = 12, FX_PAGE_MAX = 7000, FX_RESP_MAX = 7200, FX_CRAWLERS = 3, FX_SLOTS = 16,
       FX_ATTEMPTS = 4 };

struct fx_http;

typedef struct fx_page {
    char body[FX_PAGE_MAX];
    size_t len;
    char resp[FX_RESP_MAX]; /* what the server sends: head and body */
    size_t resp_len;
    int visited, outcome;
} fx_page;

typedef struct fx_hconn {
    async_frame frame;
    struct fx_http *h;
    async_io io;
    async_sock_op op;
    char req[256];
    size_t have;
    int page;
} fx_hconn;

typedef struct fx_haccept {
    async_frame frame;
    struct fx_http *h;
    async_sock_op op;
    int slot;
} fx_haccept;

typedef struct fx_crawler {
    async_frame frame;
    struct fx_http *h;
    async_io io;
    async_sock_op op;
    int page, attempt, opened, outcome;
    intptr_t rc;
    char req[64];
    unsigned char resp[FX_RESP_MAX + 1];
    size_t got;
} fx_crawler;

typedef struct fx_hconductor {
    async_frame frame;
    struct fx_http *h;
    int i;
} fx_hconductor;

typedef struct fx_http {
    async_loop loop;
    async_io listener;
    struct sockaddr_in addr;
    int npages, pending, bad_requests, quiet;
    fx_page pages[FX_PAGES];
    async_queue queue;
    int qbuf[FX_PAGES];
    fx_hconn conns[FX_SLOTS];
    async_task stasks[FX_SLOTS];
    unsigned char used[FX_SLOTS];
    fx_haccept acc;
    async_task acc_task;
    fx_crawler crawlers[FX_CRAWLERS];
    async_task ctasks[FX_CRAWLERS];
    fx_hconductor cond;
    async_task cond_task;
    fx_watchdog wd;
    async_task wd_task;
} fx_http;

/* Pages link to each other: page i > 0 is linked from a page before it,
 * so all are reachable from page 0, plus a few links anywhere. */
static inline void fx_make_pages(fx_http *h, uint64_t seed) {
    static const char *const words[] = {"lorem", "ipsum", "coroutine", "loop", "socket",
                                        "await", "epoll", "ready", "queue", "timer"};
    uint64_t rs = seed * 104729u + 7u;
    int links[FX_PAGES][FX_PAGES], nlinks[FX_PAGES], i, j;
    memset(nlinks, 0, sizeof nlinks);
    h->npages = (int)fx_between(&rs, 4, FX_PAGES);
    for (i = 1; i < h->npages; i++) {
        int parent = (int)fx_between(&rs, 0, (unsigned)i - 1);
        links[parent][nlinks[parent]++] = i;
    }
    for (i = 0; i < h->npages; i++) {
        int extra = (int)fx_between(&rs, 0, 2);
        for (j = 0; j < extra && nlinks[i] < FX_PAGES; j++)
            links[i][nlinks[i]++] = (int)fx_between(&rs, 0, (unsigned)h->npages - 1);
    }
    for (i = 0; i < h->npages; i++) {
        fx_page *p = &h->pages[i];
        size_t target = fx_between(&rs, 100, FX_PAGE_MAX - 1200), n; /* room for the links */
        int next = 0;
        n = (size_t)snprintf(p->body, FX_PAGE_MAX, "<html><head><title>page %d</title></head><body>\n", i);
        while (n < target) { /* words, with the links strewn among them */
            if (next < nlinks[i] && fx_between(&rs, 0, 7) == 0) {
                n += (size_t)snprintf(p->body + n, FX_PAGE_MAX - n, "<a href=\"/page%d\">page %d</a>\n",
                                      links[i][next], links[i][next]);
                next++;
            } else {
                n += (size_t)snprintf(p->body + n, FX_PAGE_MAX - n, "%s ", words[fx_rand(&rs) % 10]);
            }
        }
        for (; next < nlinks[i]; next++)
            n += (size_t)snprintf(p->body + n, FX_PAGE_MAX - n, "<a href=\"/page%d\">page %d</a>\n",
                                  links[i][next], links[i][next]);
        n += (size_t)snprintf(p->body + n, FX_PAGE_MAX - n, "</body></html>\n");
        p->len = n;
        p->resp_len = (size_t)snprintf(p->resp, FX_RESP_MAX,
                                       "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n"
                                       "Content-Length: %zu\r\n\r\n",
                                       p->len);
        memcpy(p->resp + p->resp_len, p->body, p->len);
        p->resp_len += p->len;
    }
}

static inline int fx_hconn_fn(async_task *task, void *arg) {
    fx_hconn *s = (fx_hconn *)arg;
    fx_page *p;
    ASYNC_BEGIN(task, s);
    s->have = 0;
    s->req[0] = '\0';
    while (!strstr(s->req, "\r\n\r\n")) {
        if (s->have == sizeof s->req - 1) break;
        ASYNC_SOCK_RECV(&s->op, &s->io, s->req + s->have, sizeof s->req - 1 - s->have);
        if (ASYNC_RESULT(&s->op) <= 0) ASYNC_RETURN(0); /* gone before asking */
        s->have += (size_t)ASYNC_RESULT(&s->op);
        s->req[s->have] = '\0';
    }
    if (sscanf(s->req, "GET /page%d HTTP/1.0\r\n", &s->page) != 1 || s->page < 0 ||
        s->page >= s->h->npages || !strstr(s->req, "\r\n\r\n")) {
        /* the crawler only asks for pages that exist: a garbled request is
         * bytes lost or mangled on the way */
        s->h->bad_requests++;
        ASYNC_SOCK_SENDALL(&s->op, &s->io, "HTTP/1.0 400 Bad Request\r\n\r\n", 28);
        ASYNC_RETURN(0);
    }
    /* some pages take a moment to make: the loop waits on a timer as well */
    if (s->page % 3) ASYNC_SLEEP_NS((int64_t)(s->page % 3) * 150000);
    p = &s->h->pages[s->page];
    /* the head, then the body: two writes, more ways to interleave */
    ASYNC_SOCK_SENDALL(&s->op, &s->io, p->resp, p->resp_len - p->len);
    if (ASYNC_RESULT(&s->op) < 0) ASYNC_RETURN(0);
    p = &s->h->pages[s->page];
    ASYNC_SOCK_SENDALL(&s->op, &s->io, p->body, p->len);
    ASYNC_FINALLY;
    async_io_close(&s->io);
    ASYNC_END;
}

/* Serves until cancelled, one task per connection in slots reused once done. */
static inline int fx_haccept_fn(async_task *task, void *arg) {
    fx_haccept *s = (fx_haccept *)arg;
    fx_http *h = s->h;
    ASYNC_BEGIN(task, s);
    for (;;) {
        for (s->slot = 0; s->slot < FX_SLOTS; s->slot++)
            if (!h->used[s->slot] || async_task_done(&h->stasks[s->slot])) break;
        if (s->slot == FX_SLOTS) {
            ASYNC_SLEEP_MS(1); /* every slot busy: let one finish */
            continue;
        }
        ASYNC_SOCK_ACCEPT(&s->op, &h->listener, &h->conns[s->slot].io);
        if (ASYNC_RESULT(&s->op) < 0) continue; /* that connection is lost: its crawler hears */
        h->conns[s->slot].h = h;
        h->used[s->slot] = 1;
        async_spawn_named(ASYNC_LOOP(), &h->stasks[s->slot], fx_hconn_fn, &h->conns[s->slot],
                          "http conn");
    }
    ASYNC_FINALLY;
    async_io_close(&h->listener);
    ASYNC_END;
}

/* Pages linked from a body the crawler received (and checked). */
static inline void fx_follow_links(fx_http *h, const char *body, size_t len) {
    const char *p = body, *end = body + len;
    static const char pat[] = "href=\"/page";
    while (p < end) {
        const char *q = strstr(p, pat);
        int n = 0, digits = 0;
        if (!q || q >= end) break;
        for (q += sizeof pat - 1; q < end && *q >= '0' && *q <= '9'; q++, digits++) n = n * 10 + (*q - '0');
        p = q;
        if (!digits || n >= h->npages || h->pages[n].visited) continue;
        h->pages[n].visited = 1;
        h->pending++;
        async_queue_try_put(&h->queue, &n); /* never full: a page goes in once */
    }
}

/* Classify a fetch: its bytes must be a prefix of the server's response. */
static inline int fx_check_fetch(fx_http *h, fx_crawler *s, char *why, size_t whylen) {
    fx_page *p = &h->pages[s->page];
    const char *cl, *eoh;
    size_t d = fx_diff(s->resp, (const unsigned char *)p->resp, s->got < p->resp_len ? s->got : p->resp_len);
    if (d < s->got) {
        snprintf(why, whylen, "page %d: wrong byte at offset %zu of %zu (got %zu)", s->page, d,
                 p->resp_len, s->got);
        return FX_BAD;
    }
    if (s->rc || s->got == 0) return FX_ERR; /* reported, or dropped before any reply */
    if (s->got < p->resp_len) {
        snprintf(why, whylen, "page %d: the response ended after %zu of %zu bytes, no error reported",
                 s->page, s->got, p->resp_len);
        return FX_BAD;
    }
    /* The bytes are the server's: parse them as a crawler would. */
    s->resp[s->got] = '\0';
    eoh = strstr((const char *)s->resp, "\r\n\r\n");
    cl = strstr((const char *)s->resp, "Content-Length: ");
    if (strncmp((const char *)s->resp, "HTTP/1.0 200 ", 13) != 0 || !eoh || !cl ||
        (size_t)strtoul(cl + 16, NULL, 10) != s->got - (size_t)(eoh + 4 - (const char *)s->resp)) {
        snprintf(why, whylen, "page %d: the response does not parse", s->page);
        return FX_BAD;
    }
    fx_follow_links(h, eoh + 4, s->got - (size_t)(eoh + 4 - (const char *)s->resp));
    return FX_OK;
}

static inline int fx_crawler_fn(async_task *task, void *arg) {
    fx_crawler *s = (fx_crawler *)arg;
    fx_http *h = s->h;
    char why[200];
    ASYNC_BEGIN(task, s);
    for (;;) {
        ASYNC_QUEUE_GET(&h->queue, &s->page);
        if (ASYNC_STATUS() != ASYNC_OK) break; /* closed: the crawl is over */
        for (s->attempt = 0, s->outcome = FX_ERR; s->attempt < FX_ATTEMPTS && s->outcome == FX_ERR;
             s->attempt++) {
            s->got = 0;
            s->rc = async_tcp_socket(ASYNC_LOOP(), &s->io, AF_INET);
            if (s->rc) continue; /* no socket: try again */
            s->opened = 1;
            ASYNC_SOCK_CONNECT(&s->op, &s->io, (const struct sockaddr *)&h->addr, sizeof h->addr, 0);
            s->rc = ASYNC_RESULT(&s->op);
            if (!s->rc) {
                snprintf(s->req, sizeof s->req, "GET /page%d HTTP/1.0\r\n\r\n", s->page);
                ASYNC_SOCK_SENDALL(&s->op, &s->io, s->req, strlen(s->req));
                s->rc = ASYNC_RESULT(&s->op) < 0 ? ASYNC_RESULT(&s->op) : 0;
            }
            while (!s->rc && s->got < FX_RESP_MAX) { /* read to the end */
                ASYNC_SOCK_RECV(&s->op, &s->io, s->resp + s->got, FX_RESP_MAX - s->got);
                if (ASYNC_RESULT(&s->op) < 0) s->rc = ASYNC_RESULT(&s->op);
                if (ASYNC_RESULT(&s->op) <= 0) break;
                s->got += (size_t)ASYNC_RESULT(&s->op);
            }
            async_io_close(&s->io);
            s->opened = 0;
            why[0] = '\0';
            s->outcome = fx_check_fetch(h, s, why, sizeof why);
            if (s->outcome == FX_BAD && !(h->quiet & 2)) fprintf(stderr, "faults: http: %s\n", why);
        }
        h->pages[s->page].outcome = s->outcome; /* OK, BAD, or ERR after every attempt */
        if (--h->pending == 0) async_queue_close(&h->queue);
    }
    ASYNC_FINALLY;
    if (s->opened) async_io_close(&s->io);
    ASYNC_END;
}

static inline int fx_hconductor_fn(async_task *task, void *arg) {
    fx_hconductor *s = (fx_hconductor *)arg;
    fx_http *h = s->h;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < FX_CRAWLERS; s->i++) ASYNC_AWAIT_TASK(&h->ctasks[s->i]);
    async_cancel(&h->acc_task);
    ASYNC_AWAIT_TASK(&h->acc_task);
    for (s->i = 0; s->i < FX_SLOTS; s->i++)
        if (h->used[s->i]) ASYNC_AWAIT_TASK(&h->stasks[s->i]);
    async_cancel(&h->wd_task);
    ASYNC_END;
}

static inline void fx_http_cancel_all(void *ctx) {
    fx_http *h = (fx_http *)ctx;
    int i;
    fx_cancel(&h->cond_task, 1);
    fx_cancel(&h->acc_task, 1);
    for (i = 0; i < FX_CRAWLERS; i++) fx_cancel(&h->ctasks[i], 1);
    for (i = 0; i < FX_SLOTS; i++) fx_cancel(&h->stasks[i], h->used[i]);
}

static inline void fx_http_run(uint64_t seed, const fx_opts *o, fx_result *r) {
    fx_http *h = (fx_http *)calloc(1, sizeof *h);
    int i, rc, zero = 0;
    char why[200];
    if (!h) {
        fx_fail(r, "out of memory");
        return;
    }
    fx_make_pages(h, seed);
    h->quiet = o->quiet;
    async_loop_init(&h->loop, 0);
    if (fx_listen(&h->loop, &h->listener, &h->addr, r) != ASYNC_OK) {
        async_loop_close(&h->loop);
        free(h);
        return;
    }
    async_queue_init(&h->queue, h->qbuf, FX_PAGES, sizeof h->qbuf[0]);
    h->pages[0].visited = 1;
    h->pending = 1;
    async_queue_try_put(&h->queue, &zero);
    h->acc.h = h;
    h->cond.h = h;
    h->wd.limit = o->hang_s;
    h->wd.quiet = o->quiet;
    h->wd.dump = o->dump;
    h->wd.scenario = "http";
    h->wd.seed = seed;
    h->wd.cancel_all = fx_http_cancel_all;
    h->wd.ctx = h;
    async_spawn_named(&h->loop, &h->wd_task, fx_watchdog_fn, &h->wd, "watchdog");
    async_spawn_named(&h->loop, &h->acc_task, fx_haccept_fn, &h->acc, "http accept");
    for (i = 0; i < FX_CRAWLERS; i++) {
        h->crawlers[i].h = h;
        async_spawn_named(&h->loop, &h->ctasks[i], fx_crawler_fn, &h->crawlers[i], "crawler");
    }
    async_spawn_named(&h->loop, &h->cond_task, fx_hconductor_fn, &h->cond, "conductor");
    rc = async_run(&h->loop);
    if (rc != ASYNC_OK) {
        snprintf(why, sizeof why, "async_run returned %s", async_strerror(rc));
        fx_fail(r, why);
    }
    if (h->wd.fired) {
        r->hangs++;
        fx_fail(r, "hung (watchdog)");
    }
    if (h->bad_requests) fx_fail(r, "the server received a garbled request");
    for (i = 0; i < h->npages; i++) {
        fx_page *p = &h->pages[i];
        int out = p->outcome;
        if (!p->visited) out = FX_ERR; /* only linked from pages that failed to come */
        if (out == FX_PENDING) out = FX_ERR; /* the hang cut it short */
        if (out == FX_OK) r->ok++;
        if (out == FX_ERR) r->errored++;
        if (out == FX_BAD) {
            r->bad++;
            snprintf(why, sizeof why, "http page %d: bad response (see above)", i);
            fx_fail(r, why);
        }
        r->digest = fx_hash(r->digest, &out, sizeof out);
        if (out == FX_OK) r->digest = fx_hash(r->digest, p->resp, p->resp_len);
    }
    for (i = 0; i < FX_CRAWLERS; i++)
        if (h->crawlers[i].io.open) fx_fail(r, "a crawler's handle was left open");
    for (i = 0; i < FX_SLOTS; i++)
        if (h->conns[i].io.open) fx_fail(r, "an http server connection was left open");
    if (h->listener.open) fx_fail(r, "the http listener was left open");
    async_queue_destroy(&h->queue);
    async_loop_close(&h->loop);
    free(h);
}

/* ==== pool ======================================================================== */

enum { FX_PTASKS = 4, FX_PJOBS = 16 };

struct fx_pool;

typedef struct fx_jobrec {
    async_call call;
    struct fx_pool *p;
    intptr_t expect;
    unsigned spin;     /* busy work on the worker... */
    long sleep_ns;     /* ...or a nap: the loop blocks waiting for it */
    int ran;      /* by the worker (atomic) */
    int called;   /* by the call it sent, on the loop's thread */
    int returned; /* to the task that awaited it */
} fx_jobrec;

typedef struct fx_ptask {
    async_frame frame;
    struct fx_pool *p;
    int id, i, bad;
    async_job job;
} fx_ptask;

typedef struct fx_pconductor {
    async_frame frame;
    struct fx_pool *p;
    int i;
} fx_pconductor;

typedef struct fx_pool {
    async_loop loop;
    async_pool pool;
    fx_jobrec recs[FX_PTASKS * FX_PJOBS];
    fx_ptask tasks[FX_PTASKS];
    async_task ttasks[FX_PTASKS];
    fx_pconductor cond;
    async_task cond_task;
    fx_watchdog wd;
    async_task wd_task;
} fx_pool;

static inline void fx_pool_called(async_loop *loop, void *arg) {
    fx_jobrec *j = (fx_jobrec *)arg;
    (void)loop;
    j->called++;
}

/* On a worker thread: note the run, work a little, call the loop back. */
static inline intptr_t fx_pool_job(void *arg) {
    fx_jobrec *j = (fx_jobrec *)arg;
    volatile unsigned x = 0;
    unsigned i;
    __atomic_add_fetch(&j->ran, 1, __ATOMIC_RELAXED);
    for (i = 0; i < j->spin; i++) x = x + i; /* volatile: the loop stays */
    if (j->sleep_ns) {
        struct timespec ts;
        ts.tv_sec = 0;
        ts.tv_nsec = j->sleep_ns;
        nanosleep(&ts, NULL); /* workers hold SIGALRM blocked: no EINTR */
    }
    async_call_soon_threadsafe(&j->p->loop, &j->call, fx_pool_called, j);
    return j->expect;
}

static inline int fx_ptask_fn(async_task *task, void *arg) {
    fx_ptask *s = (fx_ptask *)arg;
    fx_jobrec *j;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < FX_PJOBS; s->i++) {
        ASYNC_TO_THREAD(&s->p->pool, &s->job, fx_pool_job, &s->p->recs[s->id * FX_PJOBS + s->i]);
        j = &s->p->recs[s->id * FX_PJOBS + s->i];
        if (s->job.result != j->expect) s->bad++;
        j->returned++;
    }
    ASYNC_END;
}

static inline int fx_pconductor_fn(async_task *task, void *arg) {
    fx_pconductor *s = (fx_pconductor *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < FX_PTASKS; s->i++) ASYNC_AWAIT_TASK(&s->p->ttasks[s->i]);
    async_cancel(&s->p->wd_task);
    ASYNC_END;
}

static inline void fx_pool_cancel_all(void *ctx) {
    fx_pool *p = (fx_pool *)ctx;
    int i;
    fx_cancel(&p->cond_task, 1);
    for (i = 0; i < FX_PTASKS; i++) fx_cancel(&p->ttasks[i], 1);
}

static inline void fx_pool_run(uint64_t seed, const fx_opts *o, fx_result *r) {
    fx_pool *p = (fx_pool *)calloc(1, sizeof *p);
    uint64_t rs = seed * 15485863u + 3u;
    int i, rc = -1, tries, nthreads;
    sigset_t alrm, old;
    char why[200];
    if (!p) {
        fx_fail(r, "out of memory");
        return;
    }
    async_loop_init(&p->loop, 0);
    for (tries = 0; tries < 100 && rc != ASYNC_OK; tries++) /* the wake-up fds */
        if ((rc = async_loop_prepare(&p->loop)) != ASYNC_OK) r->retries++;
    if (rc != ASYNC_OK) {
        fx_fail(r, "async_loop_prepare failed 100 times");
        free(p);
        return;
    }
    nthreads = (int)fx_between(&rs, 1, 4);
    /* Workers inherit this mask: a SIGALRM storm must hit the loop's thread. */
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alrm, &old);
    for (tries = 0, rc = -1; tries < 100 && rc != ASYNC_OK; tries++)
        if ((rc = async_pool_start(&p->pool, nthreads)) != ASYNC_OK) r->retries++; /* reported */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != ASYNC_OK) { /* the error was reported every time: no job runs */
        r->errored += FX_PTASKS * FX_PJOBS;
        async_loop_close(&p->loop);
        free(p);
        return;
    }
    for (i = 0; i < FX_PTASKS * FX_PJOBS; i++) {
        p->recs[i].p = p;
        p->recs[i].expect = (intptr_t)(fx_rand(&rs) & 0x7fffffff);
        p->recs[i].spin = fx_between(&rs, 0, 1) ? fx_between(&rs, 0, 20000) : 0;
        p->recs[i].sleep_ns = fx_between(&rs, 0, 3) ? 0 : (long)fx_between(&rs, 20000, 300000);
    }
    p->cond.p = p;
    p->wd.limit = o->hang_s;
    p->wd.quiet = o->quiet;
    p->wd.dump = o->dump;
    p->wd.scenario = "pool";
    p->wd.seed = seed;
    p->wd.cancel_all = fx_pool_cancel_all;
    p->wd.ctx = p;
    async_spawn_named(&p->loop, &p->wd_task, fx_watchdog_fn, &p->wd, "watchdog");
    for (i = 0; i < FX_PTASKS; i++) {
        p->tasks[i].p = p;
        p->tasks[i].id = i;
        async_spawn_named(&p->loop, &p->ttasks[i], fx_ptask_fn, &p->tasks[i], "offloader");
    }
    async_spawn_named(&p->loop, &p->cond_task, fx_pconductor_fn, &p->cond, "conductor");
    rc = async_run(&p->loop);
    async_pool_stop(&p->pool);
    async_loop_close(&p->loop); /* runs any call still in flight */
    if (rc != ASYNC_OK) {
        snprintf(why, sizeof why, "async_run returned %s", async_strerror(rc));
        fx_fail(r, why);
    }
    if (p->wd.fired) {
        r->hangs++;
        fx_fail(r, "hung (watchdog)");
    }
    for (i = 0; i < FX_PTASKS * FX_PJOBS; i++) {
        fx_jobrec *j = &p->recs[i];
        int ran = __atomic_load_n(&j->ran, __ATOMIC_RELAXED);
        if (ran == 1 && j->called == 1 && j->returned == 1) {
            r->ok++;
        } else if (p->wd.fired && ran <= 1 && j->called <= 1 && j->returned <= 1) {
            r->errored++; /* not run: counted as the hang */
        } else {
            r->bad++;
            snprintf(why, sizeof why, "pool job %d: ran %d times, its call came %d times, returned %d times",
                     i, ran, j->called, j->returned);
            fx_fail(r, why);
        }
        r->digest = fx_hash(r->digest, &j->expect, sizeof j->expect);
    }
    for (i = 0; i < FX_PTASKS; i++)
        if (p->tasks[i].bad) {
            r->bad++;
            fx_fail(r, "pool: a job's result came back wrong");
        }
    free(p);
}

/* ==== driving ===================================================================== */

/* One scenario, one seed.  Returns 1 if the run failed (r->why says why). */
static inline int fx_run_seed(int scenario, uint64_t seed, const fx_opts *o, fx_result *r) {
    fault_config cfg;
    int fds0 = fx_count_fds(), fds1;
    char why[160];
    memset(&cfg, 0, sizeof cfg);
    cfg.seed = seed * FX_NSCEN + (uint64_t)scenario;
    cfg.one_in = o->one_in;
    cfg.max_run = 3;
    cfg.plant = o->plant;
    cfg.plant_one_in = 8;
    cfg.beyond = o->beyond;
    fault_reset(&cfg);
    fx_hard_arm(o->hang_s * 4 + 20, fx_scenario_names[scenario], seed);
    if (scenario == FX_ECHO) fx_echo_run(seed, o, r);
    if (scenario == FX_HTTP) fx_http_run(seed, o, r);
    if (scenario == FX_POOL) fx_pool_run(seed, o, r);
    fx_hard_arm(0, "", 0);
    fault_off();
    if (!o->one_in && !o->plant && r->errored) fx_fail(r, "an error was reported with no fault injected");
    fds1 = fx_count_fds();
    if (fds1 != fds0) {
        r->leaks++;
        snprintf(why, sizeof why, "%d fds open before the run, %d after async_loop_close", fds0, fds1);
        fx_fail(r, why);
    }
    return r->why[0] != '\0';
}

/* Seeds [first, first + n) of one scenario, added to *total; stops after
 * max_fail failed seeds or once `seconds` have passed (0: no limit).
 * Each failure is printed with its seed.  Returns the failed seeds. */
static inline long fx_run_seeds(int scenario, uint64_t first, long n, const fx_opts *o,
                                fx_result *total, long max_fail, double seconds) {
    long i, failed = 0;
    double t0 = fx_now();
    for (i = 0; i < n; i++) {
        fx_result r;
        fx_result_init(&r);
        if (fx_run_seed(scenario, first + (uint64_t)i, o, &r)) {
            failed++;
            if (!(o->quiet & 2))
                fprintf(stderr, "faults: %s seed %llu FAILED: %s\n", fx_scenario_names[scenario],
                    (unsigned long long)(first + (uint64_t)i), r.why);
            if (total->first_failed < 0) {
                total->first_failed = (long)(first + (uint64_t)i);
                snprintf(total->why, sizeof total->why, "%s", r.why);
            }
        }
        total->seeds++;
        total->failed += r.why[0] != '\0';
        total->ok += r.ok;
        total->errored += r.errored;
        total->bad += r.bad;
        total->hangs += r.hangs;
        total->leaks += r.leaks;
        total->retries += r.retries;
        if (max_fail && failed >= max_fail) break;
        if (seconds > 0 && fx_now() - t0 > seconds) break;
    }
    return failed;
}

/* Seeds [first, first + n) run twice with no fault injected: plainly, then
 * under a 1 kHz SIGALRM storm.  Every run must pass, and the storm must
 * change nothing: the same outcomes, the same bytes received (digest).
 * The storm runs' totals go to *total.  Returns the seeds that differed or
 * failed (each printed). */
static inline long fx_storm_compare(int scenario, uint64_t first, long n, const fx_opts *opts,
                                    fx_result *total) {
    fx_opts o = *opts;
    fx_result *plain = (fx_result *)calloc((size_t)(n > 0 ? n : 1), sizeof *plain);
    long i, bad = 0;
    o.one_in = 0;
    o.plant = FAULT_PLANT_NONE;
    if (!plain) return n;
    for (i = 0; i < n; i++) {
        fx_result_init(&plain[i]);
        fx_run_seed(scenario, first + (uint64_t)i, &o, &plain[i]);
    }
    fx_storm_start();
    for (i = 0; i < n; i++) {
        fx_result r;
        fx_result_init(&r);
        fx_run_seed(scenario, first + (uint64_t)i, &o, &r);
        if (r.why[0] || plain[i].why[0] || r.ok != plain[i].ok || r.errored != plain[i].errored ||
            r.bad != plain[i].bad || r.digest != plain[i].digest) {
            bad++;
            fprintf(stderr, "faults: %s seed %llu: under the SIGALRM storm %ld ok %ld errored %ld bad%s%s; "
                    "without it %ld ok %ld errored %ld bad%s%s%s\n",
                    fx_scenario_names[scenario], (unsigned long long)(first + (uint64_t)i), r.ok,
                    r.errored, r.bad, r.why[0] ? ": " : "", r.why, plain[i].ok, plain[i].errored,
                    plain[i].bad, plain[i].why[0] ? ": " : "", plain[i].why,
                    r.digest != plain[i].digest ? "; different bytes received" : "");
            if (total->first_failed < 0) {
                total->first_failed = (long)(first + (uint64_t)i);
                snprintf(total->why, sizeof total->why, "the storm changed the result%s%.200s",
                         r.why[0] ? ": " : "", r.why);
            }
        }
        total->seeds++;
        total->failed += r.why[0] || plain[i].why[0] || r.digest != plain[i].digest;
        total->ok += r.ok;
        total->errored += r.errored;
        total->bad += r.bad;
        total->hangs += r.hangs;
        total->leaks += r.leaks;
    }
    fx_storm_stop();
    free(plain);
    return bad;
}

#endif /* FAULT_SCENARIOS_H */
