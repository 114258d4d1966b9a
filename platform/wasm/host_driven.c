/* host_driven.c - an async.h loop that never blocks: another event loop (the
 * "host": node's or a browser's, GLib's, a game's main loop) owns the thread
 * and calls in.  Three calls make the whole interface:
 *
 *   async_step(&loop)           one pass (due timers, ready tasks); returns
 *                               how many tasks are still pending
 *   async_next_deadline(&loop)  when a pass is next needed: 0 = now (a task
 *                               is ready), UINT64_MAX = only when the host
 *                               hands in something, else a time on
 *                               async_now's clock
 *   async_now(&loop)            that clock
 *
 * The host runs a pass, asks for the deadline, arms a one-shot timer of its
 * own for it (setTimeout in JavaScript), and returns to its own loop.  When
 * it hands the loop something from outside (here: hd_post puts an item on a
 * queue), it runs a pass soon after, since a task may have become ready.
 *
 * Built with emscripten, this file has no main(): platform/wasm/host_driven.js
 * calls hd_start, hd_step, hd_delay_ms and hd_post from node's event loop.
 * Built natively, main() below is the host: it waits in poll() on the
 * loop's backend fd with the same timeout.  Both print the same lines.
 *
 * The scenario (times in seconds from the start):
 *   a ticker        ticks at 0.3, 0.6, 0.9, 1.2
 *   a producer      puts item 1 at 0.2 and item 2 at 0.7, closes the queue
 *                   at 1.4
 *   the host        puts item 10 at 0.5 (hd_post)
 *   a consumer      gets items, each get under a 0.4 s timeout: item 1 at
 *                   0.2, item 10 at 0.5, item 2 at 0.7, a timeout at 1.1,
 *                   then the closed queue at 1.4
 * No two things are due within 0.1 s of each other, so the printed times,
 * rounded to 0.1 s, are the same on every run that is less than 50 ms late. */
#include <stdio.h>
#include "async.h"

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#define HD_EXPORT EMSCRIPTEN_KEEPALIVE
#else
#define HD_EXPORT
#endif

#define HD_MS 1000000 /* ns */

static async_loop hd_loop;
static uint64_t hd_t0;
static int hd_ticks, hd_items, hd_timeouts;

static void hd_say(const char *who, const char *what, int n) {
    /* tenths of a second since the start, rounded */
    uint64_t tenths = (async_now(&hd_loop) - hd_t0 + 50 * HD_MS) / (100 * HD_MS);
    printf("%2u.%u  %-8s %s", (unsigned)(tenths / 10), (unsigned)(tenths % 10), who, what);
    if (n >= 0) printf(" %d", n);
    printf("\n");
    fflush(stdout);
}

/* ---- the tasks -------------------------------------------------------------- */

struct ticker {
    async_frame frame;
    int i;
};

static int ticker_fn(async_task *task, void *arg) {
    struct ticker *s = (struct ticker *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 1; s->i <= 4; s->i++) {
        ASYNC_SLEEP_MS(300);
        hd_ticks++;
        hd_say("ticker", "tick", s->i);
    }
    ASYNC_END;
}

struct producer {
    async_frame frame;
    async_queue *q;
    int item;
};

static int producer_fn(async_task *task, void *arg) {
    struct producer *s = (struct producer *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_MS(200);
    s->item = 1;
    ASYNC_QUEUE_PUT(s->q, &s->item);
    hd_say("producer", "put", s->item);
    ASYNC_SLEEP_MS(500);
    s->item = 2;
    ASYNC_QUEUE_PUT(s->q, &s->item);
    hd_say("producer", "put", s->item);
    ASYNC_SLEEP_MS(700);
    async_queue_close(s->q);
    hd_say("producer", "closed the queue", -1);
    ASYNC_END;
}

struct consumer {
    async_frame frame;
    async_queue *q;
    async_timeout tmo;
    int item, status;
};

static int consumer_fn(async_task *task, void *arg) {
    struct consumer *s = (struct consumer *)arg;
    ASYNC_BEGIN(task, s);
    for (;;) {
        ASYNC_TIMEOUT_ARM_NS(&s->tmo, 400 * (int64_t)HD_MS);
        ASYNC_QUEUE_GET(s->q, &s->item);
        s->status = ASYNC_STATUS();
        ASYNC_TIMEOUT_DISARM(&s->tmo);
        if (s->status == ASYNC_ECLOSED) break;
        if (s->status == ASYNC_ETIMEDOUT) {
            hd_timeouts++;
            hd_say("consumer", "timed out", -1);
        } else {
            hd_items++;
            hd_say("consumer", "got", s->item);
        }
    }
    hd_say("consumer", "saw the queue closed", -1);
    ASYNC_END;
}

static async_queue hd_queue;
static int hd_buf[4];
static async_task hd_tasks[3];
static struct ticker hd_ticker;
static struct producer hd_producer;
static struct consumer hd_consumer;

/* ---- what the host calls ------------------------------------------------------ */

/* Set up the loop (real time) and spawn the tasks. */
HD_EXPORT int hd_start(void) {
    if (async_loop_init(&hd_loop, 0) != ASYNC_OK) return -1;
    async_queue_init(&hd_queue, hd_buf, 4, sizeof hd_buf[0]);
    hd_producer.q = hd_consumer.q = &hd_queue;
    async_spawn(&hd_loop, &hd_tasks[0], ticker_fn, &hd_ticker);
    async_spawn(&hd_loop, &hd_tasks[1], producer_fn, &hd_producer);
    async_spawn(&hd_loop, &hd_tasks[2], consumer_fn, &hd_consumer);
    hd_t0 = async_now(&hd_loop);
    return 0;
}

/* One pass; the number of tasks still pending (0: all done). */
HD_EXPORT int hd_step(void) {
    return async_step(&hd_loop);
}

/* Milliseconds until the next pass is due: 0 now, -1 not until the host
 * hands something in.  Rounded up, so the host's timer never fires before
 * the deadline (a pass that finds nothing due does no harm either). */
HD_EXPORT double hd_delay_ms(void) {
    uint64_t deadline = async_next_deadline(&hd_loop), now;
    if (deadline == UINT64_MAX) return -1;
    now = async_now(&hd_loop);
    if (deadline <= now) return 0;
    return (double)((deadline - now + HD_MS - 1) / HD_MS);
}

/* Something from the host: an item for the consumer.  Not a wait, so it
 * works from plain code; the host should run a pass after it. */
HD_EXPORT int hd_post(int item) {
    int rc = async_queue_try_put(&hd_queue, &item);
    hd_say("host", rc == ASYNC_OK ? "posted" : "could not post", item);
    return rc;
}

/* The summary line; 0 if everything happened as the scenario says. */
HD_EXPORT int hd_finish(void) {
    int ok = hd_ticks == 4 && hd_items == 3 && hd_timeouts == 1 &&
             async_loop_pending(&hd_loop) == 0;
    printf("done: %d ticks, %d items, %d timeout: %s\n", hd_ticks, hd_items, hd_timeouts,
           ok ? "as expected" : "WRONG");
    fflush(stdout);
    async_queue_destroy(&hd_queue);
    async_loop_close(&hd_loop);
    return ok ? 0 : 1;
}

#ifndef __EMSCRIPTEN__
/* The native host: a poll() loop, as GLib or libuv would run, waiting on the
 * loop's backend fd with the loop's next deadline as the timeout, and with a
 * "host event" of its own at 0.5 s. */
#include <poll.h>

int main(void) {
    struct pollfd p;
    int posted = 0;
    if (hd_start() != 0) return 2;
    p.fd = async_backend_fd(&hd_loop);
    p.events = POLLIN;
    while (hd_step() > 0) {
        double ms = hd_delay_ms();
        uint64_t host_at = hd_t0 + 500 * (uint64_t)HD_MS, now = async_now(&hd_loop);
        if (!posted) { /* the host's own timer comes first? */
            double host_ms = host_at > now ? (double)((host_at - now + HD_MS - 1) / HD_MS) : 0;
            if (ms < 0 || host_ms < ms) ms = host_ms;
        }
        if (ms != 0) poll(&p, 1, ms < 0 ? -1 : (int)ms);
        if (!posted && async_now(&hd_loop) >= host_at) {
            hd_post(10);
            posted = 1;
        }
    }
    return hd_finish();
}
#endif
