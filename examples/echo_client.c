/* echo_client.c - N concurrent connections to an echo server, each sending
 * a pattern and checking that every byte comes back, in order.
 *
 *   build/echo_client [-p PORT] [-c CONNECTIONS] [-k KIB_PER_CONNECTION]
 *
 * Each connection is a task; it spawns a second task that writes while it
 * reads, so a large payload never deadlocks on full socket buffers. */
#define _POSIX_C_SOURCE 200809L
#ifdef _WIN32 /* Winsock: link with -lws2_32 */
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include "async.h"
#include "common.h"

struct sender {
    async_frame frame;
    async_sock_op op;
    async_io *io;
    unsigned char *data;
    size_t len;
};

static int send_all(async_task *task, void *arg) {
    struct sender *s = (struct sender *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SOCK_SENDALL(&s->op, s->io, s->data, s->len);
    ASYNC_END;
}

struct client {
    async_frame frame;
    int id;
    const struct sockaddr_in *addr;
    async_io io;
    async_sock_op op;
    unsigned char *out, *in;
    size_t len;
    async_task sender_task;
    struct sender sender;
    intptr_t result; /* bytes verified, or a negative error */
};

static int client(async_task *task, void *arg) {
    struct client *s = (struct client *)arg;
    size_t i;
    ASYNC_BEGIN(task, s);
    for (i = 0; i < s->len; i++) s->out[i] = (unsigned char)(i * 31 + (size_t)s->id);
    s->result = async_tcp_socket(ASYNC_LOOP(), &s->io, AF_INET);
    if (s->result) ASYNC_RETURN(s->result);
    ASYNC_SOCK_CONNECT(&s->op, &s->io, (const struct sockaddr *)s->addr, sizeof *s->addr, 10.0);
    s->result = ASYNC_RESULT(&s->op);
    if (s->result) ASYNC_RETURN(s->result);
    s->sender.io = &s->io;
    s->sender.data = s->out;
    s->sender.len = s->len;
    async_spawn(ASYNC_LOOP(), &s->sender_task, send_all, &s->sender);
    ASYNC_SOCK_RECV_EXACTLY(&s->op, &s->io, s->in, s->len);
    s->result = ASYNC_RESULT(&s->op);
    ASYNC_AWAIT_TASK(&s->sender_task);
    if (s->result == (intptr_t)s->len && memcmp(s->in, s->out, s->len) != 0) s->result = -1;
    ASYNC_FINALLY;
    async_io_close(&s->io);
    ASYNC_END;
}

/* Frees the clients' buffers and both arrays (any of them may be NULL). */
static void free_clients(struct client *clients, async_task *tasks, int n) {
    int i;
    for (i = 0; clients && i < n; i++) {
        free(clients[i].out);
        free(clients[i].in);
    }
    free(clients);
    free(tasks);
}

int main(int argc, char **argv) {
    struct sockaddr_in addr;
    async_loop loop;
    struct client *clients;
    async_task *tasks;
    int n = (int)ex_option(argc, argv, "-c", 100), i, ok = 0;
    size_t len = (size_t)ex_option(argc, argv, "-k", 64) * 1024;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((unsigned short)ex_option(argc, argv, "-p", 8888));
    if (n < 1 || len < 1) return 2;
    clients = (struct client *)calloc((size_t)n, sizeof *clients); /* zeroed: tasks must be */
    tasks = (async_task *)calloc((size_t)n, sizeof *tasks);
    for (i = 0; clients && i < n; i++) {
        clients[i].out = (unsigned char *)malloc(len);
        clients[i].in = (unsigned char *)malloc(len);
        if (!clients[i].out || !clients[i].in) break;
    }
    if (!clients || !tasks || i < n) {
        fprintf(stderr, "echo_client: out of memory\n");
        free_clients(clients, tasks, n);
        return 1;
    }
    async_loop_init(&loop, 0);
    for (i = 0; i < n; i++) {
        clients[i].id = i;
        clients[i].addr = &addr;
        clients[i].len = len;
        async_spawn(&loop, &tasks[i], client, &clients[i]);
    }
    async_run(&loop);
    for (i = 0; i < n; i++) {
        if (clients[i].result == (intptr_t)len)
            ok++;
        else
            fprintf(stderr, "connection %d: %s\n", i,
                    clients[i].result < 0 ? async_strerror((int)clients[i].result) : "short echo");
    }
    printf("%d of %d connections echoed %zu bytes each, every byte checked\n", ok, n, len);
    async_loop_close(&loop);
    free_clients(clients, tasks, n);
    return ok == n ? 0 : 1;
}
