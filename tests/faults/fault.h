/* tests/faults/fault.h - a fault-injection layer for async.h's I/O system
 * calls (issue 17).
 *
 * async.h writes every system call of its I/O layer as ASYNC_SYSCALL(name)
 * (args).  This header defines ASYNC_SYSCALL(name) as fault_##name and
 * provides a fault_NAME for each, so it must come before async.h, in one
 * translation unit only (the test TU tests/test_faults.c, or the standalone
 * driver tests/faults/driver.c): everything here is static, the other test
 * files keep the real calls.
 *
 * Each wrapper asks a seeded generator whether to fail this call, and how,
 * among the failures the kernel really produces for it (the library is
 * entitled to every other promise of the kernel's contract, so nothing else
 * is ever faked):
 *   - EINTR: read, write, send, accept, poll, epoll_wait return -1 and do
 *     nothing; connect and close do their work first (POSIX: an interrupted
 *     connect goes on asynchronously; Linux frees the fd of an interrupted
 *     close).
 *   - short transfers: read / write / send of n > 1 bytes move 1 byte
 *     (sockets and pipes only: eventfd and timerfd move 8 bytes or fail).
 *   - spurious readiness: poll / epoll_wait report a watched fd ready when it
 *     is not, so the library meets the real EAGAIN.  A fake EAGAIN while the
 *     fd really is ready is never injected: with edge-triggered epoll that
 *     would be a lost wake-up the kernel never causes (it is planted bug ii).
 *   - broken connections: ECONNRESET from read, EPIPE from send.  The
 *     connection really breaks first (connect(AF_UNSPEC) makes Linux reset
 *     it), so the peer sees ECONNRESET too: as with a real reset, both ends
 *     hear of it, and a peer that gets a silently truncated stream has found
 *     a bug rather than a fault.
 *   - resources: EMFILE/ENFILE/ENOBUFS/ENOMEM from accept (nothing dequeued:
 *     Linux takes the fd before it looks at the queue, so the connection
 *     stays in the backlog), socket, eventfd, pipe, epoll_create1,
 *     timerfd_create; ENOMEM from epoll_ctl ADD; EAGAIN from pthread_create;
 *     ECONNABORTED from accept (the pending connection is taken and reset,
 *     as when the client aborts it in the backlog).
 * Beyond the contract (cfg.beyond, off by default): EINTR from fcntl.  Linux
 * never interrupts F_GETFL / F_SETFL / F_SETFD, the only commands async.h
 * uses (only lock and lease commands block), but a library may still want
 * to survive it: with cfg.beyond those fail like the rest.
 * A fault strikes about one call in cfg.one_in (fewer for calls whose
 * failure fails a whole operation: fault_rarity), and never more than
 * cfg.max_run times in a row for one kind of call, so every retry loop
 * gets through.  Counters per kind of fault show what was injected, and
 * the EINTRs the kernel itself returned (a signal storm's) are counted too.
 * Decisions come from one generator shared by the loop's thread and the
 * workers (which write the wake-up fd), so a seed replays exactly only when
 * no worker thread takes part; it still replays the same kind of run.
 *
 * Planted bugs (cfg.plant) turn the layer into a broken kernel, to prove the
 * scenarios notice: FAULT_PLANT_SHORT_WRITE has send/write move 1 byte and
 * claim n; FAULT_PLANT_LOST_WAKEUP has read fake EAGAIN while data waits,
 * and from then on poll/epoll_wait never report that fd again.
 *
 * Linux only (epoll, timerfd, eventfd; like the test suite's /proc use).
 * Valid C99 and C++11: the suite is also built as C++ (make portability). */
#ifndef FAULT_H
#define FAULT_H
#ifdef ASYNC_H
#error "tests/faults/fault.h must be included before async.h: it defines ASYNC_SYSCALL"
#endif
#ifndef _GNU_SOURCE /* g++ predefines it */
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define ASYNC_SYSCALL(name) fault_##name

/* Kinds of fault, counted separately. */
enum {
    FK_READ_EINTR, FK_READ_SHORT, FK_READ_RESET,
    FK_WRITE_EINTR, FK_WRITE_SHORT,
    FK_SEND_EINTR, FK_SEND_SHORT, FK_SEND_EPIPE,
    FK_ACCEPT_EINTR, FK_ACCEPT_NOFD, FK_ACCEPT_ABORTED,
    FK_CONNECT_EINTR, FK_CLOSE_EINTR, FK_FCNTL_EINTR,
    FK_POLL_EINTR, FK_POLL_SPURIOUS,
    FK_EPOLL_WAIT_EINTR, FK_EPOLL_WAIT_SPURIOUS, FK_EPOLL_CTL_ENOMEM,
    FK_SOCKET_NOFD, FK_EVENTFD_NOFD, FK_TIMERFD_NOFD, FK_EPOLL_CREATE_NOFD, FK_PIPE_NOFD,
    FK_PTHREAD_EAGAIN,
    FK_PLANT_SHORT_WRITE, FK_PLANT_LOST_WAKEUP,
    FK_COUNT
};

static const char *const fault_kind_names[FK_COUNT] = {
    "read EINTR", "read short", "read ECONNRESET",
    "write EINTR", "write short",
    "send EINTR", "send short", "send EPIPE",
    "accept EINTR", "accept EMFILE/ENFILE/ENOBUFS/ENOMEM", "accept ECONNABORTED",
    "connect EINTR (after connecting)", "close EINTR (after closing)",
    "fcntl EINTR (beyond the contract)",
    "poll EINTR", "poll spurious readiness",
    "epoll_wait EINTR", "epoll_wait spurious readiness", "epoll_ctl ADD ENOMEM",
    "socket EMFILE/ENFILE/ENOBUFS", "eventfd EMFILE/ENFILE/ENOMEM",
    "timerfd_create EMFILE/ENFILE/ENOMEM", "epoll_create1 EMFILE/ENFILE/ENOMEM",
    "pipe EMFILE/ENFILE", "pthread_create EAGAIN",
    "PLANTED short write claimed complete", "PLANTED lost wake-up (fake EAGAIN)"};

/* Kinds of call: the cap on faults in a row is per kind of call. */
enum {
    FC_READ, FC_WRITE, FC_SEND, FC_ACCEPT, FC_CONNECT, FC_CLOSE, FC_FCNTL, FC_POLL,
    FC_EPOLL_WAIT, FC_EPOLL_CTL, FC_SOCKET, FC_EVENTFD, FC_TIMERFD, FC_EPOLL_CREATE,
    FC_PIPE, FC_PTHREAD, FC_COUNT
};

/* What an fd is, as far as the layer can tell: decides which faults are
 * realistic for it. */
enum { FD_UNKNOWN, FD_CONN, FD_LISTENER, FD_PIPE, FD_EVENTFD, FD_TIMERFD, FD_EPOLL, FD_OTHER };

enum { FAULT_PLANT_NONE, FAULT_PLANT_SHORT_WRITE, FAULT_PLANT_LOST_WAKEUP };

typedef struct fault_config {
    uint64_t seed;
    unsigned one_in;       /* a fault strikes about 1 call in one_in; 0: never */
    unsigned max_run;      /* faults in a row per kind of call, at most */
    int plant;             /* FAULT_PLANT_* */
    unsigned plant_one_in; /* how often the planted bug strikes where it can */
    int beyond;            /* also faults the kernel never produces (fcntl EINTR) */
} fault_config;

enum { FAULT_MAXFD = 4096 };

struct fault_fd {
    unsigned char kind;
    unsigned char watched; /* added to an epoll set: ev is what was added */
    unsigned char lost;    /* planted lost wake-up: never reported ready again */
    struct epoll_event ev;
};

/* Everything below is guarded by fault_mu: worker threads write the loop's
 * wake-up fd through the layer while the loop thread polls. */
static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    fault_config cfg;
    uint64_t rng;
    unsigned run[FC_COUNT];
    unsigned long count[FK_COUNT]; /* kept across fault_reset */
    unsigned long real_eintr[FC_COUNT]; /* EINTRs the kernel itself gave (a signal) */
    int maxfd;                     /* fds[] beyond it are all unknown */
    int nlost;                     /* fds with a planted lost wake-up */
    struct fault_fd fds[FAULT_MAXFD];
} fault_st;

/* splitmix64 over *s: the layer's schedule and the scenarios' shapes. */
static inline uint64_t fault_splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t fault__next(void) { return fault_splitmix(&fault_st.rng); }

/* Start a run: new configuration, generator and fd table (no fd of a
 * previous run is open any more); the counters keep adding up. */
static inline void fault_reset(const fault_config *cfg) {
    pthread_mutex_lock(&fault_mu);
    fault_st.cfg = *cfg;
    if (!fault_st.cfg.max_run) fault_st.cfg.max_run = 3;
    if (!fault_st.cfg.plant_one_in) fault_st.cfg.plant_one_in = 8;
    fault_st.rng = cfg->seed * 0x2545f4914f6cdd1dull + 0x1234567u;
    memset(fault_st.run, 0, sizeof fault_st.run);
    memset(fault_st.fds, 0, sizeof fault_st.fds);
    fault_st.maxfd = -1;
    fault_st.nlost = 0;
    pthread_mutex_unlock(&fault_mu);
}

/* Turn injection off (the plant too), e.g. while a test cleans up. */
static inline void fault_off(void) {
    pthread_mutex_lock(&fault_mu);
    fault_st.cfg.one_in = 0;
    fault_st.cfg.plant = FAULT_PLANT_NONE;
    pthread_mutex_unlock(&fault_mu);
}

static inline void fault_counts(unsigned long out[FK_COUNT]) {
    pthread_mutex_lock(&fault_mu);
    memcpy(out, fault_st.count, sizeof fault_st.count);
    pthread_mutex_unlock(&fault_mu);
}

/* The caller closed fd itself, not through the layer: forget what it was. */
static inline void fault_forget(int fd) {
    pthread_mutex_lock(&fault_mu);
    if (fd >= 0 && fd < FAULT_MAXFD) {
        if (fault_st.fds[fd].lost) fault_st.nlost--;
        memset(&fault_st.fds[fd], 0, sizeof fault_st.fds[fd]);
    }
    pthread_mutex_unlock(&fault_mu);
}

/* EINTRs from the real calls (not injected): proof that a signal storm
 * reached the library's system calls.  Indexed by FC_*. */
static inline void fault_real_eintr(unsigned long out[FC_COUNT]) {
    pthread_mutex_lock(&fault_mu);
    memcpy(out, fault_st.real_eintr, sizeof fault_st.real_eintr);
    pthread_mutex_unlock(&fault_mu);
}

static const char *const fault_call_names[FC_COUNT] = {
    "read", "write", "send", "accept", "connect", "close", "fcntl", "poll", "epoll_wait",
    "epoll_ctl", "socket", "eventfd", "timerfd_create", "epoll_create1", "pipe", "pthread_create"};

static inline void fault_counts_clear(void) {
    pthread_mutex_lock(&fault_mu);
    memset(fault_st.count, 0, sizeof fault_st.count);
    memset(fault_st.real_eintr, 0, sizeof fault_st.real_eintr);
    pthread_mutex_unlock(&fault_mu);
}

/* The result of a real call, noting an EINTR it got from the kernel. */
static inline long fault__seen(int call, long r) {
    if (r < 0 && errno == EINTR) {
        pthread_mutex_lock(&fault_mu);
        fault_st.real_eintr[call]++;
        pthread_mutex_unlock(&fault_mu);
        errno = EINTR;
    }
    return r;
}

/* Locked helpers (caller holds fault_mu). */
static inline struct fault_fd *fault__fd(int fd) {
    static struct fault_fd none;
    if (fd < 0 || fd >= FAULT_MAXFD) {
        memset(&none, 0, sizeof none);
        none.kind = FD_OTHER;
        return &none;
    }
    if (fault_st.fds[fd].kind == FD_UNKNOWN) { /* made outside the layer */
        struct stat st;
        int ok = fstat(fd, &st) == 0;
        fault_st.fds[fd].kind = ok && S_ISSOCK(st.st_mode)   ? FD_CONN
                                : ok && S_ISFIFO(st.st_mode) ? FD_PIPE
                                                             : FD_OTHER;
        if (fd > fault_st.maxfd) fault_st.maxfd = fd;
    }
    return &fault_st.fds[fd];
}

static inline void fault__track(int fd, int kind) {
    if (fd >= 0 && fd < FAULT_MAXFD) {
        if (fault_st.fds[fd].lost) fault_st.nlost--;
        memset(&fault_st.fds[fd], 0, sizeof fault_st.fds[fd]);
        fault_st.fds[fd].kind = (unsigned char)kind;
        if (fd > fault_st.maxfd) fault_st.maxfd = fd;
    }
}

/* Calls whose failure makes the operation fail as a whole (an fd cannot be
 * watched, a socket not made) strike less often, so that most clients
 * still get to the data path, where the retries are: fault rate
 * 1 / (one_in * fault_rarity[call]). */
static const unsigned fault_rarity[FC_COUNT] = {
    1 /* read */, 1 /* write */, 1 /* send */, 1 /* accept */, 1 /* connect */, 1 /* close */,
    8 /* fcntl */, 1 /* poll */, 1 /* epoll_wait */, 4 /* epoll_ctl */, 4 /* socket */,
    1 /* eventfd */, 1 /* timerfd */, 1 /* epoll_create */, 1 /* pipe */, 1 /* pthread */};

/* Should this call fail, and how?  kinds[i] is a fault realistic for this
 * call, weights[i] its share.  Returns the kind (counted) or -1. */
static inline int fault__pick(int call, const int *kinds, const unsigned *weights, int n) {
    unsigned total = 0, r;
    int i;
    if (!fault_st.cfg.one_in || n == 0 || fault_st.run[call] >= fault_st.cfg.max_run ||
        fault__next() % (fault_st.cfg.one_in * fault_rarity[call]) != 0) {
        fault_st.run[call] = 0; /* this call goes through: the run is over */
        return -1;
    }
    for (i = 0; i < n; i++) total += weights[i];
    r = (unsigned)(fault__next() % total);
    for (i = 0; i + 1 < n && r >= weights[i]; i++) r -= weights[i];
    fault_st.run[call]++;
    fault_st.count[kinds[i]]++;
    return kinds[i];
}

/* A planted bug strikes here (counted)? */
static inline int fault__plant(int plant) {
    if (fault_st.cfg.plant != plant || fault__next() % fault_st.cfg.plant_one_in != 0) return 0;
    fault_st.count[plant == FAULT_PLANT_SHORT_WRITE ? FK_PLANT_SHORT_WRITE : FK_PLANT_LOST_WAKEUP]++;
    return 1;
}

/* Pick one errno among n. */
static inline int fault__errno(const int *e, int n) {
    return e[fault__next() % (unsigned)n];
}

/* Break a TCP connection for real: connect(AF_UNSPEC) makes Linux send a
 * reset and leave the socket unconnected, with its own error set. */
static inline void fault__break(int fd) {
    struct sockaddr sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_family = AF_UNSPEC;
    (void)connect(fd, &sa, sizeof sa);
}

static inline int fault__fail(int err) {
    errno = err;
    return -1;
}

/* A fault was picked but the real call failed first: count it out, keep
 * the real errno. */
static inline void fault__uncount(int kind, int err) {
    pthread_mutex_lock(&fault_mu);
    fault_st.count[kind]--;
    pthread_mutex_unlock(&fault_mu);
    errno = err;
}

/* ---- data --------------------------------------------------------------------- */

static inline ssize_t fault_read(int fd, void *buf, size_t n) {
    int kinds[3], k, nk = 0, lose = 0;
    unsigned w[3];
    struct fault_fd *f;
    pthread_mutex_lock(&fault_mu);
    f = fault__fd(fd);
    if (f->kind == FD_CONN && !f->lost && fault_st.cfg.plant == FAULT_PLANT_LOST_WAKEUP) {
        struct pollfd p;
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        /* only while data (or the end of the stream) really waits */
        if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) && fault__plant(FAULT_PLANT_LOST_WAKEUP)) {
            lose = f->lost = 1;
            fault_st.nlost++;
        }
    }
    if (!lose) {
        kinds[nk] = FK_READ_EINTR, w[nk++] = 4;
        if (n > 1 && (f->kind == FD_CONN || f->kind == FD_PIPE)) kinds[nk] = FK_READ_SHORT, w[nk++] = 4;
        if (f->kind == FD_CONN) kinds[nk] = FK_READ_RESET, w[nk++] = 1;
    }
    k = lose ? -1 : fault__pick(FC_READ, kinds, w, nk);
    pthread_mutex_unlock(&fault_mu);
    if (lose) return fault__fail(EAGAIN);
    if (k == FK_READ_EINTR) return fault__fail(EINTR);
    if (k == FK_READ_SHORT) return fault__seen(FC_READ, read(fd, buf, 1));
    if (k == FK_READ_RESET) {
        fault__break(fd);
        return fault__fail(ECONNRESET);
    }
    return fault__seen(FC_READ, read(fd, buf, n));
}

/* write and send share this: a short or planted-short transfer, EPIPE on a
 * connection, EINTR. */
static inline ssize_t fault__out(int fd, const void *buf, size_t n, int flags, int is_send) {
    int kinds[3], k, nk = 0, lie = 0;
    unsigned w[3];
    ssize_t r;
    struct fault_fd *f;
    pthread_mutex_lock(&fault_mu);
    f = fault__fd(fd);
    if (n > 1 && f->kind == FD_CONN) lie = fault__plant(FAULT_PLANT_SHORT_WRITE);
    if (!lie) {
        kinds[nk] = is_send ? FK_SEND_EINTR : FK_WRITE_EINTR, w[nk++] = 4;
        if (n > 1 && (f->kind == FD_CONN || f->kind == FD_PIPE))
            kinds[nk] = is_send ? FK_SEND_SHORT : FK_WRITE_SHORT, w[nk++] = 4;
        if (f->kind == FD_CONN && is_send) kinds[nk] = FK_SEND_EPIPE, w[nk++] = 1;
    }
    k = lie ? -1 : fault__pick(is_send ? FC_SEND : FC_WRITE, kinds, w, nk);
    pthread_mutex_unlock(&fault_mu);
    if (k == FK_SEND_EINTR || k == FK_WRITE_EINTR) return fault__fail(EINTR);
    if (k == FK_SEND_EPIPE) {
        fault__break(fd);
        return fault__fail(EPIPE);
    }
    if (lie || k == FK_SEND_SHORT || k == FK_WRITE_SHORT) { /* move 1 byte */
        r = is_send ? send(fd, buf, 1, flags) : write(fd, buf, 1);
        fault__seen(is_send ? FC_SEND : FC_WRITE, r);
        return lie && r == 1 ? (ssize_t)n : r; /* the planted bug claims all n */
    }
    r = is_send ? send(fd, buf, n, flags) : write(fd, buf, n);
    return fault__seen(is_send ? FC_SEND : FC_WRITE, r);
}

static inline ssize_t fault_write(int fd, const void *buf, size_t n) {
    return fault__out(fd, buf, n, 0, 0);
}

static inline ssize_t fault_send(int fd, const void *buf, size_t n, int flags) {
    return fault__out(fd, buf, n, flags, 1);
}

/* ---- sockets ------------------------------------------------------------------ */

static inline int fault_socket(int domain, int type, int protocol) {
    static const int kinds[1] = {FK_SOCKET_NOFD}, errs[3] = {EMFILE, ENFILE, ENOBUFS};
    static const unsigned w[1] = {1};
    int k, fd, e = 0;
    pthread_mutex_lock(&fault_mu);
    k = fault__pick(FC_SOCKET, kinds, w, 1);
    if (k >= 0) e = fault__errno(errs, 3);
    pthread_mutex_unlock(&fault_mu);
    if (k >= 0) return fault__fail(e);
    fd = socket(domain, type, protocol);
    if (fd >= 0) {
        pthread_mutex_lock(&fault_mu);
        fault__track(fd, FD_CONN);
        pthread_mutex_unlock(&fault_mu);
    }
    return fd;
}

static inline int fault_accept(int fd, struct sockaddr *addr, socklen_t *len) {
    static const int kinds[3] = {FK_ACCEPT_EINTR, FK_ACCEPT_NOFD, FK_ACCEPT_ABORTED};
    static const int errs[4] = {EMFILE, ENFILE, ENOBUFS, ENOMEM};
    static const unsigned w[3] = {3, 3, 1};
    int k, c, e = 0;
    pthread_mutex_lock(&fault_mu);
    k = fault__pick(FC_ACCEPT, kinds, w, 3);
    if (k == FK_ACCEPT_NOFD) e = fault__errno(errs, 4);
    pthread_mutex_unlock(&fault_mu);
    if (k == FK_ACCEPT_EINTR) return fault__fail(EINTR);
    if (k == FK_ACCEPT_NOFD) return fault__fail(e);
    c = (int)fault__seen(FC_ACCEPT, accept(fd, addr, len));
    if (c >= 0 && k == FK_ACCEPT_ABORTED) { /* the client gave up in the backlog */
        fault__break(c);
        close(c);
        return fault__fail(ECONNABORTED);
    }
    pthread_mutex_lock(&fault_mu);
    if (c >= 0)
        fault__track(c, FD_CONN);
    else if (k == FK_ACCEPT_ABORTED)
        fault_st.count[k]--; /* nothing pending: nothing to abort */
    pthread_mutex_unlock(&fault_mu);
    return c;
}

static inline int fault_connect(int fd, const struct sockaddr *addr, socklen_t len) {
    static const int kinds[1] = {FK_CONNECT_EINTR};
    static const unsigned w[1] = {1};
    int k, r;
    pthread_mutex_lock(&fault_mu);
    k = fault__pick(FC_CONNECT, kinds, w, 1);
    pthread_mutex_unlock(&fault_mu);
    r = (int)fault__seen(FC_CONNECT, connect(fd, addr, len));
    /* a signal after the connection was set going: it goes on regardless */
    if (k >= 0 && (r == 0 || errno == EINPROGRESS)) return fault__fail(EINTR);
    if (k >= 0) fault__uncount(k, errno);
    return r;
}

static inline int fault_close(int fd) {
    static const int kinds[1] = {FK_CLOSE_EINTR};
    static const unsigned w[1] = {1};
    int k, r;
    pthread_mutex_lock(&fault_mu);
    k = fault__pick(FC_CLOSE, kinds, w, 1);
    if (fd >= 0 && fd < FAULT_MAXFD && fault_st.fds[fd].lost) fault_st.nlost--;
    if (fd >= 0 && fd < FAULT_MAXFD) memset(&fault_st.fds[fd], 0, sizeof fault_st.fds[fd]);
    r = close(fd);
    if (r < 0 && errno == EINTR) fault_st.real_eintr[FC_CLOSE]++;
    if (r != 0 && k >= 0) fault_st.count[k]--; /* it failed for real: report that */
    pthread_mutex_unlock(&fault_mu); /* held over close: the number is free again */
    if (r == 0 && k >= 0) return fault__fail(EINTR); /* Linux: the fd is gone anyway */
    return r;
}

static inline int fault_fcntl(int fd, int cmd, ...) {
    static const int kinds[1] = {FK_FCNTL_EINTR};
    static const unsigned w[1] = {1};
    int k, arg = 0;
    if (cmd == F_SETFL || cmd == F_SETFD) { /* the only commands async.h passes an arg to */
        va_list ap;
        va_start(ap, cmd);
        arg = va_arg(ap, int);
        va_end(ap);
    }
    pthread_mutex_lock(&fault_mu);
    k = fault__pick(FC_FCNTL, kinds, w, fault_st.cfg.beyond ? 1 : 0);
    pthread_mutex_unlock(&fault_mu);
    if (k >= 0) return fault__fail(EINTR);
    return (cmd == F_SETFL || cmd == F_SETFD) ? fcntl(fd, cmd, arg) : fcntl(fd, cmd);
}

static inline int fault_fstat(int fd, struct stat *st) { return fstat(fd, st); }
static inline int fault_getsockopt(int fd, int level, int name, void *val, socklen_t *len) {
    return getsockopt(fd, level, name, val, len);
}
static inline int fault_setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
    return setsockopt(fd, level, name, val, len);
}
static inline int fault_bind(int fd, const struct sockaddr *addr, socklen_t len) {
    return bind(fd, addr, len);
}
static inline int fault_listen(int fd, int backlog) {
    int r = listen(fd, backlog);
    if (r == 0) {
        pthread_mutex_lock(&fault_mu);
        if (fd < FAULT_MAXFD) fault_st.fds[fd].kind = FD_LISTENER; /* no resets, no shorts */
        pthread_mutex_unlock(&fault_mu);
    }
    return r;
}

/* ---- fds of the loop's own ----------------------------------------------------- */

/* One "out of fds or memory" fault for a call that makes an fd. */
static inline int fault__nofd(int call, int kind, int with_enomem) {
    static const int errs[3] = {EMFILE, ENFILE, ENOMEM};
    unsigned w[1] = {1};
    int k, e = 0;
    pthread_mutex_lock(&fault_mu);
    k = fault__pick(call, &kind, w, 1);
    if (k >= 0) e = fault__errno(errs, with_enomem ? 3 : 2);
    pthread_mutex_unlock(&fault_mu);
    return k >= 0 ? e : 0;
}

static inline void fault__track_locked(int fd, int kind) {
    pthread_mutex_lock(&fault_mu);
    fault__track(fd, kind);
    pthread_mutex_unlock(&fault_mu);
}

static inline int fault_pipe(int p[2]) {
    int e = fault__nofd(FC_PIPE, FK_PIPE_NOFD, 0);
    if (e) return fault__fail(e);
    if (pipe(p) < 0) return -1;
    fault__track_locked(p[0], FD_PIPE);
    fault__track_locked(p[1], FD_PIPE);
    return 0;
}

static inline int fault_eventfd(unsigned int initval, int flags) {
    int e = fault__nofd(FC_EVENTFD, FK_EVENTFD_NOFD, 1), fd;
    if (e) return fault__fail(e);
    fd = eventfd(initval, flags);
    if (fd >= 0) fault__track_locked(fd, FD_EVENTFD);
    return fd;
}

static inline int fault_timerfd_create(int clockid, int flags) {
    int e = fault__nofd(FC_TIMERFD, FK_TIMERFD_NOFD, 1), fd;
    if (e) return fault__fail(e);
    fd = timerfd_create(clockid, flags);
    if (fd >= 0) fault__track_locked(fd, FD_TIMERFD);
    return fd;
}

/* No realistic failure: the library passes valid arguments. */
static inline int fault_timerfd_settime(int fd, int flags, const struct itimerspec *v,
                                        struct itimerspec *old) {
    return timerfd_settime(fd, flags, v, old);
}

static inline int fault_epoll_create1(int flags) {
    int e = fault__nofd(FC_EPOLL_CREATE, FK_EPOLL_CREATE_NOFD, 1), fd;
    if (e) return fault__fail(e);
    fd = epoll_create1(flags);
    if (fd >= 0) fault__track_locked(fd, FD_EPOLL);
    return fd;
}

static inline int fault_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev) {
    static const int kinds[1] = {FK_EPOLL_CTL_ENOMEM};
    static const unsigned w[1] = {1};
    int k = -1, r;
    pthread_mutex_lock(&fault_mu);
    if (op == EPOLL_CTL_ADD) k = fault__pick(FC_EPOLL_CTL, kinds, w, 1);
    pthread_mutex_unlock(&fault_mu);
    if (k >= 0) return fault__fail(ENOMEM);
    r = epoll_ctl(ep, op, fd, ev);
    if (r == 0 && fd >= 0 && fd < FAULT_MAXFD) {
        pthread_mutex_lock(&fault_mu);
        (void)fault__fd(fd);
        if (op == EPOLL_CTL_DEL) {
            fault_st.fds[fd].watched = 0;
        } else if (ev) { /* ADD or MOD: remember what to report for it */
            fault_st.fds[fd].watched = 1;
            fault_st.fds[fd].ev = *ev;
        }
        pthread_mutex_unlock(&fault_mu);
    }
    return r;
}

/* ---- waiting -------------------------------------------------------------------- */

static inline int fault_poll(struct pollfd *p, nfds_t n, int timeout) {
    static const int kinds[2] = {FK_POLL_EINTR, FK_POLL_SPURIOUS};
    static const unsigned w[2] = {1, 1};
    int k, r, hidden = 0, spurious = -1, cand = 0;
    nfds_t j;
    pthread_mutex_lock(&fault_mu);
    k = fault__pick(FC_POLL, kinds, w, 2);
    if (k == FK_POLL_SPURIOUS) { /* one watched fd, at random, is "ready" */
        for (j = 0; j < n; j++)
            if (p[j].fd >= 0 && p[j].events && !fault__fd(p[j].fd)->lost) cand++;
        if (cand) cand = (int)(fault__next() % (unsigned)cand);
        for (j = 0; j < n && spurious < 0; j++)
            if (p[j].fd >= 0 && p[j].events && !fault__fd(p[j].fd)->lost && cand-- == 0)
                spurious = (int)j;
        if (spurious < 0) { /* nothing watched: no fault after all */
            fault_st.count[k]--;
            k = -1;
        }
    }
    if (fault_st.nlost) /* a lost fd leaves the set: poll skips negative fds */
        for (j = 0; j < n; j++)
            if (p[j].fd >= 0 && fault__fd(p[j].fd)->lost) {
                p[j].fd = ~p[j].fd;
                hidden = 1;
            }
    pthread_mutex_unlock(&fault_mu);
    if (k == FK_POLL_EINTR) {
        r = fault__fail(EINTR);
    } else {
        r = (int)fault__seen(FC_POLL, poll(p, n, spurious >= 0 ? 0 : timeout));
        if (r >= 0 && spurious >= 0) {
            if (!p[spurious].revents) r++;
            p[spurious].revents = (short)(p[spurious].revents | (p[spurious].events & (POLLIN | POLLOUT)));
        }
    }
    if (hidden) {
        int e = errno;
        for (j = 0; j < n; j++)
            if (p[j].fd < 0) p[j].fd = ~p[j].fd; /* async.h passes no negative fd */
        errno = e;
    }
    return r;
}

/* Is ev an event of an fd with a planted lost wake-up? (locked) */
static inline int fault__lost_event(const struct epoll_event *ev) {
    int fd;
    for (fd = 0; fd <= fault_st.maxfd; fd++)
        if (fault_st.fds[fd].lost && fault_st.fds[fd].watched &&
            fault_st.fds[fd].ev.data.u64 == ev->data.u64)
            return 1;
    return 0;
}

static inline int fault_epoll_wait(int ep, struct epoll_event *ev, int max, int timeout) {
    static const int kinds[2] = {FK_EPOLL_WAIT_EINTR, FK_EPOLL_WAIT_SPURIOUS};
    static const unsigned w[2] = {1, 1};
    int k, n, i, j, spurious = -1, lost_any, cand = 0, fd;
    pthread_mutex_lock(&fault_mu);
    k = fault__pick(FC_EPOLL_WAIT, kinds, w, 2);
    if (k == FK_EPOLL_WAIT_SPURIOUS) { /* one fd of the set, at random, is "ready" */
        for (fd = 0; fd <= fault_st.maxfd; fd++)
            if (fault_st.fds[fd].watched && !fault_st.fds[fd].lost) cand++;
        if (cand) cand = (int)(fault__next() % (unsigned)cand);
        for (fd = 0; fd <= fault_st.maxfd && spurious < 0; fd++)
            if (fault_st.fds[fd].watched && !fault_st.fds[fd].lost && cand-- == 0) spurious = fd;
        if (spurious < 0) {
            fault_st.count[k]--;
            k = -1;
        }
    }
    pthread_mutex_unlock(&fault_mu);
    if (k == FK_EPOLL_WAIT_EINTR) return fault__fail(EINTR);
    for (;;) {
        n = (int)fault__seen(FC_EPOLL_WAIT, epoll_wait(ep, ev, max, spurious >= 0 ? 0 : timeout));
        if (n < 0) return n;
        pthread_mutex_lock(&fault_mu);
        lost_any = 0;
        if (fault_st.nlost) { /* drop what a lost fd reports */
            for (i = j = 0; i < n; i++) {
                if (fault__lost_event(&ev[i]))
                    lost_any = 1;
                else
                    ev[j++] = ev[i];
            }
            n = j;
        }
        if (spurious >= 0 && fault_st.fds[spurious].watched) {
            struct fault_fd *f = &fault_st.fds[spurious];
            uint32_t add = f->ev.events & (uint32_t)(EPOLLIN | EPOLLOUT);
            for (i = 0; i < n && ev[i].data.u64 != f->ev.data.u64; i++) {
            }
            if (i < n) {
                ev[i].events |= add;
            } else if (n < max) {
                ev[n].events = add;
                ev[n++].data = f->ev.data;
            }
        }
        pthread_mutex_unlock(&fault_mu);
        /* all of it was a lost fd's: wait on, as if nothing had come */
        if (n > 0 || !lost_any || timeout == 0) return n;
    }
}

/* ---- threads ---------------------------------------------------------------------- */

static inline int fault_pthread_create(pthread_t *th, const pthread_attr_t *attr,
                                       void *(*fn)(void *), void *arg) {
    static const int kinds[1] = {FK_PTHREAD_EAGAIN};
    static const unsigned w[1] = {1};
    int k;
    pthread_mutex_lock(&fault_mu);
    k = fault__pick(FC_PTHREAD, kinds, w, 1);
    pthread_mutex_unlock(&fault_mu);
    if (k >= 0) return EAGAIN; /* pthread functions return the error */
    return pthread_create(th, attr, fn, arg);
}

#endif /* FAULT_H */
