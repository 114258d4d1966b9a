/* Sockets and worker threads, written once for every platform with I/O
 * (Linux, the POSIX-only build, Windows; WebAssembly: what it can, see
 * NET_TCP): what a program sees must be the same everywhere, error codes
 * included.  The only platform code is how to read a listener's port. */
#include "helpers.h"
#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#ifdef ASYNC_READ /* builds with an I/O section */

/* No TCP to test under emscripten 3.1.6 on node: its sockets are WebSockets,
 * listen() needs node's 'ws' module, a connection moves only while the JS
 * event loop runs (never during async_run), and fstat() fails with ENOENT on
 * a socket, so async_io_open cannot watch one. */
#ifdef __EMSCRIPTEN__
#define NET_TCP 0
#else
#define NET_TCP 1
#endif

#if NET_TCP

/* A listener on 127.0.0.1, on a port the system picks; *a gets its address. */
static void listen_loopback(async_loop *loop, async_io *io, struct sockaddr_in *a) {
#ifdef _WIN32
    int len = sizeof *a;
    SOCKET s;
#else
    socklen_t len = sizeof *a;
    int s;
#endif
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(async_tcp_listen(loop, io, (struct sockaddr *)a, sizeof *a, 128), ASYNC_OK);
#ifdef _WIN32
    s = (SOCKET)(uintptr_t)(unsigned)io->fd;
#else
    s = io->fd;
#endif
    cr_assert_eq(getsockname(s, (struct sockaddr *)a, &len), 0);
}

/* ---- an echo server and its clients ------------------------------------------ */

#define NET_CONNS 50
#define NET_BYTES 65536

typedef struct {
    async_frame frame;
    async_io conn;
    async_sock_op op;
    unsigned char buf[4096];
    intptr_t n;
} net_conn;

static int net_conn_fn(async_task *task, void *arg) {
    net_conn *s = (net_conn *)arg;
    ASYNC_BEGIN(task, s);
    for (;;) {
        ASYNC_SOCK_RECV(&s->op, &s->conn, s->buf, sizeof s->buf);
        s->n = ASYNC_RESULT(&s->op);
        if (s->n <= 0) break;
        ASYNC_SOCK_SENDALL(&s->op, &s->conn, s->buf, (size_t)s->n);
        if (ASYNC_RESULT(&s->op) < 0) break;
    }
    ASYNC_FINALLY;
    async_io_close(&s->conn);
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_io listener;
    async_sock_op op;
    net_conn conns[NET_CONNS];
    async_task tasks[NET_CONNS];
    int n;
} net_server;

static int net_server_fn(async_task *task, void *arg) {
    net_server *s = (net_server *)arg;
    ASYNC_BEGIN(task, s);
    while (s->n < NET_CONNS) {
        ASYNC_SOCK_ACCEPT(&s->op, &s->listener, &s->conns[s->n].conn);
        if (ASYNC_RESULT(&s->op) < 0) break;
        async_spawn(ASYNC_LOOP(), &s->tasks[s->n], net_conn_fn, &s->conns[s->n]);
        s->n++;
    }
    ASYNC_FINALLY;
    async_io_close(&s->listener);
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_sock_op op;
    void *owner;
} net_sender;

typedef struct {
    async_frame frame;
    async_io io;
    async_sock_op op;
    struct sockaddr_in addr;
    int id;
    unsigned char out[NET_BYTES], in[NET_BYTES];
    async_task sender;
    net_sender send;
    intptr_t result;
} net_client;

static int net_sender_fn(async_task *task, void *arg) {
    net_sender *s = (net_sender *)arg;
    net_client *c = (net_client *)s->owner;
    ASYNC_BEGIN(task, s);
    ASYNC_SOCK_SENDALL(&s->op, &c->io, c->out, NET_BYTES);
    ASYNC_END;
}

/* Connects, sends 64 KiB from a second task while it reads the echo, and
 * checks every byte. */
static int net_client_fn(async_task *task, void *arg) {
    net_client *s = (net_client *)arg;
    size_t i;
    ASYNC_BEGIN(task, s);
    for (i = 0; i < NET_BYTES; i++) s->out[i] = (unsigned char)(i * 7 + (size_t)s->id);
    s->result = async_tcp_socket(ASYNC_LOOP(), &s->io, AF_INET);
    if (s->result) ASYNC_RETURN(s->result);
    ASYNC_SOCK_CONNECT(&s->op, &s->io, (struct sockaddr *)&s->addr, sizeof s->addr, 5.0);
    s->result = ASYNC_RESULT(&s->op);
    if (s->result) ASYNC_RETURN(s->result);
    s->send.owner = s;
    async_spawn(ASYNC_LOOP(), &s->sender, net_sender_fn, &s->send);
    ASYNC_SOCK_RECV_EXACTLY(&s->op, &s->io, s->in, NET_BYTES);
    s->result = ASYNC_RESULT(&s->op);
    ASYNC_AWAIT_TASK(&s->sender);
    if (s->result == NET_BYTES && memcmp(s->in, s->out, NET_BYTES) != 0) s->result = -1;
    ASYNC_FINALLY;
    async_io_close(&s->io);
    ASYNC_END;
}

Test(net, echo_50_connections_of_64k_over_loopback, .timeout = 60) {
    static async_loop loop;
    static net_server srv;
    static net_client clients[NET_CONNS];
    static async_task st, ct[NET_CONNS];
    struct sockaddr_in a;
    int i;
    memset(&srv, 0, sizeof srv);
    async_loop_init(&loop, 0);
    listen_loopback(&loop, &srv.listener, &a);
    async_spawn(&loop, &st, net_server_fn, &srv);
    for (i = 0; i < NET_CONNS; i++) {
        clients[i].addr = a;
        clients[i].id = i;
        async_spawn(&loop, &ct[i], net_client_fn, &clients[i]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    for (i = 0; i < NET_CONNS; i++)
        cr_assert_eq(clients[i].result, NET_BYTES, "client %d: %s", i,
                     async_strerror((int)clients[i].result));
    cr_assert_eq(srv.n, NET_CONNS);
    async_loop_close(&loop);
}

/* ---- the same error codes everywhere -------------------------------------------- */

typedef struct {
    async_frame frame;
    async_io io;
    async_sock_op op;
    struct sockaddr_in addr;
    double limit;
    intptr_t result;
} net_connector;

static int net_connector_fn(async_task *task, void *arg) {
    net_connector *s = (net_connector *)arg;
    ASYNC_BEGIN(task, s);
    s->result = async_tcp_socket(ASYNC_LOOP(), &s->io, AF_INET);
    if (s->result) ASYNC_RETURN(0);
    ASYNC_SOCK_CONNECT(&s->op, &s->io, (struct sockaddr *)&s->addr, sizeof s->addr, s->limit);
    s->result = ASYNC_RESULT(&s->op);
    async_io_close(&s->io);
    ASYNC_END;
}

Test(net, a_port_nobody_listens_on_refuses_with_ECONNREFUSED, .timeout = 30) {
    async_loop loop;
    async_io l;
    async_task t;
    net_connector c;
    memset(&c, 0, sizeof c);
    async_loop_init(&loop, 0);
    listen_loopback(&loop, &l, &c.addr); /* a free port ... */
    cr_assert_eq(async_io_close(&l), ASYNC_OK); /* ... that nobody listens on now */
    c.limit = 20.0;
    async_spawn(&loop, &t, net_connector_fn, &c);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(c.result, -ECONNREFUSED, "%s", async_strerror((int)c.result));
    async_loop_close(&loop);
}
#endif /* NET_TCP */

Test(net, closed_and_invalid_handles_are_EBADF) {
    async_loop loop;
    async_io l, io;
#if NET_TCP
    struct sockaddr_in a;
#endif
    char b;
    int fd;
    async_loop_init(&loop, 0);
    cr_assert_eq(async_io_open(&loop, &io, -1), -EBADF);
#if NET_TCP
    listen_loopback(&loop, &l, &a);
    fd = l.fd;
#else /* no socket to watch (above): a device stands in */
    fd = open("/dev/null", O_RDWR);
    cr_assert_eq(async_io_open(&loop, &l, fd), ASYNC_OK);
#endif
    cr_assert_eq(async_io_close(&l), ASYNC_OK);
    cr_assert_eq(async_io_close(&l), -EBADF, "closing twice");
    cr_assert_eq(async_io_read(&l, &b, 1), -EBADF, "reading a closed handle");
    cr_assert_eq(async_io_write(&l, &b, 1), -EBADF, "writing a closed handle");
    cr_assert_eq(async_io_open(&loop, &io, fd), -EBADF, "watching a closed socket");
    async_loop_close(&loop);
}

#if NET_TCP
/* A read with nothing to read, under a timeout. */
typedef struct {
    async_frame frame;
    async_io io;
    async_sock_op op;
    async_timeout tmo;
    struct sockaddr_in addr;
    unsigned char buf[16];
    int status;
    uint64_t took;
} net_waiter;

static int net_waiter_fn(async_task *task, void *arg) {
    net_waiter *s = (net_waiter *)arg;
    ASYNC_BEGIN(task, s);
    cr_assert_eq(async_tcp_socket(ASYNC_LOOP(), &s->io, AF_INET), ASYNC_OK);
    ASYNC_SOCK_CONNECT(&s->op, &s->io, (struct sockaddr *)&s->addr, sizeof s->addr, 5.0);
    cr_assert_eq(ASYNC_RESULT(&s->op), 0);
    s->took = ASYNC_NOW();
    ASYNC_WITH_TIMEOUT(&s->tmo, 0.1, ASYNC_SOCK_RECV(&s->op, &s->io, s->buf, sizeof s->buf));
    s->status = ASYNC_STATUS();
    s->took = ASYNC_NOW() - s->took;
    async_io_close(&s->io);
    ASYNC_END;
}

Test(net, a_receive_with_nothing_to_read_times_out, .timeout = 30) {
    async_loop loop;
    async_io l;
    async_task t;
    net_waiter w;
    memset(&w, 0, sizeof w);
    async_loop_init(&loop, 0);
    listen_loopback(&loop, &l, &w.addr); /* connects, never accepted: no data */
    async_spawn(&loop, &t, net_waiter_fn, &w);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(w.status, ASYNC_ETIMEDOUT);
    cr_assert_geq(w.took, 100 * MS);
    cr_assert_lt(w.took, 2 * SEC);
    async_io_close(&l);
    async_loop_close(&loop);
}
#endif /* NET_TCP */

/* Worker threads need emscripten's -pthread. */
#if !defined(__EMSCRIPTEN__) || defined(__EMSCRIPTEN_PTHREADS__)

/* ---- worker threads ---------------------------------------------------------- */

static intptr_t net_square(void *arg) {
    intptr_t x = (intptr_t)arg;
    return x * x;
}

typedef struct {
    async_frame frame;
    async_pool *pool;
    async_job job;
    intptr_t x, result;
} net_offload;

static int net_offload_fn(async_task *task, void *arg) {
    net_offload *s = (net_offload *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_TO_THREAD(s->pool, &s->job, net_square, (void *)s->x);
    s->result = s->job.result;
    ASYNC_END;
}

Test(net, two_hundred_jobs_on_four_workers_all_come_back, .timeout = 60) {
    static async_loop loop;
    static async_pool pool;
    static net_offload o[200];
    static async_task t[200];
    int i;
    async_loop_init(&loop, 0);
    cr_assert_eq(async_pool_start(&pool, 4), ASYNC_OK);
    for (i = 0; i < 200; i++) {
        o[i].pool = &pool;
        o[i].x = i;
        async_spawn(&loop, &t[i], net_offload_fn, &o[i]);
    }
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    for (i = 0; i < 200; i++) cr_assert_eq(o[i].result, (intptr_t)i * i);
    async_pool_stop(&pool);
    async_loop_close(&loop);
}

/* Ten tasks each hand a thousand small jobs to four workers, one after
 * another: every completion comes back through the loop's inbox from a
 * worker thread, several at once, and the loop must never sleep through
 * one.  (On Windows a non-blocking wake-up datagram could fail when
 * threads sent at once, and the loop slept with completions in its inbox:
 * under wine, test_io's 10,000 jobs hung in 4 runs of 9.) */
enum { NET_TASKS = 10, NET_EACH = 1000 };

typedef struct {
    async_frame frame;
    async_pool *pool;
    async_job job;
    int i, bad;
} net_chain;

static int net_chain_fn(async_task *task, void *arg) {
    net_chain *s = (net_chain *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < NET_EACH; s->i++) {
        ASYNC_TO_THREAD(s->pool, &s->job, net_square, (void *)(intptr_t)s->i);
        if (s->job.result != (intptr_t)s->i * s->i) s->bad++;
    }
    ASYNC_END;
}

Test(net, ten_thousand_job_completions_each_wake_the_loop, .timeout = 60) {
    static async_loop loop;
    static async_pool pool;
    static net_chain c[NET_TASKS];
    static async_task t[NET_TASKS];
    int round, i;
    cr_assert_eq(async_pool_start(&pool, 4), ASYNC_OK);
    for (round = 0; round < 5; round++) {
        async_loop_init(&loop, 0);
        memset(c, 0, sizeof c);
        for (i = 0; i < NET_TASKS; i++) {
            c[i].pool = &pool;
            async_spawn(&loop, &t[i], net_chain_fn, &c[i]);
        }
        cr_assert_eq(async_run(&loop), ASYNC_OK);
        for (i = 0; i < NET_TASKS; i++) {
            cr_assert_eq(c[i].i, NET_EACH, "round %d, task %d", round, i);
            cr_assert_eq(c[i].bad, 0);
        }
        async_loop_close(&loop);
    }
    async_pool_stop(&pool);
}
#endif /* threads */

#endif /* ASYNC_READ */
