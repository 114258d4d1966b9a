/* echo_server.c - a TCP echo server: one loop, one task per connection.
 *
 *   build/echo_server [-p PORT] [-n MAX_CONNECTIONS]     (default port 8888)
 *
 * The listening socket and every connection are async_io handles.  The
 * accept loop is a task; each accepted connection gets a task of its own
 * that reads what arrives and writes it back, until the client hangs up.
 * While a connection waits for data, the others run: thousands of
 * connections, one thread.  Storage for the connections is a fixed array
 * here (async.h allocates nothing); a server could malloc per client. */
#define _POSIX_C_SOURCE 200809L
#ifdef _WIN32 /* Winsock: link with -lws2_32 */
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#endif
#include <stdio.h>
#include "async.h"
#include "common.h"

enum { MAX_CONNS = 4096 };

struct conn {
    async_frame frame;
    async_io io;
    async_sock_op op;
    unsigned char buf[16384];
    intptr_t n;
};

static int serve(async_task *task, void *arg) {
    struct conn *s = (struct conn *)arg;
    ASYNC_BEGIN(task, s);
    for (;;) {
        ASYNC_SOCK_RECV(&s->op, &s->io, s->buf, sizeof s->buf);
        s->n = ASYNC_RESULT(&s->op);
        if (s->n <= 0) break; /* 0: the client hung up */
        ASYNC_SOCK_SENDALL(&s->op, &s->io, s->buf, (size_t)s->n);
        if (ASYNC_RESULT(&s->op) < 0) break;
    }
    ASYNC_FINALLY;
    async_io_close(&s->io);
    ASYNC_END;
}

struct server {
    async_frame frame;
    async_io listener;
    async_sock_op op;
    int n, max, slot; /* slot survives the accept's suspension: a local would not */
    struct conn conns[MAX_CONNS];
    async_task tasks[MAX_CONNS];
    char used[MAX_CONNS];
};

static int accept_loop(async_task *task, void *arg) {
    struct server *s = (struct server *)arg;
    ASYNC_BEGIN(task, s);
    while (s->max == 0 || s->n < s->max) {
        /* reuse the storage of a connection that is done */
        for (s->slot = 0; s->slot < MAX_CONNS; s->slot++)
            if (!s->used[s->slot] || async_task_done(&s->tasks[s->slot])) break;
        if (s->slot == MAX_CONNS) {
            ASYNC_SLEEP(0.01); /* all slots busy: let some finish */
            continue;
        }
        /* Out of file descriptors, the helper pauses and tries again by
         * itself (the other connections are served meanwhile): no spinning
         * here, and op.done says how many pauses it took. */
        ASYNC_SOCK_ACCEPT(&s->op, &s->listener, &s->conns[s->slot].io);
        if (ASYNC_RESULT(&s->op) < 0) {
            fprintf(stderr, "accept: %s\n", async_strerror((int)ASYNC_RESULT(&s->op)));
            continue;
        }
        if (s->op.done)
            fprintf(stderr, "accept: out of file descriptors, paused %lu times\n",
                    (unsigned long)s->op.done);
        async_spawn(ASYNC_LOOP(), &s->tasks[s->slot], serve, &s->conns[s->slot]);
        s->used[s->slot] = 1;
        s->n++;
    }
    ASYNC_END;
}

int main(int argc, char **argv) {
    /* static, all three: the task points at the loop, and the server's
     * connection slots are too big for the stack */
    static async_loop loop;
    static struct server s;
    static async_task t;
    struct sockaddr_in addr;
    int rc;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((unsigned short)ex_option(argc, argv, "-p", 8888));
    s.max = (int)ex_option(argc, argv, "-n", 0);
    async_loop_init(&loop, 0);
    rc = async_tcp_listen(&loop, &s.listener, (struct sockaddr *)&addr, sizeof addr, 4096);
    if (rc != ASYNC_OK) {
        fprintf(stderr, "listen: %s\n", async_strerror(rc));
        async_loop_close(&loop);
        return 1;
    }
    printf("echo server on 127.0.0.1:%d\n", (int)ntohs(addr.sin_port));
    fflush(stdout);
    async_spawn(&loop, &t, accept_loop, &s);
    rc = async_run(&loop);
    async_io_close(&s.listener);
    async_loop_close(&loop);
    return rc == ASYNC_OK ? 0 : 1;
}
