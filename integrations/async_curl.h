/* async_curl.h - libcurl transfers awaited from async.h coroutines.
 *
 * libcurl's multi_socket API driven by async.h's event loop: a coroutine
 * starts a transfer, suspends, and resumes with the outcome (a CURLcode,
 * the HTTP status, the body or an error message) while every other task
 * runs.  No extra thread of ours, no polling, no blocking call on the loop.
 * Not part of async.h: include it after async.h and link with -lcurl.
 *
 *     #include "async.h"
 *     #include "integrations/async_curl.h"
 *
 *     static async_curl web;                      // one per loop
 *
 *     struct get { async_frame frame; async_curl_transfer x; async_timeout tmo; };
 *
 *     static int get(async_task *task, void *arg) {
 *         struct get *s = (struct get *)arg;
 *         ASYNC_BEGIN(task, s);
 *         if (async_curl_transfer_init(&s->x, &web, "https://example.org/") != CURLE_OK)
 *             ASYNC_RETURN(-1);
 *         curl_easy_setopt(s->x.easy, CURLOPT_FOLLOWLOCATION, 1L); // any easy option
 *         s->x.max_body = 1 << 20;                // optional cap on the body
 *         ASYNC_TIMEOUT_ARM(&s->tmo, 10.0);       // timeouts and cancellation
 *         ASYNC_CURL_PERFORM(&s->x);              //   work as on any await
 *         ASYNC_TIMEOUT_DISARM(&s->tmo);
 *         if (s->x.code == CURLE_OK)
 *             printf("%ld: %zu bytes\n", s->x.status, s->x.body_len);
 *         else
 *             printf("failed: %s\n", s->x.error);   // "timed out" after the timeout
 *         ASYNC_FINALLY;
 *         async_curl_transfer_free(&s->x);        // the easy handle and the body
 *         ASYNC_END;
 *     }
 *
 *     int main(void) {
 *         static async_loop loop;   static async_task t;   static struct get g;
 *         async_loop_init(&loop, 0);                  // a real-time loop
 *         async_curl_init(&web, &loop);
 *         async_spawn(&loop, &t, get, &g);
 *         async_run(&loop);                           // returns when t is done
 *         async_curl_cleanup(&web);
 *         async_loop_close(&loop);
 *     }
 *
 * API
 *   async_curl_init(ac, loop)    a CURLM (ac->multi, yours to curl_multi_setopt)
 *                                wired to the loop; CURLM_OK or an error.
 *   async_curl_cleanup(ac)       curl_multi_cleanup and free the rest.  ASYNC_OK,
 *                                or ASYNC_EAGAIN (nothing done) while a transfer
 *                                is in flight or the adapter's tasks have not yet
 *                                ended: call it after async_run, or in a task
 *                                after the last transfer and one ASYNC_YIELD().
 *   async_curl_transfer_init(x, ac, url)   an easy handle x->easy with the URL,
 *                                CURLOPT_PRIVATE, an error buffer and a write
 *                                function that collects the body into x->body;
 *                                set any other option on x->easy before the
 *                                perform.  CURLE_OK or an error.  x is zeroed
 *                                first: free an earlier transfer before reuse.
 *   ASYNC_CURL_PERFORM(x)        await the transfer.  Afterwards x->code is the
 *                                CURLcode (also ASYNC_RESULT(x)), x->error the
 *                                message ("" on success), x->status the HTTP
 *                                status of the last response (0 if none),
 *                                x->body / x->body_len what the write function
 *                                got (NUL-terminated; NULL if nothing came).
 *                                Query x->easy with curl_easy_getinfo.
 *   async_curl_transfer_free(x)  free the easy handle and the body (x->easy and
 *                                x->body become NULL); a no-op on a freed one.
 *   async_curl_collect           the default write function (CURLOPT_WRITEDATA
 *                                = x); call it from your own to keep the body.
 *
 * Limits and rules
 *   - x->max_body (0: none) caps the body: a larger one, with a known length
 *     or as it arrives, ends the transfer with CURLE_FILESIZE_EXCEEDED.
 *   - The adapter owns CURLOPT_PRIVATE (it maps an easy handle back to its
 *     transfer): keep your own pointer in x->user.
 *   - A timeout armed around ASYNC_CURL_PERFORM, or a cancellation of the
 *     task, removes the easy handle from the multi handle and frees it (and
 *     the body) before the coroutine moves on; x->code is then
 *     CURLE_OPERATION_TIMEDOUT or CURLE_ABORTED_BY_CALLBACK, x->error "timed
 *     out" or "cancelled".  libcurl calls nothing of a transfer once it has
 *     been removed.  (A transfer that had finished just before keeps its
 *     outcome and its handle; free it as usual.)
 *   - A real-time loop (not ASYNC_VIRTUAL): libcurl keeps real time.  One
 *     async_curl per loop and per thread, like the loop itself.
 *
 * How it works: the pattern for any callback-driven C library (c-ares,
 * libpq's async API, hiredis) that says "watch this fd for reading/writing"
 * and "call me back in N ms":
 *   - socket callback (CURLMOPT_SOCKETFUNCTION): per socket libcurl names, an
 *     async_io on its fd, detached (never closed: the fd is libcurl's) when
 *     libcurl says CURL_POLL_REMOVE, and one watcher task per direction it
 *     asks for.  A watcher loops: ASYNC_IO_WAIT, curl_multi_socket_action for
 *     that fd and direction, ASYNC_YIELD (one event per socket per pass of the
 *     loop, so one busy download cannot starve the other tasks), until
 *     libcurl no longer wants that direction.  ASYNC_IO_WAIT is level-
 *     triggered, so libcurl reading the socket itself loses no wake-up.
 *   - timer callback (CURLMOPT_TIMERFUNCTION): records the deadline and sets
 *     an event; a timer task waits on that event with an async.h timeout at
 *     the deadline, and calls curl_multi_socket_action(CURL_SOCKET_TIMEOUT).
 *     Neither callback calls libcurl: only the tasks do.
 *   - completions: after each curl_multi_socket_action, curl_multi_info_read
 *     finds finished transfers (CURLOPT_PRIVATE leads to the transfer), which
 *     are removed from the multi handle and their awaiting coroutine woken
 *     through an async_event.
 *   - idle: the watchers and the timer task exist only while a transfer is
 *     in flight, so async_run returns when your tasks are done even though
 *     libcurl keeps connections open for reuse (and may keep their sockets
 *     registered: it may call the socket callback at any time, even after
 *     the last transfer); whatever it still wants watched is watched again
 *     when the next transfer starts.
 *   - memory: a socket's state (its async_io and watcher tasks) is freed only
 *     when libcurl has removed the socket and both watchers have ended. */
#ifndef ASYNC_CURL_H
#define ASYNC_CURL_H

#ifndef ASYNC_VERSION
#include "async.h"
#endif
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(ASYNC__IO)
#error "async_curl.h needs async.h's I/O support (not ASYNC_NO_OS or ASYNC_NO_IO)"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct async_curl async_curl;
struct async_curl__sock;

/* A transfer: storage is yours (usually a member of a coroutine's state);
 * the frame comes first because ASYNC_CURL_PERFORM awaits it. */
typedef struct async_curl_transfer {
    async_frame frame;
    CURL *easy;                  /* set options between init and perform */
    CURLcode code;               /* the outcome, once performed */
    long status;                 /* HTTP status of the last response, or 0 */
    char *body;                  /* the body (NUL-terminated), or NULL */
    size_t body_len;
    size_t max_body;             /* 0: no limit */
    void *user;                  /* yours */
    char error[CURL_ERROR_SIZE]; /* why it failed, "" on success */
    /* private */
    async_curl *ac;
    size_t body_cap;
    int in_multi, too_big;
    async_event done;
} async_curl_transfer;

/* What one watcher task watches: one direction of one socket. */
struct async_curl__watch {
    async_frame frame;
    struct async_curl__sock *sock;
    int poll;                    /* CURL_POLL_IN or CURL_POLL_OUT */
    int running;                 /* the task is spawned and not yet done */
};

struct async_curl__sock {
    async_curl *ac;
    curl_socket_t fd;
    int want;                    /* CURL_POLL_IN / CURL_POLL_OUT bits */
    int open;                    /* io watches fd */
    int removed;                 /* libcurl said CURL_POLL_REMOVE */
    async_io io;
    async_task task[2];          /* watchers: [0] reading, [1] writing */
    struct async_curl__watch w[2];
    struct async_curl__sock *next, *prev;
};

struct async_curl__timer {
    async_frame frame;
    async_curl *ac;
    async_timeout tmo;
    int running;
};

struct async_curl {
    CURLM *multi;                /* yours for curl_multi_setopt (not the callbacks) */
    async_loop *loop;
    /* private */
    long active;                 /* easy handles in the multi handle */
    int watching;                /* active > 0: sockets watched, timer task up */
    uint64_t due;                /* libcurl's timer, loop clock; UINT64_MAX: none */
    async_event kick;            /* wakes the timer task */
    async_task timer_task;
    struct async_curl__timer timer;
    struct async_curl__sock *socks;   /* sockets libcurl has asked us to watch */
    struct async_curl__sock *retired; /* removed, waiting for their watchers */
};

static inline CURLMcode async_curl_init(async_curl *ac, async_loop *loop);
static inline int async_curl_cleanup(async_curl *ac);
static inline CURLcode async_curl_transfer_init(async_curl_transfer *x, async_curl *ac,
                                                const char *url);
static inline void async_curl_transfer_free(async_curl_transfer *x);
static inline size_t async_curl_collect(char *data, size_t size, size_t n, void *transfer);
static inline int async_curl_perform_fn(async_task *task, void *state);

/* ASYNC_CURL_PERFORM(x): await the transfer x (a child coroutine over x). */
#define ASYNC_CURL_PERFORM(x) ASYNC_AWAIT(async_curl_perform_fn, (x))

/* ==========================================================================
 * Implementation
 * ========================================================================== */

#define ASYNC_CURL__NEVER UINT64_MAX

static inline int async_curl__watch_fn(async_task *task, void *state);
static inline int async_curl__timer_fn(async_task *task, void *state);

/* Make a socket's watching match what libcurl wants: its fd handle open and a
 * watcher per wanted direction while transfers are in flight, none otherwise.
 * A watcher that is already running keeps the job (it re-checks after every
 * wake-up).  Returns 0, or -1 if the fd cannot be watched. */
static inline int async_curl__sync(struct async_curl__sock *k) {
    async_curl *ac = k->ac;
    int i;
    if (!ac->watching || !k->want || k->removed) {
        if (k->open) {
            k->open = 0;
            async_io_detach(&k->io); /* wakes the watchers; they end */
#ifdef _WIN32
            {   /* Windows cannot tell a socket's mode, so the detach made it
                 * blocking; libcurl's sockets are non-blocking, and libcurl
                 * may use this one again (a reused connection). */
                u_long on = 1;
                ioctlsocket(k->fd, FIONBIO, &on);
            }
#endif
        }
        return 0;
    }
    if (!k->open) {
        if (async_io_open(ac->loop, &k->io, (int)k->fd) != ASYNC_OK) return -1;
        k->open = 1;
    }
    for (i = 0; i < 2; i++) {
        struct async_curl__watch *w = &k->w[i];
        if (!(k->want & w->poll) || w->running) continue;
        w->running = 1;
        async_spawn_named(ac->loop, &k->task[i], async_curl__watch_fn, w,
                          i ? "async_curl: socket writable" : "async_curl: socket readable");
    }
    return 0;
}

/* Free the removed sockets whose watchers have ended. */
static inline void async_curl__reap(async_curl *ac) {
    struct async_curl__sock **p = &ac->retired, *k;
    while ((k = *p) != NULL) {
        if (k->w[0].running || k->w[1].running) {
            p = &k->next;
        } else {
            *p = k->next;
            free(k);
        }
    }
}

/* The first transfer in flight: watch the sockets again, start the timer. */
static inline void async_curl__wake(async_curl *ac) {
    struct async_curl__sock *k;
    ac->watching = 1;
    for (k = ac->socks; k; k = k->next) async_curl__sync(k);
    if (!ac->timer.running) {
        ac->timer.running = 1;
        ac->timer.ac = ac;
        async_spawn_named(ac->loop, &ac->timer_task, async_curl__timer_fn, &ac->timer,
                          "async_curl: timer");
    }
}

/* No transfer in flight: stop watching, so that the adapter's tasks end and
 * the loop can finish while libcurl keeps idle connections for reuse. */
static inline void async_curl__sleep(async_curl *ac) {
    struct async_curl__sock *k;
    ac->watching = 0;
    for (k = ac->socks; k; k = k->next) async_curl__sync(k);
    async_event_set(&ac->kick); /* the timer task sees active == 0 and ends */
}

/* A transfer leaves the multi handle (finished, or abandoned). */
static inline void async_curl__detach(async_curl_transfer *x) {
    async_curl *ac = x->ac;
    if (!x->in_multi) return;
    x->in_multi = 0;
    curl_multi_remove_handle(ac->multi, x->easy);
    if (--ac->active == 0) async_curl__sleep(ac);
}

/* Let libcurl act on an fd event or its timer, then finish what is done. */
static inline void async_curl__act(async_curl *ac, curl_socket_t fd, int events) {
    int running, left;
    CURLMsg *m;
    curl_multi_socket_action(ac->multi, fd, events, &running);
    while ((m = curl_multi_info_read(ac->multi, &left)) != NULL) {
        async_curl_transfer *x = NULL;
        char *priv = NULL;
        CURLcode code = m->data.result; /* m dies with the removal below */
        if (m->msg != CURLMSG_DONE) continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        x = (async_curl_transfer *)(void *)priv;
        if (!x || !x->in_multi) continue;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
        if (x->too_big && code == CURLE_WRITE_ERROR) code = CURLE_FILESIZE_EXCEEDED;
        if (code == CURLE_FILESIZE_EXCEEDED)
            snprintf(x->error, sizeof x->error, "body over the limit of %zu bytes", x->max_body);
        else if (code != CURLE_OK && !x->error[0])
            snprintf(x->error, sizeof x->error, "%s", curl_easy_strerror(code));
        x->code = code;
        async_curl__detach(x);
        async_event_set(&x->done);
    }
    async_curl__reap(ac);
}

/* CURLMOPT_SOCKETFUNCTION: libcurl says what to watch on a socket. */
static inline int async_curl__on_socket(CURL *easy, curl_socket_t fd, int what,
                                        void *userp, void *socketp) {
    async_curl *ac = (async_curl *)userp;
    struct async_curl__sock *k = (struct async_curl__sock *)socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) { /* libcurl is done with it (and forgets socketp) */
        if (!k) return 0;
        k->removed = 1;
        async_curl__sync(k);
        if (k->prev) k->prev->next = k->next; else ac->socks = k->next;
        if (k->next) k->next->prev = k->prev;
        k->next = ac->retired; /* freed once its watchers have ended */
        ac->retired = k;
        async_curl__reap(ac);
        return 0;
    }
    if (!k) {
        k = (struct async_curl__sock *)calloc(1, sizeof *k);
        if (!k) return -1;
        k->ac = ac;
        k->fd = fd;
        k->w[0].sock = k->w[1].sock = k;
        k->w[0].poll = CURL_POLL_IN;
        k->w[1].poll = CURL_POLL_OUT;
        k->next = ac->socks;
        if (ac->socks) ac->socks->prev = k;
        ac->socks = k;
        curl_multi_assign(ac->multi, fd, k);
    }
    k->want = what & CURL_POLL_INOUT;
    return async_curl__sync(k); /* -1 fails the transfers on this socket */
}

/* CURLMOPT_TIMERFUNCTION: libcurl wants to be called in `ms` (-1: never).
 * Only noted here; the timer task makes the call. */
static inline int async_curl__on_timer(CURLM *multi, long ms, void *userp) {
    async_curl *ac = (async_curl *)userp;
    (void)multi;
    ac->due = ms < 0 ? ASYNC_CURL__NEVER : async_now(ac->loop) + (uint64_t)ms * 1000000u;
    async_event_set(&ac->kick);
    return 0;
}

/* One direction of one socket: wait, let libcurl act, yield; again while
 * libcurl wants this direction and transfers are in flight. */
static inline int async_curl__watch_fn(async_task *task, void *state) {
    struct async_curl__watch *w = (struct async_curl__watch *)state;
    struct async_curl__sock *k = w->sock;
    ASYNC_BEGIN(task, w);
    while (k->open && (k->want & w->poll)) {
        ASYNC_IO_WAIT(&k->io, w->poll == CURL_POLL_IN ? ASYNC_READ : ASYNC_WRITE);
        /* not OK: the handle was detached (and maybe opened again since) */
        if (ASYNC_STATUS() != ASYNC_OK || !k->open || !(k->want & w->poll)) continue;
        async_curl__act(k->ac, k->fd, w->poll == CURL_POLL_IN ? CURL_CSELECT_IN : CURL_CSELECT_OUT);
        ASYNC_YIELD();
    }
    ASYNC_FINALLY;
    w->running = 0;
    ASYNC_END;
}

/* libcurl's timer, while transfers are in flight. */
static inline int async_curl__timer_fn(async_task *task, void *state) {
    struct async_curl__timer *s = (struct async_curl__timer *)state;
    async_curl *ac = s->ac;
    ASYNC_BEGIN(task, s);
    while (ac->active > 0) {
        async_event_clear(&ac->kick);
        if (ac->due <= ASYNC_NOW()) {
            ac->due = ASYNC_CURL__NEVER;
            async_curl__act(ac, CURL_SOCKET_TIMEOUT, 0);
            ASYNC_YIELD();
        } else if (ac->due == ASYNC_CURL__NEVER) {
            ASYNC_EVENT_WAIT(&ac->kick);
        } else {
            ASYNC_TIMEOUT_AT(&s->tmo, ac->due);
            ASYNC_EVENT_WAIT(&ac->kick); /* a new deadline, or this one came */
            ASYNC_TIMEOUT_DISARM(&s->tmo);
        }
    }
    ASYNC_FINALLY;
    s->running = 0;
    ASYNC_END;
}

static inline int async_curl_perform_fn(async_task *task, void *state) {
    async_curl_transfer *x = (async_curl_transfer *)state;
    async_curl *ac = x->ac;
    CURLMcode mc;
    ASYNC_BEGIN(task, x);
    x->code = CURLE_FAILED_INIT;
    if (!x->easy || !ac || x->in_multi) {
        snprintf(x->error, sizeof x->error, "%s", "transfer not initialised, or already running");
        ASYNC_RETURN(x->code);
    }
    x->error[0] = 0;
    x->status = 0;
    x->too_big = 0;
    if (x->max_body) curl_easy_setopt(x->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_body);
    async_event_init(&x->done);
    if (ac->active++ == 0) async_curl__wake(ac);
    x->in_multi = 1;
    mc = curl_multi_add_handle(ac->multi, x->easy);
    if (mc != CURLM_OK) {
        x->in_multi = 0;
        if (--ac->active == 0) async_curl__sleep(ac);
        snprintf(x->error, sizeof x->error, "%s", curl_multi_strerror(mc));
        ASYNC_RETURN(x->code);
    }
    ASYNC_EVENT_WAIT(&x->done); /* async_curl__act sets it */
    ASYNC_RETURN(x->code);
    ASYNC_FINALLY;
    if (x->in_multi) { /* cut short: a timeout or a cancellation */
        x->code = ASYNC_CANCELLED() ? CURLE_ABORTED_BY_CALLBACK : CURLE_OPERATION_TIMEDOUT;
        snprintf(x->error, sizeof x->error, "%s", ASYNC_CANCELLED() ? "cancelled" : "timed out");
        async_curl_transfer_free(x);
        x->frame.result = x->code;
    }
    ASYNC_END;
}

static inline size_t async_curl_collect(char *data, size_t size, size_t n, void *transfer) {
    async_curl_transfer *x = (async_curl_transfer *)transfer;
    size_t len = size * n; /* libcurl passes size 1 */
    if (x->max_body && len > x->max_body - x->body_len) {
        x->too_big = 1;
        return 0; /* short: libcurl ends the transfer with CURLE_WRITE_ERROR */
    }
    if (x->body_len + len + 1 > x->body_cap) {
        size_t cap = x->body_cap ? x->body_cap : 16384;
        char *b;
        while (cap < x->body_len + len + 1) cap *= 2;
        b = (char *)realloc(x->body, cap);
        if (!b) return 0;
        x->body = b;
        x->body_cap = cap;
    }
    memcpy(x->body + x->body_len, data, len);
    x->body_len += len;
    x->body[x->body_len] = 0;
    return len;
}

static inline CURLcode async_curl_transfer_init(async_curl_transfer *x, async_curl *ac,
                                                const char *url) {
    CURLcode rc = CURLE_OK;
    memset(x, 0, sizeof *x);
    x->ac = ac;
    x->code = CURLE_FAILED_INIT;
    x->easy = curl_easy_init();
    if (!x->easy) return CURLE_OUT_OF_MEMORY;
    if (url) rc = curl_easy_setopt(x->easy, CURLOPT_URL, url);
    if (rc == CURLE_OK) rc = curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (void *)x);
    if (rc == CURLE_OK) rc = curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->error);
    if (rc == CURLE_OK) rc = curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, async_curl_collect);
    if (rc == CURLE_OK) rc = curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, (void *)x);
    if (rc == CURLE_OK) rc = curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    if (rc != CURLE_OK) async_curl_transfer_free(x);
    return rc;
}

static inline void async_curl_transfer_free(async_curl_transfer *x) {
    if (x->in_multi) async_curl__detach(x);
    if (x->easy) curl_easy_cleanup(x->easy);
    x->easy = NULL;
    free(x->body);
    x->body = NULL;
    x->body_len = x->body_cap = 0;
}

static inline CURLMcode async_curl_init(async_curl *ac, async_loop *loop) {
    memset(ac, 0, sizeof *ac);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return CURLM_INTERNAL_ERROR;
    ac->multi = curl_multi_init();
    if (!ac->multi) {
        curl_global_cleanup();
        return CURLM_OUT_OF_MEMORY;
    }
    ac->loop = loop;
    ac->due = ASYNC_CURL__NEVER;
    async_event_init(&ac->kick);
    curl_multi_setopt(ac->multi, CURLMOPT_SOCKETFUNCTION, async_curl__on_socket);
    curl_multi_setopt(ac->multi, CURLMOPT_SOCKETDATA, (void *)ac);
    curl_multi_setopt(ac->multi, CURLMOPT_TIMERFUNCTION, async_curl__on_timer);
    curl_multi_setopt(ac->multi, CURLMOPT_TIMERDATA, (void *)ac);
    return CURLM_OK;
}

static inline int async_curl_cleanup(async_curl *ac) {
    struct async_curl__sock *k;
    if (!ac->multi) return ASYNC_OK;
    async_curl__reap(ac);
    if (ac->active > 0 || ac->timer.running || ac->retired) return ASYNC_EAGAIN;
    for (k = ac->socks; k; k = k->next)
        if (k->w[0].running || k->w[1].running) return ASYNC_EAGAIN;
    curl_multi_cleanup(ac->multi); /* closes cached connections: CURL_POLL_REMOVE */
    ac->multi = NULL;
    while ((k = ac->socks) != NULL) { /* any libcurl did not remove */
        ac->socks = k->next;
        free(k);
    }
    while ((k = ac->retired) != NULL) {
        ac->retired = k->next;
        free(k);
    }
    async_event_destroy(&ac->kick);
    curl_global_cleanup();
    return ASYNC_OK;
}

#ifdef __cplusplus
}
#endif
#endif /* ASYNC_CURL_H */
