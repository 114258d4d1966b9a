/* soak.c - push 10,000,000 tasks through ONE loop and check that nothing is
 * lost, nothing runs twice and memory stays flat.
 *
 *   build/soak [TASKS]        (make soak; TASKS defaults to 10,000,000)
 *
 * Storage is a fixed pool of SLOTS task slots (an async_task and a worker
 * state each, static).  A supervisor task fills the pool, then waits on a
 * queue of free slot numbers: every worker hands its slot back in its
 * ASYNC_FINALLY section, and once the worker is done the supervisor spawns
 * the next worker into that storage ("a done task may be spawned again").
 *
 * Each worker runs one or two steps drawn from a hash of its id, so the
 * ready queue, the timers and the wait lists all churn:
 *
 *   yield, sleep 0 ns, sleep -1 ms (negative: a yield), a short sleep
 *   (1-4 ms), a tiny sleep (1-1000 ns), a put then a get on a shared queue
 *   (putters wait while it is full), a wait on an event nobody sets under a
 *   1 ms timeout (expires: a wait-list removal), and a 1 ms sleep under a 1 s
 *   timeout that never expires (its disarm removes a timer from the middle
 *   of the timers).
 *
 * One task in 1024 is a victim that sleeps "forever" (INT64_MAX ns); the
 * next worker spawned cancels it.
 *
 * Checked (exit 1 on any failure):
 *   - async_run returns ASYNC_OK with no task pending;
 *   - every task finished exactly once: count, sum, xor and sum of squares
 *     of the ids; victims ended ASYNC_CANCELLED, every other task
 *     ASYNC_DONE; every slot came back once per task that used it;
 *   - every queue item was received exactly once: count, sum and xor of
 *     the items put equal those received; the queue ends empty;
 *   - every wait ended with the status it should have (expired timeouts
 *     ASYNC_ETIMEDOUT, everything else ASYNC_OK);
 *   - resident memory (VmRSS) and its peak (VmHWM) when all tasks are done
 *     are within SLACK_KIB of their values when 10% were done.
 *
 * Virtual time: the loop jumps to each deadline, so the run takes about a
 * second, not hours. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "async.h"

enum {
    SLOTS = 10000,    /* task slots in the pool */
    DATA_CAP = 64,    /* capacity of the shared data queue */
    SLACK_KIB = 1024, /* allowed memory growth from 10% to 100% */
    VICTIM_EVERY = 1024
};

/* Step kinds, three bits each in a worker's plan. */
enum {
    OP_YIELD, OP_SLEEP0, OP_SLEEP_NEG, OP_SLEEP_MS, OP_SLEEP_NS, OP_PUT_GET,
    OP_TIMEOUT_EXPIRES, OP_TIMEOUT_DISARMED, OP_KINDS
};
static const char *const op_names[OP_KINDS] = {
    "yield", "sleep 0", "sleep <0", "sleep ms", "sleep ns", "put+get",
    "timeout hit", "timeout missed"};

struct worker {
    async_frame frame;
    async_timeout tmo;
    uint64_t id;
    uint64_t item;       /* what the get received */
    async_task *victim;  /* a forever sleeper to cancel at the end, or NULL */
    unsigned plan;       /* the steps, 3 bits each */
    unsigned nsteps, k;  /* how many, which one */
    unsigned slot;       /* where this worker lives in the pool */
    int is_victim;
};

/* Everything in static storage: the pool, the queues, the counters. */
static struct {
    async_task tasks[SLOTS];
    struct worker w[SLOTS];
    async_queue free_q, data_q;
    unsigned free_buf[SLOTS];
    uint64_t data_buf[DATA_CAP];
    async_event never; /* nobody sets it */
    uint64_t total, spawned;
    long victim_slot;  /* a victim waiting for its canceller, or -1 */
    /* exactly once */
    uint64_t finished, done_n, cancelled_n, victims, recycled;
    uint64_t id_sum, id_xor, id_sq;
    uint64_t put_n, put_sum, put_xor, got_n, got_sum, got_xor;
    uint64_t ops[OP_KINDS], timed_out, bad;
    /* memory samples at 10%, 50%, 100% of the tasks finished */
    uint64_t mark[3];
    long rss[3], hwm[3];
} g;

/* VmRSS and VmHWM from /proc/self/status, in KiB (-1 if unavailable). */
static void mem_kib(long *rss, long *hwm) {
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    *rss = *hwm = -1;
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) *rss = strtol(line + 6, NULL, 10);
        if (strncmp(line, "VmHWM:", 6) == 0) *hwm = strtol(line + 6, NULL, 10);
    }
    fclose(f);
}

static uint64_t mix64(uint64_t x) { /* a splitmix64 finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

#define STEP(s) (((s)->plan >> (3 * (s)->k)) & 7u)
#define EXPECT(cond) ((cond) ? (void)0 : (void)g.bad++)

static int worker(async_task *task, void *arg) {
    struct worker *s = (struct worker *)arg;
    ASYNC_BEGIN(task, s);
    if (s->is_victim) {
        ASYNC_SLEEP_NS(INT64_MAX); /* only a cancellation ends this */
        g.bad++;
    }
    for (s->k = 0; s->k < s->nsteps; s->k++) {
        g.ops[STEP(s)]++;
        if (STEP(s) == OP_YIELD) {
            ASYNC_YIELD();
        } else if (STEP(s) == OP_SLEEP0) {
            ASYNC_SLEEP_NS(0);
        } else if (STEP(s) == OP_SLEEP_NEG) {
            ASYNC_SLEEP_MS(-1);
        } else if (STEP(s) == OP_SLEEP_MS) {
            ASYNC_SLEEP_MS(1 + s->id % 4);
        } else if (STEP(s) == OP_SLEEP_NS) {
            ASYNC_SLEEP_NS(1 + (int64_t)(s->id % 1000));
        } else if (STEP(s) == OP_PUT_GET) {
            s->item = s->id * 2 + s->k; /* unique: k < 2 */
            ASYNC_QUEUE_PUT(&g.data_q, &s->item);
            EXPECT(ASYNC_STATUS() == ASYNC_OK);
            g.put_n++;
            g.put_sum += s->item;
            g.put_xor ^= s->item;
            ASYNC_QUEUE_GET(&g.data_q, &s->item); /* someone's item */
            EXPECT(ASYNC_STATUS() == ASYNC_OK);
            g.got_n++;
            g.got_sum += s->item;
            g.got_xor ^= s->item;
        } else if (STEP(s) == OP_TIMEOUT_EXPIRES) {
            ASYNC_TIMEOUT_ARM_NS(&s->tmo, 1000000);
            ASYNC_EVENT_WAIT(&g.never);
            EXPECT(ASYNC_STATUS() == ASYNC_ETIMEDOUT);
            ASYNC_TIMEOUT_DISARM(&s->tmo);
            EXPECT(async_timeout_expired(&s->tmo));
            g.timed_out++;
        } else {
            ASYNC_TIMEOUT_ARM_NS(&s->tmo, 1000000000);
            ASYNC_SLEEP_MS(1);
            EXPECT(ASYNC_STATUS() == ASYNC_OK);
            ASYNC_TIMEOUT_DISARM(&s->tmo);
            EXPECT(!async_timeout_expired(&s->tmo));
        }
        if (STEP(s) != OP_TIMEOUT_EXPIRES) EXPECT(ASYNC_STATUS() == ASYNC_OK);
    }
    if (s->victim) EXPECT(async_cancel(s->victim) == 1);
    ASYNC_FINALLY;
    EXPECT(!ASYNC_CANCELLED() == !s->is_victim);
    if (ASYNC_CANCELLED())
        g.cancelled_n++;
    else
        g.done_n++;
    g.finished++;
    g.id_sum += s->id;
    g.id_xor ^= s->id;
    g.id_sq += s->id * s->id;
    EXPECT(async_queue_try_put(&g.free_q, &s->slot) == ASYNC_OK);
    if (g.finished == g.mark[0]) mem_kib(&g.rss[0], &g.hwm[0]);
    if (g.finished == g.mark[1]) mem_kib(&g.rss[1], &g.hwm[1]);
    if (g.finished == g.mark[2]) mem_kib(&g.rss[2], &g.hwm[2]);
    ASYNC_END;
}

/* Spawn the next task into pool slot `slot`. */
static void spawn_into(async_loop *loop, unsigned slot) {
    struct worker *w = &g.w[slot];
    uint64_t id = g.spawned++, h = mix64(id);
    w->id = id;
    w->slot = slot;
    w->victim = NULL;
    w->is_victim = 0;
    w->nsteps = 1 + (unsigned)(h & 1);
    w->plan = (unsigned)(h >> 8) & 077u;
    if (g.victim_slot >= 0) { /* the previous task is a victim: cancel it */
        w->victim = &g.tasks[g.victim_slot];
        g.victim_slot = -1;
    } else if (id % VICTIM_EVERY == VICTIM_EVERY - 1 && id + 1 < g.total) {
        w->is_victim = 1;
        g.victim_slot = (long)slot;
        g.victims++;
    }
    if (async_spawn(loop, &g.tasks[slot], worker, w) != ASYNC_OK) g.bad++;
}

/* The task in `slot` is done: did it end the way it should? */
static void check_ended(unsigned slot) {
    int want = g.w[slot].is_victim ? ASYNC_CANCELLED : ASYNC_DONE;
    EXPECT(async_task_state(&g.tasks[slot]) == want);
}

struct supervisor {
    async_frame frame;
    unsigned slot;
};

static int supervisor(async_task *task, void *arg) {
    struct supervisor *s = (struct supervisor *)arg;
    ASYNC_BEGIN(task, s);
    for (s->slot = 0; s->slot < SLOTS && g.spawned < g.total; s->slot++)
        spawn_into(ASYNC_LOOP(), s->slot);
    while (g.spawned < g.total) {
        ASYNC_QUEUE_GET(&g.free_q, &s->slot); /* a worker handed it back */
        EXPECT(ASYNC_STATUS() == ASYNC_OK);
        check_ended(s->slot); /* it was done before we ran again */
        g.recycled++;
        spawn_into(ASYNC_LOOP(), s->slot);
    }
    ASYNC_END;
}

int main(int argc, char **argv) {
    static async_task sup_task;
    static struct supervisor sup;
    async_loop loop;
    struct timespec t0, t1;
    struct rusage ru;
    uint64_t n, i, used, want_sum = 0, want_xor = 0, want_sq = 0;
    long rss_end, hwm_end;
    double secs;
    char *end;
    int rc, ok, k;

    n = 10000000u;
    if (argc > 1) {
        n = strtoull(argv[1], &end, 10);
        if (*end || n == 0 || argv[1][0] == '-') {
            fprintf(stderr, "usage: %s [TASKS]  (a positive count; default 10000000)\n", argv[0]);
            return 2;
        }
    }
    g.total = n;
    g.victim_slot = -1;
    g.mark[0] = n / 10 ? n / 10 : 1;
    g.mark[1] = n / 2 ? n / 2 : 1;
    g.mark[2] = n;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_queue_init(&g.free_q, g.free_buf, SLOTS, sizeof g.free_buf[0]);
    async_queue_init(&g.data_q, g.data_buf, DATA_CAP, sizeof g.data_buf[0]);
    async_event_init(&g.never);
    mem_kib(&rss_end, &hwm_end); /* warm up: fopen's first allocations */

    clock_gettime(CLOCK_MONOTONIC, &t0);
    async_spawn(&loop, &sup_task, supervisor, &sup);
    rc = async_run(&loop);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

    /* the tasks still in the pool: each ended once, the right way */
    used = n; /* the slots the pool filled (not a ?:, which cppcheck 2.10 misreads) */
    if (used > SLOTS) used = SLOTS;
    for (i = 0; i < used; i++) check_ended((unsigned)i);
    /* expected id sums, computed the slow way so the formula is not trusted */
    for (i = 0; i < n; i++) {
        want_sum += i;
        want_xor ^= i;
        want_sq += i * i;
    }
    mem_kib(&rss_end, &hwm_end);
    getrusage(RUSAGE_SELF, &ru);

    printf("soak: %llu tasks through one loop (a pool of %d slots, %llu reuses) "
           "in %.2f s: %.1f M tasks/s, %.3f s of virtual time\n",
           (unsigned long long)n, SLOTS, (unsigned long long)g.recycled, secs,
           (double)n / secs / 1e6, async_time(&loop));
    printf("soak: steps:");
    for (k = 0; k < OP_KINDS; k++)
        printf(" %s %llu%s", op_names[k], (unsigned long long)g.ops[k], k + 1 < OP_KINDS ? "," : "");
    printf("; %llu cancelled forever-sleepers\n", (unsigned long long)g.cancelled_n);
    printf("soak: VmRSS at 10%% %ld KiB, 50%% %ld KiB, 100%% %ld KiB; "
           "VmHWM %ld / %ld / %ld KiB; ru_maxrss %ld KiB\n",
           g.rss[0], g.rss[1], g.rss[2], g.hwm[0], g.hwm[1], g.hwm[2], ru.ru_maxrss);

    ok = 1;
    if (rc != ASYNC_OK || async_loop_pending(&loop) != 0) {
        printf("soak: FAILED: async_run returned %d (%s) with %zu tasks pending\n", rc,
               async_strerror(rc), async_loop_pending(&loop));
        ok = 0;
    }
    if (g.finished != n || g.spawned != n || g.done_n + g.cancelled_n != n ||
        g.cancelled_n != g.victims || g.id_sum != want_sum || g.id_xor != want_xor ||
        g.id_sq != want_sq || g.recycled != n - used ||
        async_queue_size(&g.free_q) != used) {
        printf("soak: FAILED: %llu of %llu tasks finished (%llu done, %llu cancelled of "
               "%llu victims), id checks %s, %zu slots returned of %llu\n",
               (unsigned long long)g.finished, (unsigned long long)n,
               (unsigned long long)g.done_n, (unsigned long long)g.cancelled_n,
               (unsigned long long)g.victims,
               g.id_sum == want_sum && g.id_xor == want_xor && g.id_sq == want_sq ? "ok" : "WRONG",
               async_queue_size(&g.free_q), (unsigned long long)used);
        ok = 0;
    }
    if (g.put_n != g.got_n || g.put_sum != g.got_sum || g.put_xor != g.got_xor ||
        g.put_n != g.ops[OP_PUT_GET] || async_queue_size(&g.data_q) != 0) {
        printf("soak: FAILED: queue items put %llu, received %llu (sum/xor %s), %zu left\n",
               (unsigned long long)g.put_n, (unsigned long long)g.got_n,
               g.put_sum == g.got_sum && g.put_xor == g.got_xor ? "ok" : "WRONG",
               async_queue_size(&g.data_q));
        ok = 0;
    }
    if (g.timed_out != g.ops[OP_TIMEOUT_EXPIRES] || g.bad) {
        printf("soak: FAILED: %llu unexpected outcomes (%llu of %llu timeouts expired)\n",
               (unsigned long long)g.bad, (unsigned long long)g.timed_out,
               (unsigned long long)g.ops[OP_TIMEOUT_EXPIRES]);
        ok = 0;
    }
    if (g.rss[0] <= 0 || g.rss[2] <= 0) {
        printf("soak: FAILED: could not read /proc/self/status\n");
        ok = 0;
    } else if (g.rss[2] > g.rss[0] + SLACK_KIB || g.hwm[2] > g.hwm[0] + SLACK_KIB) {
        printf("soak: FAILED: memory grew from 10%% to 100%%: VmRSS +%ld KiB, "
               "VmHWM +%ld KiB (slack %d KiB)\n",
               g.rss[2] - g.rss[0], g.hwm[2] - g.hwm[0], SLACK_KIB);
        ok = 0;
    }
    if (ok)
        printf("soak: ok (every task ended once, every item received once, "
               "memory flat within %d KiB)\n", SLACK_KIB);
    return ok ? 0 : 1;
}
