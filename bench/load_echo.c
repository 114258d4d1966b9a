/* load_echo.c - load test (issue 17, item 4): N concurrent echo connections.
 *
 *   build/load_echo [-n CONNECTIONS] [-d SECONDS] [-s SLOW_MIB]
 *                   (defaults: 10000 connections, 3 s, 64 MiB; -s 0: no slow reader)
 *
 * Two processes, both written with async.h.  The program forks an echo
 * server (one task per connection, connection slots on the heap) and then,
 * in the parent, drives it: N connections to 127.0.0.1, all open at once,
 * each doing 64-byte round trips for SECONDS (every byte of every echo is
 * checked against a pattern made of the connection's id and its round-trip
 * counter), the latency of each round trip taken with the loop's clock.
 *
 * One extra connection, the slow reader, writes up to SLOW_MIB MiB as fast as
 * the socket takes it but reads the echo back one byte per second.  The
 * server echoes what it read before it reads more, so once that client's
 * receive buffer and the server's send buffer are full, the server stops
 * reading from it and TCP flow control stops the writer: the server's memory
 * must not grow (checked: less than 4 MiB over the idle figure) and the other
 * connections must keep going (checked: none may go more than 1 s without
 * completing a round trip).
 *
 * The two processes talk over a pair of pipes: the driver tells the server
 * when every connection is open and when the load is over, and the server
 * answers with its own figures (VmRSS and VmHWM from /proc/self/status, CPU
 * from getrusage).  Each process needs a file descriptor per connection, so
 * each raises RLIMIT_NOFILE for itself.
 *
 * Any error (a connect, send or receive that fails, an echo that is short or
 * differs in one byte, a stalled connection, the memory bound, an error the
 * server saw) makes the exit status 1.  The last line of output is
 * "RESULT key=value ...", for bench/load_run.py. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "async.h"

enum {
    MSG = 64,             /* bytes per round trip */
    CONN_BUF = 4096,      /* the server's read buffer per connection */
    SPARE_FDS = 32,       /* beyond one per connection: stdio, pipes, the loop's own */
    SPARE_SLOTS = 16,     /* server slots beyond the connections expected */
    CONNECT_WINDOW = 256, /* connects in flight at once (see client()) */
    MAX_REPORTED = 10     /* error messages printed; the rest are only counted */
};
#define STALL_NS 1000000000ull          /* a connection idle this long fails the run */
#define GROWTH_LIMIT_KB 4096L           /* server RSS growth allowed during the load */
#define PATTERN_PERIOD 251u             /* slow reader: byte k of its stream is k % 251 */
#define SLOW_CHUNK 65536u

/* Planted faults, to check that each check fails when it should (off by
 * default): build with -DLOAD_PLANT=N and the server, at its 20,000th echo,
 * 1 flips a byte, 2 sends half the message and hangs up, 3 holds that echo
 * for 1.5 s, 4 allocates and touches 8 MiB, as a server that buffered
 * without bound would.  Each run must then fail. */
#ifndef LOAD_PLANT
#define LOAD_PLANT 0
#endif
#define PLANT_AT 20000

/* ==========================================================================
 * Measuring a process from inside
 * ========================================================================== */

/* The value of a "Key:   123 kB" line of /proc/self/status, in KiB, or -1.
 * Read with open/read into a buffer on the stack: stdio would allocate a
 * buffer and so disturb the very figure it reads. */
static long status_kb(const char *key) {
    char buf[8192], *p;
    size_t klen = strlen(key), got = 0;
    ssize_t n;
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0) return -1;
    while (got < sizeof buf - 1 && (n = read(fd, buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') return strtol(p + klen + 1, NULL, 10);
    return -1;
}

/* Reset VmHWM (the peak RSS) to the current RSS, so that a later VmHWM is
 * the peak since now, including any spike between two samples.  Linux 4.0
 * and later; returns 0 where that is not possible (then sampling alone). */
static int reset_peak_rss(void) {
    int fd = open("/proc/self/clear_refs", O_WRONLY), ok;
    if (fd < 0) return 0;
    ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok;
}

/* CPU time of this process so far (user + system), microseconds; and the
 * user part alone (the rest is the kernel's: here, mostly TCP). */
static long long cpu_us(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return ((long long)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
           ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}
static long long user_us(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
}

/* Raise RLIMIT_NOFILE so that `need` descriptors fit: the soft limit up to
 * the hard one, and the hard one too when it is lower than `need` and we are
 * root.  0, or -1 after saying why not. */
static int raise_nofile(rlim_t need, const char *who) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        fprintf(stderr, "%s: getrlimit(RLIMIT_NOFILE): %s\n", who, strerror(errno));
        return -1;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
            struct rlimit up;
            up.rlim_cur = up.rlim_max = need;
            if (geteuid() != 0) {
                fprintf(stderr, "%s: needs %lu file descriptors but the hard RLIMIT_NOFILE is %lu "
                        "(not root, so it cannot be raised): run 'ulimit -Hn %lu' as root, or use "
                        "fewer connections\n", who, (unsigned long)need, (unsigned long)rl.rlim_max,
                        (unsigned long)need);
                return -1;
            }
            if (setrlimit(RLIMIT_NOFILE, &up) != 0) {
                fprintf(stderr, "%s: needs %lu file descriptors; the hard RLIMIT_NOFILE is %lu and "
                        "raising it failed: %s (%s)\n", who, (unsigned long)need,
                        (unsigned long)rl.rlim_max, strerror(errno),
                        errno == EPERM ? "root, but without CAP_SYS_RESOURCE" : "fs.nr_open is the ceiling");
                return -1;
            }
            return 0;
        }
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            fprintf(stderr, "%s: setrlimit(RLIMIT_NOFILE, %lu): %s\n", who,
                    (unsigned long)rl.rlim_cur, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* ==========================================================================
 * The control channel between the driver and the server (two pipes)
 * ========================================================================== */

/* Commands, one byte each plus an argument: both ends are this program, so
 * the structs travel as they are (well under PIPE_BUF: written whole). */
enum { CMD_IDLE = 'I', CMD_END = 'E', CMD_QUIT = 'Q', REP_PORT = 'P' };
struct command {
    int tag;
    long expected;      /* CMD_IDLE: connections the server should see open */
};
struct report {
    int tag, port, peak_from_hwm;
    long open, accepted;
    long rss_kb, peak_kb;
    long errors, resets;    /* connections that ended with an error / a reset */
    long long cpu_us, user_us;
};

/* ==========================================================================
 * The server
 * ========================================================================== */

struct server;

/* One connection: the task, its coroutine state and the buffer in one slot. */
struct conn {
    async_frame frame;
    async_io io;
    async_sock_op op;
    intptr_t n;
    struct server *srv;
    struct conn *next_free;
    int spawned;
    async_task task;
    unsigned char buf[CONN_BUF];
};

struct server {
    async_frame frame;          /* the accept loop's */
    async_io listener;
    async_sock_op op;
    async_semaphore free_slots; /* slots not holding a connection */
    struct conn *slots, *free_list, *cur;
    long nslots, fresh;         /* slots[fresh..] have never been used */
    long open, accepted, errors, resets;
    int quit;
#if LOAD_PLANT
    long echoes;
    char *hoard;
#endif
};

static int serve(async_task *task, void *arg) {
    struct conn *c = (struct conn *)arg;
    struct server *s = c->srv;
    ASYNC_BEGIN(task, c);
    for (;;) {
        ASYNC_SOCK_RECV(&c->op, &c->io, c->buf, sizeof c->buf);
        c->n = ASYNC_RESULT(&c->op);
        if (c->n <= 0) break; /* 0: the client hung up */
#if LOAD_PLANT
        if (++s->echoes == PLANT_AT) {
            if (LOAD_PLANT == 1) c->buf[c->n - 1] ^= 0x20;
            if (LOAD_PLANT == 2) {
                c->n /= 2;
                ASYNC_SOCK_SENDALL(&c->op, &c->io, c->buf, (size_t)c->n);
                break;
            }
            if (LOAD_PLANT == 3) ASYNC_SLEEP(1.5);
            if (LOAD_PLANT == 4 && (s->hoard = (char *)malloc(8u << 20)) != NULL) memset(s->hoard, 1, 8u << 20);
        }
#endif
        /* Echo all of it before reading more.  A client that does not read
         * stalls this task here, so the connection never holds more than
         * this one buffer: the kernel's socket buffers fill and TCP flow
         * control stops the sender, with no queue of ours to grow. */
        ASYNC_SOCK_SENDALL(&c->op, &c->io, c->buf, (size_t)c->n);
        if (ASYNC_RESULT(&c->op) < 0) {
            c->n = ASYNC_RESULT(&c->op);
            break;
        }
    }
    if (c->n == -ECONNRESET || c->n == -EPIPE)
        s->resets++; /* the slow reader closes with unread data: a reset */
    else if (c->n < 0)
        s->errors++;
    ASYNC_FINALLY;
    async_io_close(&c->io);
    s->open--;
    /* The slot goes back on the free list now; the accept loop takes it
     * only after this task is done (it runs at a later turn) and checks. */
    c->next_free = s->free_list;
    s->free_list = c;
    async_semaphore_release(&s->free_slots);
    ASYNC_END;
}

static int accept_loop(async_task *task, void *arg) {
    struct server *s = (struct server *)arg;
    struct conn *c;
    int one = 1;
    ASYNC_BEGIN(task, s);
    for (;;) {
        /* Take a slot before accepting: when all are busy the connection
         * waits in the listen backlog instead of being accepted and dropped. */
        ASYNC_SEM_ACQUIRE(&s->free_slots);
        if (s->free_list) {
            c = s->free_list;
            s->free_list = c->next_free;
            if (c->spawned && !async_task_done(&c->task)) {
                fprintf(stderr, "load_echo server: a slot was freed before its task ended\n");
                s->errors++;
                ASYNC_RETURN(-1);
            }
        } else {
            c = &s->slots[s->fresh++];
        }
        /* Zero it (the task storage must be) and so touch all of it now:
         * the memory per connection then counts the whole slot a connection
         * holds, and the load phase adds nothing. */
        memset(c, 0, sizeof *c);
        c->srv = s;
        s->cur = c;
        ASYNC_SOCK_ACCEPT(&s->op, &s->listener, &s->cur->io);
        if (ASYNC_RESULT(&s->op) < 0) {
            fprintf(stderr, "load_echo server: accept: %s\n", async_strerror((int)ASYNC_RESULT(&s->op)));
            s->errors++;
            break; /* the slot and permit go back in the cleanup below */
        }
        c = s->cur;
        s->cur = NULL;
        /* 64-byte messages, one at a time each way: no reason to wait for
         * more to coalesce (a split read would otherwise meet Nagle). */
        setsockopt(c->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        s->open++;
        s->accepted++;
        c->spawned = 1;
        async_spawn(ASYNC_LOOP(), &c->task, serve, c);
    }
    ASYNC_FINALLY;
    if (s->cur) { /* cancelled (shutdown) or failed while waiting to accept */
        s->cur->next_free = s->free_list;
        s->free_list = s->cur;
        s->cur = NULL;
        async_semaphore_release(&s->free_slots);
    }
    ASYNC_END;
}

/* Samples VmRSS every 10 ms while the load runs, keeping the peak. */
struct sampler {
    async_frame frame;
    struct server *srv;
    int tracking;
    long peak_kb;
};

static int sampler(async_task *task, void *arg) {
    struct sampler *s = (struct sampler *)arg;
    long kb;
    ASYNC_BEGIN(task, s);
    while (!s->srv->quit) {
        ASYNC_SLEEP_MS(10);
        if (s->tracking && (kb = status_kb("VmRSS")) > s->peak_kb) s->peak_kb = kb;
    }
    ASYNC_END;
}

/* Answers the driver's commands (see struct command). */
struct control {
    async_frame frame;
    struct server *srv;
    struct sampler *smp;
    async_task *accept_task;
    async_io in, out;
    async_sock_op op;
    struct command cmd;
    struct report rep;
    uint64_t deadline;
    int hwm_reset;
};

static void fill_report(struct control *c, int tag) {
    memset(&c->rep, 0, sizeof c->rep);
    c->rep.tag = tag;
    c->rep.open = c->srv->open;
    c->rep.accepted = c->srv->accepted;
    c->rep.rss_kb = status_kb("VmRSS");
    c->rep.peak_kb = c->smp->peak_kb;
    c->rep.errors = c->srv->errors;
    c->rep.resets = c->srv->resets;
    c->rep.cpu_us = cpu_us();
    c->rep.user_us = user_us();
}

static int control(async_task *task, void *arg) {
    struct control *c = (struct control *)arg;
    long hwm, i;
    ASYNC_BEGIN(task, c);
    for (;;) {
        ASYNC_SOCK_RECV_EXACTLY(&c->op, &c->in, &c->cmd, sizeof c->cmd);
        if (ASYNC_RESULT(&c->op) != (intptr_t)sizeof c->cmd) break; /* the driver is gone */
        if (c->cmd.tag == CMD_IDLE) {
            /* The driver has all its connections; wait until they are all
             * accepted here too, then take the idle figures. */
            c->deadline = ASYNC_NOW() + 30000000000ull;
            while (c->srv->open < c->cmd.expected && ASYNC_NOW() < c->deadline) ASYNC_SLEEP_MS(1);
            c->hwm_reset = reset_peak_rss();
            c->smp->peak_kb = status_kb("VmRSS");
            c->smp->tracking = 1;
            fill_report(c, CMD_IDLE);
        } else if (c->cmd.tag == CMD_END) {
            c->smp->tracking = 0;
            fill_report(c, CMD_END);
            if (c->hwm_reset && (hwm = status_kb("VmHWM")) > c->rep.peak_kb) c->rep.peak_kb = hwm;
            c->rep.peak_from_hwm = c->hwm_reset;
        } else if (c->cmd.tag == CMD_QUIT) {
            /* The driver has closed its side: wait for every connection to
             * see the end of its stream, then stop accepting. */
            c->deadline = ASYNC_NOW() + 10000000000ull;
            while (c->srv->open > 0 && ASYNC_NOW() < c->deadline) ASYNC_SLEEP_MS(1);
            if (c->srv->open > 0) { /* their clients are gone but they never saw it */
                c->srv->errors += c->srv->open;
                for (i = 0; i < c->srv->fresh; i++)
                    if (c->srv->slots[i].spawned && !async_task_done(&c->srv->slots[i].task))
                        async_cancel(&c->srv->slots[i].task);
            }
            async_cancel(c->accept_task);
            ASYNC_AWAIT_TASK(c->accept_task);
            fill_report(c, CMD_QUIT);
        } else {
            fprintf(stderr, "load_echo server: unknown command %d\n", c->cmd.tag);
            c->srv->errors++;
            break;
        }
        ASYNC_SOCK_SENDALL(&c->op, &c->out, &c->rep, sizeof c->rep);
        if (ASYNC_RESULT(&c->op) != (intptr_t)sizeof c->rep || c->cmd.tag == CMD_QUIT) break;
    }
    c->srv->quit = 1;
    if (!async_task_done(c->accept_task)) async_cancel(c->accept_task);
    ASYNC_END;
}

/* The server process: returns its exit status. */
static int server_main(int cmd_fd, int rep_fd, long n) {
    static async_loop loop;
    static async_task accept_task, control_task, sampler_task;
    static struct server s;
    static struct sampler smp;
    static struct control ctl;
    struct sockaddr_in addr;
    socklen_t alen = sizeof addr;
    struct report hello;
    int rc;
    if (raise_nofile((rlim_t)(n + 1 + SPARE_FDS), "load_echo server") != 0) return 1;
    s.nslots = n + 1 + SPARE_SLOTS;
    /* calloc of this size is fresh pages from mmap: not resident until a
     * connection uses its slot, so the baseline below holds none of them. */
    s.slots = (struct conn *)calloc((size_t)s.nslots, sizeof *s.slots);
    if (!s.slots) {
        fprintf(stderr, "load_echo server: out of memory for %ld slots\n", s.nslots);
        return 1;
    }
    async_loop_init(&loop, 0);
    async_semaphore_init(&s.free_slots, s.nslots);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0; /* any free port: runs do not collide with each other */
    rc = async_tcp_listen(&loop, &s.listener, (struct sockaddr *)&addr, sizeof addr, 4096);
    if (rc != ASYNC_OK || getsockname(s.listener.fd, (struct sockaddr *)&addr, &alen) != 0) {
        fprintf(stderr, "load_echo server: listen: %s\n", async_strerror(rc ? rc : -errno));
        return 1;
    }
    memset(&hello, 0, sizeof hello);
    hello.tag = REP_PORT;
    hello.port = ntohs(addr.sin_port);
    hello.rss_kb = status_kb("VmRSS"); /* before any connection */
    hello.cpu_us = cpu_us();
    if (write(rep_fd, &hello, sizeof hello) != (ssize_t)sizeof hello) return 1;
    ctl.srv = &s;
    ctl.smp = &smp;
    ctl.accept_task = &accept_task;
    smp.srv = &s;
    if (async_io_open(&loop, &ctl.in, cmd_fd) != ASYNC_OK || async_io_open(&loop, &ctl.out, rep_fd) != ASYNC_OK)
        return 1;
    async_spawn_named(&loop, &accept_task, accept_loop, &s, "accept");
    async_spawn_named(&loop, &control_task, control, &ctl, "control");
    async_spawn_named(&loop, &sampler_task, sampler, &smp, "sampler");
    /* Until the driver says quit or goes away; every connection has ended
     * by then (each task closes its own). */
    rc = async_run(&loop);
    async_io_close(&s.listener);
    async_io_close(&ctl.in);
    async_io_close(&ctl.out);
    async_loop_close(&loop);
    free(s.slots);
#if LOAD_PLANT
    free(s.hoard);
#endif
    return rc == ASYNC_OK && s.errors == 0 ? 0 : 1;
}

/* ==========================================================================
 * The driver (the clients)
 * ========================================================================== */

struct driver {
    const struct sockaddr_in *addr;
    struct client *clients;
    long n;                       /* ordinary connections */
    long expected;                /* ... plus the slow reader */
    async_semaphore connect_window;
    async_event all_connected, go;
    long connected, failed, finished;
    int stop;
    uint64_t t_begin, t_connected, start_ns, stop_ns, end_ns;
    uint32_t *lat;                /* round-trip latencies, ns (saturated) */
    size_t nlat, cap;
    uint64_t max_gap;             /* longest wait between two round trips of one connection */
    long max_gap_conn;
    uint64_t max_gap_count;       /* ... and the round trip that ended it (0: the first) */
    long errors;
};

static void fail(struct driver *d, const char *fmt, ...) {
    va_list ap;
    if (d->errors++ >= MAX_REPORTED) return;
    va_start(ap, fmt);
    fputs("load_echo: ERROR: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* One more connection has either opened or failed. */
static void arrived(struct driver *d, int ok) {
    if (ok)
        d->connected++;
    else
        d->failed++;
    if (d->connected + d->failed == d->expected) async_event_set(&d->all_connected);
}

static int record(struct driver *d, uint64_t ns) {
    if (d->nlat == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1u << 20;
        uint32_t *p = (uint32_t *)realloc(d->lat, cap * sizeof *p);
        if (!p) return -1;
        d->lat = p;
        d->cap = cap;
    }
    d->lat[d->nlat++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
    return 0;
}

/* The 64 bytes of round trip `count` of connection `id`: the id and the
 * counter in clear (so that a wrong echo says whose it is), then bytes that
 * depend on both, so no two messages in flight are alike. */
static void fill_pattern(unsigned char *p, uint32_t id, uint64_t count) {
    uint64_t x = ((uint64_t)id << 32 | (count & 0xffffffffu)) ^ 0x9e3779b97f4a7c15ull;
    int i;
    for (i = 0; i < 4; i++) p[i] = (unsigned char)(id >> (8 * i));
    for (i = 0; i < 8; i++) p[4 + i] = (unsigned char)(count >> (8 * i));
    for (i = 12; i < MSG; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)(x >> 56);
    }
}

struct client {
    async_frame frame;
    struct driver *d;
    async_io io;
    async_sock_op op;
    uint32_t id;
    int holds_window, running;
    uint64_t count, t0, last, flagged;
    unsigned char out[MSG], in[MSG];
};

static int client(async_task *task, void *arg) {
    struct client *c = (struct client *)arg;
    struct driver *d = c->d;
    uint64_t t1;
    intptr_t r;
    int i, one = 1;
    ASYNC_BEGIN(task, c);
    /* At most CONNECT_WINDOW connects in flight: 10,000 SYNs at once could
     * overflow the listen queues (tcp_max_syn_backlog, somaxconn), and a
     * dropped SYN is sent again only 1 s later. */
    ASYNC_SEM_ACQUIRE(&d->connect_window);
    c->holds_window = 1;
    r = async_tcp_socket(ASYNC_LOOP(), &c->io, AF_INET);
    if (r != ASYNC_OK) {
        fail(d, "connection %u: socket: %s", c->id, async_strerror((int)r));
        arrived(d, 0);
        ASYNC_RETURN(-1);
    }
    ASYNC_SOCK_CONNECT(&c->op, &c->io, (const struct sockaddr *)d->addr, sizeof *d->addr, 30.0);
    c->holds_window = 0;
    async_semaphore_release(&d->connect_window);
    if (ASYNC_RESULT(&c->op) != 0) {
        fail(d, "connection %u: connect: %s", c->id, async_strerror((int)ASYNC_RESULT(&c->op)));
        arrived(d, 0);
        ASYNC_RETURN(-1);
    }
    setsockopt(c->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    arrived(d, 1);
    ASYNC_EVENT_WAIT(&d->go);
    c->last = d->start_ns;
    c->running = 1;
    while (!d->stop) {
        fill_pattern(c->out, c->id, c->count);
        c->t0 = ASYNC_NOW();
        ASYNC_SOCK_SENDALL(&c->op, &c->io, c->out, MSG);
        if (ASYNC_RESULT(&c->op) != MSG) {
            fail(d, "connection %u, round trip %llu: send: %s", c->id, (unsigned long long)c->count,
                 async_strerror((int)ASYNC_RESULT(&c->op)));
            ASYNC_RETURN(-1);
        }
        ASYNC_SOCK_RECV_EXACTLY(&c->op, &c->io, c->in, MSG);
        r = ASYNC_RESULT(&c->op);
        if (r != MSG) {
            if (r < 0)
                fail(d, "connection %u, round trip %llu: receive: %s", c->id,
                     (unsigned long long)c->count, async_strerror((int)r));
            else
                fail(d, "connection %u, round trip %llu: short echo, %ld of %d bytes, then the "
                     "server closed", c->id, (unsigned long long)c->count, (long)r, MSG);
            ASYNC_RETURN(-1);
        }
        t1 = ASYNC_NOW();
        for (i = 0; i < MSG; i++)
            if (c->in[i] != c->out[i]) {
                fail(d, "connection %u, round trip %llu: byte %d of the echo is 0x%02x, expected 0x%02x",
                     c->id, (unsigned long long)c->count, i, c->in[i], c->out[i]);
                ASYNC_RETURN(-1);
            }
        if (record(d, t1 - c->t0) != 0) {
            fail(d, "out of memory for latency samples");
            ASYNC_RETURN(-1);
        }
        if (t1 - c->last > d->max_gap) {
            d->max_gap = t1 - c->last;
            d->max_gap_conn = (long)c->id;
            d->max_gap_count = c->count;
        }
        c->last = t1;
        c->count++;
    }
    ASYNC_FINALLY;
    if (c->holds_window) async_semaphore_release(&d->connect_window);
    c->running = 0;
    async_io_close(&c->io); /* harmless if it never opened */
    d->finished++;
    d->end_ns = ASYNC_NOW();
    ASYNC_END;
}

/* Watches for a connection that makes no progress for STALL_NS while the
 * load runs (the per-round-trip gaps catch the ones that complete late;
 * this catches one that never completes again). */
struct watchdog {
    async_frame frame;
    struct driver *d;
};

static int watchdog(async_task *task, void *arg) {
    struct watchdog *w = (struct watchdog *)arg;
    struct driver *d = w->d;
    struct client *c;
    uint64_t now;
    long i;
    ASYNC_BEGIN(task, w);
    ASYNC_EVENT_WAIT(&d->go);
    while (!d->stop) {
        ASYNC_SLEEP_MS(100);
        now = ASYNC_NOW();
        for (i = 0; i < d->n; i++) {
            c = &d->clients[i];
            if (c->running && now - c->last > STALL_NS && now - c->flagged > STALL_NS) {
                fail(d, "connection %ld made no progress for %.2f s", i, (double)(now - c->last) / 1e9);
                c->flagged = now; /* say it again only after another second */
            }
        }
    }
    ASYNC_END;
}

/* The slow reader: writes up to `attempt` bytes as fast as the socket takes
 * them (one task), reads the echo back one byte a second (another). */
struct slow;
struct slow_writer {
    async_frame frame;
    struct slow *s;
};
struct slow {
    async_frame frame;            /* the connecting and reading task's */
    struct driver *d;
    async_io io;
    async_sock_op op;
    int open;
    uint64_t attempt, pushed, read;
    unsigned char *pattern;       /* byte i is i % PATTERN_PERIOD */
    unsigned char got;
    int writer_spawned;
    struct slow_writer w;
    async_task writer;
};

static int slow_writer(async_task *task, void *arg) {
    struct slow_writer *w = (struct slow_writer *)arg;
    struct slow *s = w->s;
    uint64_t left;
    intptr_t r;
    ASYNC_BEGIN(task, w);
    while (s->pushed < s->attempt) {
        left = s->attempt - s->pushed;
        r = async_io_write(&s->io, s->pattern + s->pushed % PATTERN_PERIOD,
                           left < SLOW_CHUNK ? (size_t)left : SLOW_CHUNK);
        if (r > 0) {
            s->pushed += (uint64_t)r;
            ASYNC_YIELD(); /* a turn for the others between two chunks */
        } else if (r == -EAGAIN) {
            ASYNC_IO_WAIT(&s->io, ASYNC_WRITE); /* until the server reads more */
        } else {
            fail(s->d, "slow reader: send: %s", async_strerror((int)r));
            ASYNC_RETURN(-1);
        }
    }
    ASYNC_END;
}

static int slow_reader(async_task *task, void *arg) {
    struct slow *s = (struct slow *)arg;
    struct driver *d = s->d;
    intptr_t r;
    ASYNC_BEGIN(task, s);
    r = async_tcp_socket(ASYNC_LOOP(), &s->io, AF_INET);
    if (r != ASYNC_OK) {
        fail(d, "slow reader: socket: %s", async_strerror((int)r));
        arrived(d, 0);
        ASYNC_RETURN(-1);
    }
    s->open = 1;
    ASYNC_SOCK_CONNECT(&s->op, &s->io, (const struct sockaddr *)d->addr, sizeof *d->addr, 30.0);
    if (ASYNC_RESULT(&s->op) != 0) {
        fail(d, "slow reader: connect: %s", async_strerror((int)ASYNC_RESULT(&s->op)));
        arrived(d, 0);
        ASYNC_RETURN(-1);
    }
    arrived(d, 1);
    ASYNC_EVENT_WAIT(&d->go);
    s->w.s = s;
    async_spawn_named(ASYNC_LOOP(), &s->writer, slow_writer, &s->w, "slow writer");
    s->writer_spawned = 1;
    /* One byte now, then one a second, until the driver cancels it at the
     * end of the load (reading at once checks a byte even in a 1 s run). */
    for (;;) {
        ASYNC_SOCK_RECV_EXACTLY(&s->op, &s->io, &s->got, 1);
        if (ASYNC_RESULT(&s->op) != 1) {
            fail(d, "slow reader: receive: %s", ASYNC_RESULT(&s->op) < 0
                 ? async_strerror((int)ASYNC_RESULT(&s->op)) : "the server closed");
            ASYNC_RETURN(-1);
        }
        if (s->got != (unsigned char)(s->read % PATTERN_PERIOD)) {
            fail(d, "slow reader: echo byte %llu is 0x%02x, expected 0x%02x",
                 (unsigned long long)s->read, s->got, (unsigned)(s->read % PATTERN_PERIOD));
            ASYNC_RETURN(-1);
        }
        s->read++;
        ASYNC_SLEEP(1.0);
    }
    ASYNC_END;
}

/* A request to the server and its answer (a child coroutine). */
struct ctl_call {
    async_frame frame;
    async_io in, out;
    async_sock_op op;
    struct command cmd;
    struct report rep;
};

static int ctl_call(async_task *task, void *arg) {
    struct ctl_call *c = (struct ctl_call *)arg;
    ASYNC_BEGIN(task, c);
    ASYNC_SOCK_SENDALL(&c->op, &c->out, &c->cmd, sizeof c->cmd);
    if (ASYNC_RESULT(&c->op) != (intptr_t)sizeof c->cmd) ASYNC_RETURN(-1);
    ASYNC_SOCK_RECV_EXACTLY(&c->op, &c->in, &c->rep, sizeof c->rep);
    if (ASYNC_RESULT(&c->op) != (intptr_t)sizeof c->rep || c->rep.tag != c->cmd.tag) ASYNC_RETURN(-1);
    ASYNC_RETURN(0);
    ASYNC_END;
}

/* What the run found, filled in by the coordinator. */
struct outcome {
    struct report hello, idle, end, quit;
    int have_idle, have_end, have_quit;
    long long client_cpu_start, client_cpu_stop, client_user_start, client_user_stop;
};

/* Runs the phases: connect, idle figures, load, end figures, close. */
struct coordinator {
    async_frame frame;
    struct driver *d;
    struct slow *slow;
    async_task *slow_task, *tasks;
    struct ctl_call ctl;
    struct outcome *out;
    async_timeout tmo;
    double seconds;
    uint64_t deadline;
    long i;
};

static int coordinator(async_task *task, void *arg) {
    struct coordinator *s = (struct coordinator *)arg;
    struct driver *d = s->d;
    ASYNC_BEGIN(task, s);
    ASYNC_TIMEOUT_ARM(&s->tmo, 120.0);
    ASYNC_EVENT_WAIT(&d->all_connected);
    ASYNC_TIMEOUT_DISARM(&s->tmo);
    d->t_connected = ASYNC_NOW();
    if (async_timeout_expired(&s->tmo))
        fail(d, "only %ld of %ld connections open after 120 s", d->connected, d->expected);
    if (d->errors == 0) {
        s->ctl.cmd.tag = CMD_IDLE;
        s->ctl.cmd.expected = d->expected;
        ASYNC_WAIT_FOR(&s->tmo, 60.0, ctl_call, &s->ctl);
        if (ASYNC_STATUS() != ASYNC_OK || ASYNC_RESULT(&s->ctl) != 0) {
            fail(d, "the server did not answer the idle request");
        } else {
            s->out->idle = s->ctl.rep;
            s->out->have_idle = 1;
            if (s->ctl.rep.open != d->expected)
                fail(d, "the server has %ld connections open, expected %ld", s->ctl.rep.open, d->expected);
        }
    }
    /* Go (if all is well so far; else every task sees stop and ends). */
    d->stop = d->errors != 0;
    d->start_ns = ASYNC_NOW();
    s->out->client_cpu_start = cpu_us();
    s->out->client_user_start = user_us();
    async_event_set(&d->go);
    if (!d->stop) {
        ASYNC_SLEEP_UNTIL(d->start_ns + (uint64_t)async_seconds_to_ns(s->seconds));
        d->stop = 1;
    }
    d->stop_ns = ASYNC_NOW();
    s->out->client_cpu_stop = cpu_us();
    s->out->client_user_stop = user_us();
    if (s->out->have_idle) {
        s->ctl.cmd.tag = CMD_END;
        ASYNC_WAIT_FOR(&s->tmo, 60.0, ctl_call, &s->ctl);
        if (ASYNC_STATUS() != ASYNC_OK || ASYNC_RESULT(&s->ctl) != 0) {
            fail(d, "the server did not answer the end request");
        } else {
            s->out->end = s->ctl.rep;
            s->out->have_end = 1;
        }
    }
    /* The slow reader has no round trip to finish: stop it. */
    if (s->slow_task) {
        async_cancel(s->slow_task);
        ASYNC_AWAIT_TASK(s->slow_task);
        if (s->slow->writer_spawned) {
            async_cancel(&s->slow->writer);
            ASYNC_AWAIT_TASK(&s->slow->writer);
        }
        if (s->slow->open) async_io_close(&s->slow->io);
    }
    /* The others finish the round trip in progress; 2 s is plenty. */
    s->deadline = ASYNC_NOW() + 2000000000ull;
    while (d->finished < d->n && ASYNC_NOW() < s->deadline) ASYNC_SLEEP_MS(2);
    if (d->finished < d->n) {
        fail(d, "%ld connections did not finish their last round trip within 2 s", d->n - d->finished);
        for (s->i = 0; s->i < d->n; s->i++) async_cancel(&s->tasks[s->i]);
        for (s->i = 0; s->i < d->n; s->i++) ASYNC_AWAIT_TASK(&s->tasks[s->i]);
    }
    s->ctl.cmd.tag = CMD_QUIT;
    ASYNC_WAIT_FOR(&s->tmo, 60.0, ctl_call, &s->ctl);
    if (ASYNC_STATUS() != ASYNC_OK || ASYNC_RESULT(&s->ctl) != 0) {
        fail(d, "the server did not answer the quit request");
    } else {
        s->out->quit = s->ctl.rep;
        s->out->have_quit = 1;
    }
    ASYNC_END;
}

/* ==========================================================================
 * Start-up and the report
 * ========================================================================== */

/* The number after `name` on the command line, or `fallback`. */
static double option(int argc, char **argv, const char *name, double fallback) {
    int i;
    for (i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return strtod(argv[i + 1], NULL);
    return fallback;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile (per mille) of sorted v[0..n), in microseconds. */
static double percentile_us(const uint32_t *v, size_t n, unsigned pm) {
    size_t k = (pm * n + 999) / 1000;
    return n ? v[k ? k - 1 : 0] / 1e3 : 0.0;
}

/* Reads a whole report from a blocking pipe: 0, or -1 at end of file. */
static int read_report(int fd, struct report *r) {
    size_t got = 0;
    ssize_t k;
    while (got < sizeof *r) {
        k = read(fd, (char *)r + got, sizeof *r - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        got += (size_t)k;
    }
    return 0;
}

int main(int argc, char **argv) {
    static async_loop loop;
    static struct driver d;
    static struct coordinator co;
    static struct watchdog wd;
    static struct outcome out;
    static async_task co_task, wd_task, slow_task;
    struct slow *slow = NULL;
    struct client *clients;
    async_task *tasks;
    struct sockaddr_in addr;
    long n = (long)option(argc, argv, "-n", 10000), i;
    double seconds = option(argc, argv, "-d", 3.0), slow_mib = option(argc, argv, "-s", 64.0);
    double elapsed, rate, per_conn = 0, client_cpu, server_cpu = 0, client_user, server_user = 0;
    long growth_kb = 0, problems;
    struct rlimit rl;
    int cmd[2], rep[2], status = 0, rc;
    pid_t pid;

    if (n < 1 || n > 1000000 || !(seconds > 0 && seconds <= 3600) || !(slow_mib >= 0 && slow_mib <= 4096)) {
        fprintf(stderr, "usage: %s [-n CONNECTIONS (1..1000000)] [-d SECONDS] [-s SLOW_MIB (0: none)]\n", argv[0]);
        return 2;
    }
    if (raise_nofile((rlim_t)(n + 1 + SPARE_FDS), "load_echo") != 0) return 1;
    if (pipe(cmd) != 0 || pipe(rep) != 0) {
        perror("load_echo: pipe");
        return 1;
    }
    fflush(stdout); /* the child must not print the parent's buffered output */
    pid = fork();
    if (pid < 0) {
        perror("load_echo: fork");
        return 1;
    }
    if (pid == 0) {
        close(cmd[1]);
        close(rep[0]);
        exit(server_main(cmd[0], rep[1], n));
    }
    close(cmd[0]);
    close(rep[1]);
    /* A safety net: whatever goes wrong, the run ends (the server follows:
     * its command pipe reaches end of file). */
    alarm((unsigned)seconds + 300);
    if (read_report(rep[0], &out.hello) != 0 || out.hello.tag != REP_PORT) {
        fprintf(stderr, "load_echo: the server did not start\n");
        close(cmd[1]);
        waitpid(pid, &status, 0);
        return 1;
    }

    clients = (struct client *)calloc((size_t)n, sizeof *clients);
    tasks = (async_task *)calloc((size_t)n, sizeof *tasks); /* zeroed, as tasks must be */
    if (slow_mib > 0) {
        slow = (struct slow *)calloc(1, sizeof *slow);
        if (slow) slow->pattern = (unsigned char *)malloc(SLOW_CHUNK + PATTERN_PERIOD);
    }
    if (!clients || !tasks || (slow_mib > 0 && (!slow || !slow->pattern))) {
        fprintf(stderr, "load_echo: out of memory\n");
        return 1;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((unsigned short)out.hello.port);

    async_loop_init(&loop, 0);
    d.addr = &addr;
    d.clients = clients;
    d.n = n;
    d.expected = n + (slow ? 1 : 0);
    async_semaphore_init(&d.connect_window, CONNECT_WINDOW);
    async_event_init(&d.all_connected);
    async_event_init(&d.go);
    if (async_io_open(&loop, &co.ctl.out, cmd[1]) != ASYNC_OK || async_io_open(&loop, &co.ctl.in, rep[0]) != ASYNC_OK) {
        fprintf(stderr, "load_echo: cannot watch the control pipes\n");
        return 1;
    }
    d.t_begin = async_now(&loop);
    for (i = 0; i < n; i++) {
        clients[i].d = &d;
        clients[i].id = (uint32_t)i;
        async_spawn(&loop, &tasks[i], client, &clients[i]);
    }
    if (slow) {
        for (i = 0; i < (long)(SLOW_CHUNK + PATTERN_PERIOD); i++) slow->pattern[i] = (unsigned char)(i % PATTERN_PERIOD);
        slow->d = &d;
        slow->attempt = (uint64_t)(slow_mib * 1048576.0);
        async_spawn_named(&loop, &slow_task, slow_reader, slow, "slow reader");
    }
    wd.d = &d;
    async_spawn_named(&loop, &wd_task, watchdog, &wd, "watchdog");
    co.d = &d;
    co.slow = slow;
    co.slow_task = slow ? &slow_task : NULL;
    co.tasks = tasks;
    co.out = &out;
    co.seconds = seconds;
    async_spawn_named(&loop, &co_task, coordinator, &co, "coordinator");
    rc = async_run(&loop);
    if (rc != ASYNC_OK) fail(&d, "the client loop ended with %s", async_strerror(rc));
    async_io_close(&co.ctl.out); /* end of file for the server, whatever happened */
    async_io_close(&co.ctl.in);
    async_loop_close(&loop);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail(&d, "the server process ended badly (wait status 0x%x)", (unsigned)status);

    /* ---- figures ---- */
    qsort(d.lat, d.nlat, sizeof *d.lat, cmp_u32);
    elapsed = (double)((d.end_ns > d.start_ns ? d.end_ns : d.stop_ns) - d.start_ns) / 1e9;
    rate = elapsed > 0 ? (double)d.nlat / elapsed : 0;
    client_cpu = (double)(out.client_cpu_stop - out.client_cpu_start) / 1e6;
    client_user = (double)(out.client_user_stop - out.client_user_start) / 1e6;
    if (out.have_idle && out.idle.open > 0)
        per_conn = (double)(out.idle.rss_kb - out.hello.rss_kb) * 1024.0 / (double)out.idle.open;
    if (out.have_idle && out.have_end) {
        growth_kb = out.end.peak_kb - out.idle.rss_kb;
        server_cpu = (double)(out.end.cpu_us - out.idle.cpu_us) / 1e6;
        server_user = (double)(out.end.user_us - out.idle.user_us) / 1e6;
    }
    if (d.nlat == 0 && d.errors == 0) fail(&d, "no round trip completed");
    if (d.max_gap > STALL_NS)
        fail(&d, "connection %ld went %.3f s without completing a round trip (limit 1 s)",
             d.max_gap_conn, (double)d.max_gap / 1e9);
    if (!out.have_end) fail(&d, "no memory figures from the server");
    else if (growth_kb >= GROWTH_LIMIT_KB)
        fail(&d, "the server's RSS grew by %ld KiB during the load (limit %ld KiB)", growth_kb, GROWTH_LIMIT_KB);
    if (out.have_quit) {
        if (out.quit.errors)
            fail(&d, "the server saw %ld connection(s) end with an error", out.quit.errors);
        if (out.quit.resets > (slow ? 1 : 0))
            fail(&d, "the server saw %ld connection(s) reset (only the slow reader's may be)", out.quit.resets);
        if (out.quit.accepted != d.expected)
            fail(&d, "the server accepted %ld connections, expected %ld", out.quit.accepted, d.expected);
        if (out.quit.open != 0)
            fail(&d, "%ld connection(s) still open at the server after the clients closed", out.quit.open);
    }

    printf("load_echo: %ld connections%s, %.1f s of %d-byte round trips\n", n,
           slow ? " + 1 slow reader" : "", seconds, MSG);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        printf("  fd limit         RLIMIT_NOFILE soft %lu, hard %lu; %ld needed by each process\n",
               (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max, n + 1 + SPARE_FDS);
    printf("  connected        %ld connections in %.2f s (%d connects in flight at most)\n",
           d.connected, (double)(d.t_connected - d.t_begin) / 1e9, CONNECT_WINDOW);
    printf("  round trips      %zu in %.2f s = %.0f per second, every byte checked\n", d.nlat, elapsed, rate);
    printf("  latency          p50 %.0f us, p99 %.0f us, max %.0f us (the %ld ordinary connections)\n",
           percentile_us(d.lat, d.nlat, 500), percentile_us(d.lat, d.nlat, 990),
           percentile_us(d.lat, d.nlat, 1000), n);
    printf("  longest wait     %.1f ms without a round trip completing, for one connection (limit "
           "1000 ms; connection %ld, up to its round trip %llu)\n", (double)d.max_gap / 1e6,
           d.max_gap_conn, (unsigned long long)d.max_gap_count);
    if (out.have_idle)
        printf("  server memory    %.0f bytes per connection: VmRSS (/proc/self/status) %ld KiB before any "
               "connection, %ld KiB with %ld idle ones (a slot is %zu bytes: a %d-byte read buffer, "
               "the rest task, handle and coroutine state)\n",
               per_conn, out.hello.rss_kb, out.idle.rss_kb, out.idle.open, sizeof(struct conn), CONN_BUF);
    if (out.have_end)
        printf("  server growth    %ld KiB during the load (peak of VmRSS every 10 ms%s, less the idle "
               "figure; limit %ld KiB)\n", growth_kb, out.end.peak_from_hwm ? " and VmHWM" : "",
               GROWTH_LIMIT_KB);
    if (slow)
        printf("  slow reader      pushed %llu of %llu bytes, read back %llu (one per second, checked)\n",
               (unsigned long long)slow->pushed, (unsigned long long)slow->attempt,
               (unsigned long long)slow->read);
    printf("  CPU in the load  client %.2f s (user %.2f), server %.2f s (user %.2f): getrusage; "
           "2 processes sharing %ld cores for %.2f s\n", client_cpu, client_user, server_cpu,
           server_user, sysconf(_SC_NPROCESSORS_ONLN), (double)(d.stop_ns - d.start_ns) / 1e9);
    if (out.have_quit)
        printf("  CPU in all       client %.2f s, server %.2f s (connecting and closing included)\n",
               (double)cpu_us() / 1e6, (double)out.quit.cpu_us / 1e6);
    problems = d.errors;
    printf("RESULT conns=%ld slow=%d seconds=%.3f round_trips=%zu rps=%.0f p50_us=%.1f p99_us=%.1f "
           "max_us=%.1f max_gap_ms=%.2f max_gap_rt=%llu connect_s=%.3f server_rss0_kb=%ld server_idle_kb=%ld "
           "server_bytes_per_conn=%.0f slot_bytes=%zu server_growth_kb=%ld slow_pushed=%llu "
           "slow_read=%llu client_cpu_s=%.3f server_cpu_s=%.3f client_user_s=%.3f server_user_s=%.3f "
           "client_cpu_total_s=%.3f "
           "server_cpu_total_s=%.3f errors=%ld\n",
           n, slow ? 1 : 0, elapsed, d.nlat, rate, percentile_us(d.lat, d.nlat, 500),
           percentile_us(d.lat, d.nlat, 990), percentile_us(d.lat, d.nlat, 1000), (double)d.max_gap / 1e6,
           (unsigned long long)d.max_gap_count, (double)(d.t_connected - d.t_begin) / 1e9, out.hello.rss_kb, out.idle.rss_kb, per_conn,
           sizeof(struct conn), growth_kb, slow ? (unsigned long long)slow->pushed : 0ull,
           slow ? (unsigned long long)slow->read : 0ull, client_cpu, server_cpu, client_user, server_user,
           (double)cpu_us() / 1e6,
           out.have_quit ? (double)out.quit.cpu_us / 1e6 : 0.0, problems);
    if (problems)
        fprintf(stderr, "load_echo: FAILED: %ld error(s)%s\n", problems,
                problems > MAX_REPORTED ? " (the first ones shown above)" : "");
    free(d.lat);
    if (slow) free(slow->pattern);
    free(slow);
    free(clients);
    free(tasks);
    return problems ? 1 : 0;
}
