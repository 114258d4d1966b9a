/* soak.c - 10,000,000 tasks through one loop, with flat memory.
 *
 *   build/soak [TASKS]          (make soak; default 10,000,000)
 *
 * A fixed pool of task slots is recycled: each worker, as it ends, puts its
 * slot number in a "free" queue; a spawner task waits on that queue and
 * spawns the next worker into the slot.  Workers take turns at the four
 * kinds of suspension (yield, sleep 0, a short sleep on the timer heap, a
 * put and get on a shared queue), so the ready queue, the timer heap and the
 * wait lists all churn.  Virtual time: the run takes seconds, not hours.
 *
 * Checked (exit 1 on failure): every task ran exactly once (count and sum of
 * ids), every queue item was received once (count and sum), and the
 * resident size at the end is within 1 MiB of the size at 10%. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "async.h"

enum { SLOTS = 10000, DATA_CAP = 64 };

struct worker {
    async_frame frame;
    uint64_t id;
    size_t slot;
    uint64_t got;
};

static struct {
    async_queue free_q, data_q;
    size_t free_buf[SLOTS];
    uint64_t data_buf[DATA_CAP];
    async_task tasks[SLOTS];
    struct worker w[SLOTS];
    uint64_t spawned, finished, id_sum, put_n, put_sum, got_n, got_sum;
} g;

static int worker(async_task *task, void *arg) {
    struct worker *s = (struct worker *)arg;
    ASYNC_BEGIN(task, s);
    if (s->id % 4 == 0) ASYNC_YIELD();
    if (s->id % 4 == 1) ASYNC_SLEEP_NS(0);
    if (s->id % 4 == 2) ASYNC_SLEEP_MS(1 + s->id % 3);
    if (s->id % 4 == 3) {
        ASYNC_QUEUE_PUT(&g.data_q, &s->id);
        g.put_n++;
        g.put_sum += s->id;
        ASYNC_QUEUE_GET(&g.data_q, &s->got);
        g.got_n++;
        g.got_sum += s->got;
    }
    ASYNC_FINALLY;
    g.finished++;
    g.id_sum += s->id;
    async_queue_try_put(&g.free_q, &s->slot); /* never full: one per slot */
    ASYNC_END;
}

struct spawner {
    async_frame frame;
    uint64_t total;
    size_t slot;
};

static long rss_kib(void) {
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

static long rss_at[3];

static void spawn_into(async_loop *loop, size_t slot) {
    struct worker *w = &g.w[slot];
    w->id = g.spawned++;
    w->slot = slot;
    async_spawn(loop, &g.tasks[slot], worker, w);
}

static int spawner(async_task *task, void *arg) {
    struct spawner *s = (struct spawner *)arg;
    ASYNC_BEGIN(task, s);
    for (s->slot = 0; s->slot < SLOTS && g.spawned < s->total; s->slot++)
        spawn_into(ASYNC_LOOP(), s->slot);
    while (g.spawned < s->total) {
        ASYNC_QUEUE_GET(&g.free_q, &s->slot);
        spawn_into(ASYNC_LOOP(), s->slot);
        if (g.spawned == s->total / 10) rss_at[0] = rss_kib();
        if (g.spawned == s->total / 2) rss_at[1] = rss_kib();
    }
    ASYNC_END;
}

int main(int argc, char **argv) {
    static struct spawner sp;
    static async_task sp_task;
    uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000u;
    struct timespec t0, t1;
    async_loop loop;
    double secs;
    int rc, ok;
    if (total < 10) total = 10;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_queue_init(&g.free_q, g.free_buf, SLOTS, sizeof g.free_buf[0]);
    async_queue_init(&g.data_q, g.data_buf, DATA_CAP, sizeof g.data_buf[0]);
    sp.total = total;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    async_spawn(&loop, &sp_task, spawner, &sp);
    rc = async_run(&loop);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rss_at[2] = rss_kib();
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("soak: %llu tasks through one loop in %.2f s (%.1f M tasks/s), %.3f s of virtual time\n",
           (unsigned long long)total, secs, (double)total / secs / 1e6, async_time(&loop));
    printf("soak: RSS at 10%% %ld KiB, at 50%% %ld KiB, at the end %ld KiB\n", rss_at[0],
           rss_at[1], rss_at[2]);
    ok = rc == ASYNC_OK && g.finished == total && g.id_sum == total * (total - 1) / 2 &&
         g.put_n == g.got_n && g.put_sum == g.got_sum && async_queue_size(&g.data_q) == 0 &&
         async_loop_pending(&loop) == 0;
    if (!ok)
        printf("soak: FAILED: rc %d, finished %llu of %llu, items put %llu got %llu\n", rc,
               (unsigned long long)g.finished, (unsigned long long)total,
               (unsigned long long)g.put_n, (unsigned long long)g.got_n);
    if (rss_at[0] > 0 && rss_at[2] > rss_at[0] + 1024) {
        printf("soak: FAILED: memory grew by %ld KiB\n", rss_at[2] - rss_at[0]);
        ok = 0;
    }
    if (ok) printf("soak: ok (every task ran once, every item received once, memory flat)\n");
    return ok ? 0 : 1;
}
