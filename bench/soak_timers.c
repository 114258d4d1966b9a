/* soak_timers.c - arm 10,000,000 timers on ONE loop, cancel most of them at
 * random, and check that every one either fires once, at its deadline and
 * in order, or is cancelled, and that memory stays flat.
 *
 *   build/soak_timers [TIMERS]   (make soak; TIMERS defaults to 10,000,000)
 *
 * A pool of POOL loop callbacks (async_handle, static).  Each round arms
 * free handles with async_call_at at now + a delay drawn from every scale
 * the timer structure has (1 ns to 30 days; one in four shares its deadline
 * with the previous one, to make ties), cancels armed handles picked at
 * random, and lets the loop take one step (virtual time: it jumps to the
 * next deadline).  This is the server pattern at scale: most timers are
 * cancelled before they fire, some fire, some are far away.
 *
 * Checked (exit 1 on any failure):
 *   - a callback runs only for an armed, uncancelled handle, exactly at its
 *     deadline (virtual time is exact), never before an earlier deadline,
 *     and equal deadlines run in the order they were armed;
 *   - armed = fired + cancelled at the end, and nothing is pending;
 *   - resident memory when all is done is within SLACK_KIB of its value at
 *     10% of the timers armed. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "async.h"

enum { POOL = 100000, SLACK_KIB = 1024, PER_ROUND = 64 };

static struct {
    async_handle h[POOL];
    uint64_t deadline[POOL], armed_at[POOL]; /* armed_at: arm number + 1, 0 = free */
    uint64_t armed, fired, cancelled, bad;
    uint64_t last_deadline, last_arm;
    long rss10;
} g;

static async_loop loop;

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

static uint32_t xorshift(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void fired(async_loop *l, void *arg) {
    size_t i = (size_t)((async_handle *)arg - g.h);
    uint64_t now = async_now(l);
    if (!g.armed_at[i] || now != g.deadline[i] || now < g.last_deadline ||
        (now == g.last_deadline && g.armed_at[i] < g.last_arm)) {
        if (g.bad++ < 5)
            printf("soak_timers: WRONG: handle %zu fired at %llu ns, deadline %llu "
                   "(armed %s), after one due at %llu\n", i, (unsigned long long)now,
                   (unsigned long long)g.deadline[i], g.armed_at[i] ? "yes" : "no",
                   (unsigned long long)g.last_deadline);
    }
    g.last_deadline = now;
    g.last_arm = g.armed_at[i];
    g.armed_at[i] = 0;
    g.fired++;
}

int main(int argc, char **argv) {
    static const uint64_t scale[] = {1, 1000, 1000000, 10000000, 1000000000u,
                                     (uint64_t)60 * 1000000000u,
                                     (uint64_t)86400 * 1000000000u * 30};
    uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000u;
    uint32_t seed = 12345;
    uint64_t prev_deadline = 0;
    size_t i;
    long rss_end;
    int rc, ok = 1;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    while (g.armed < total) {
        int k;
        for (k = 0; k < PER_ROUND && g.armed < total; k++) {
            i = xorshift(&seed) % POOL;
            if (!g.armed_at[i]) { /* free: arm it */
                uint64_t d = xorshift(&seed) % 4 == 0 && prev_deadline > async_now(&loop)
                                 ? prev_deadline
                                 : async_now(&loop) + scale[xorshift(&seed) % 7] *
                                                          (1 + xorshift(&seed) % 1000);
                g.deadline[i] = prev_deadline = d;
                g.armed_at[i] = ++g.armed;
                async_call_at(&loop, &g.h[i], d, fired, &g.h[i]);
                if (g.armed == total / 10) g.rss10 = rss_kib();
            } else if (xorshift(&seed) % 8 != 0) { /* armed: most are cancelled */
                if (async_handle_cancel(&g.h[i]) != 1) g.bad++;
                g.armed_at[i] = 0;
                g.cancelled++;
            }
        }
        async_step(&loop);
    }
    rc = async_run(&loop); /* the rest fire, however far */
    rss_end = rss_kib();
    for (i = 0; i < POOL; i++)
        if (async_handle_pending(&g.h[i]) || g.armed_at[i]) g.bad++;
    printf("soak_timers: %llu timers armed, %llu fired, %llu cancelled; %.0f s of virtual "
           "time; VmRSS %ld KiB at 10%%, %ld KiB at the end\n",
           (unsigned long long)g.armed, (unsigned long long)g.fired,
           (unsigned long long)g.cancelled, async_time(&loop), g.rss10, rss_end);
    if (rc != ASYNC_OK || g.bad || g.fired + g.cancelled != g.armed) {
        printf("soak_timers: FAILED: async_run %d, %llu wrong outcomes, %llu unaccounted\n", rc,
               (unsigned long long)g.bad,
               (unsigned long long)(g.armed - g.fired - g.cancelled));
        ok = 0;
    }
    if (g.rss10 <= 0 || rss_end <= 0 || rss_end > g.rss10 + SLACK_KIB) {
        printf("soak_timers: FAILED: memory grew from %ld to %ld KiB (slack %d)\n", g.rss10,
               rss_end, SLACK_KIB);
        ok = 0;
    }
    if (ok) printf("soak_timers: ok (each timer fired once in order or was cancelled; memory flat)\n");
    return ok ? 0 : 1;
}
