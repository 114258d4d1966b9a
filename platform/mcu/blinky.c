/* blinky.c - async.h on a bare Cortex-M3 (QEMU's mps2-an385): tasks that
 * blink LEDs, sample a "sensor" and log through a queue, on a loop whose
 * clock is the SysTick count and whose idle wait is WFI.  No OS, no libc
 * beyond memcpy/memset, no allocation; output through semihosting.
 *
 * The program checks itself (every toggle, every sample, the times) and
 * ends with "result: ok" and exit status 0, or "result: FAILED" and 1.
 * Lines starting with "info:" carry figures (sizes, stack, idle counts)
 * that platform/mcu/run.sh reports but does not compare. */
#ifndef ASYNC_NO_OS
#define ASYNC_NO_OS 1
#endif
#include "async.h"
#include "board.h"

#define MS 1000000 /* ns */

/* ---- output without stdio ------------------------------------------------------ */

static char out_buf[128];
static unsigned out_len;

static void out_str(const char *s) {
    while (*s && out_len < sizeof out_buf - 1) out_buf[out_len++] = *s++;
}

static void out_num(unsigned long v, int width) {
    char d[12];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (width-- > n) out_str(" ");
    while (n) {
        char c[2] = {d[--n], 0};
        out_str(c);
    }
}

static void out_end(void) {
    out_buf[out_len++] = '\n';
    out_buf[out_len] = 0;
    board_puts(out_buf);
    out_len = 0;
}

static async_loop loop;
static uint64_t t_start; /* the loop's clock when it started: the schedules' origin */

/* "  1350 ms  who what": the loop's clock since t_start */
static void say(const char *who, const char *what, long n) {
    out_num((unsigned long)((async_now(&loop) - t_start) / MS), 6);
    out_str(" ms  ");
    out_str(who);
    out_str(" ");
    out_str(what);
    if (n >= 0) {
        out_str(" ");
        out_num((unsigned long)n, 0);
    }
    out_end();
}

/* ---- the loop's clock and idle wait: SysTick and WFI ----------------------------- */

static uint32_t wfi_sleeps, idle_calls;

static uint64_t clock_fn(void *ctx) {
    (void)ctx;
    return board_now_ns();
}

/* Called when no task is ready, with the earliest deadline.  One WFI: the
 * next SysTick (1 ms at most) wakes it and the loop looks again. */
static void idle_fn(void *ctx, uint64_t deadline) {
    (void)ctx;
    idle_calls++;
    wfi_sleeps += (uint32_t)board_sleep_until(deadline);
}

/* ---- the tasks ----------------------------------------------------------------------- */

static unsigned leds;
static int failures;
static uint64_t late_most; /* the latest wake-up after its deadline, ns */

static void check(int ok, const char *what) {
    if (!ok) {
        failures++;
        out_str("check failed: ");
        out_str(what);
        out_end();
    }
}

/* A wake-up at `deadline`: never early; how late is recorded. */
static void woke(uint64_t now, uint64_t deadline) {
    check(now >= deadline, "no task woke before its deadline");
    if (now >= deadline && now - deadline > late_most) late_most = now - deadline;
}

struct blinker {
    async_frame frame;
    const char *name;
    unsigned bit;
    int period_ms, toggles, i;
    uint64_t next;
};

/* Toggles its LED every period, `toggles` times, on a fixed schedule from
 * t_start (each sleep is until an absolute time: lateness does not add up). */
static int blinker_fn(async_task *task, void *arg) {
    struct blinker *s = (struct blinker *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 1; s->i <= s->toggles; s->i++) {
        s->next = t_start + (uint64_t)s->i * (uint64_t)s->period_ms * MS;
        ASYNC_SLEEP_UNTIL(s->next);
        woke(ASYNC_NOW(), s->next);
        leds ^= s->bit;
        board_leds(leds);
        say(s->name, (leds & s->bit) ? "on" : "off", -1);
    }
    ASYNC_RETURN(s->i - 1);
    ASYNC_END;
}

struct sampler {
    async_frame frame;
    async_queue *q;
    int i, value;
    uint64_t next;
};

/* Every 450 ms (from t_start) a reading, here a made-up one, goes on the
 * queue; after six, the queue is closed. */
static int sampler_fn(async_task *task, void *arg) {
    struct sampler *s = (struct sampler *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 1; s->i <= 6; s->i++) {
        s->next = t_start + (uint64_t)s->i * 450u * MS;
        ASYNC_SLEEP_UNTIL(s->next);
        woke(ASYNC_NOW(), s->next);
        s->value = 20 + (s->i * 7) % 5; /* "degrees" */
        ASYNC_QUEUE_PUT(s->q, &s->value);
        say("sampler", "put", s->value);
    }
    async_queue_close(s->q);
    ASYNC_END;
}

struct logger {
    async_frame frame;
    async_queue *q;
    int value, n, sum;
};

/* Waits on the queue (no polling: the task sleeps until a put wakes it) and
 * keeps a running sum, until the queue is closed and drained. */
static int logger_fn(async_task *task, void *arg) {
    struct logger *s = (struct logger *)arg;
    ASYNC_BEGIN(task, s);
    for (;;) {
        ASYNC_QUEUE_GET(s->q, &s->value);
        if (ASYNC_STATUS() == ASYNC_ECLOSED) break;
        s->n++;
        s->sum += s->value;
        say("logger", "got", s->value);
    }
    say("logger", "queue closed, samples", s->n);
    ASYNC_RETURN(s->sum);
    ASYNC_END;
}

/* ---- main --------------------------------------------------------------------------- */

static async_task tasks[4];
static struct blinker blink0 = {{0}, "led0", 1u, 500, 6, 0, 0};
static struct blinker blink1 = {{0}, "led1", 2u, 700, 4, 0, 0};
static struct sampler sampler;
static struct logger logger;
static async_queue queue;
static int queue_buf[2];

static void info_size(const char *what, unsigned long n) {
    out_str("info: sizeof(");
    out_str(what);
    out_str(") = ");
    out_num(n, 0);
    out_end();
}

int main(void) {
    int rc;
    board_puts("async.h on mps2-an385 (Cortex-M3), SysTick 1 kHz, idle in WFI\n");
    board_puts("info: async.h " ASYNC_VERSION "\n");
#if defined(ASYNC_LABELS) && ASYNC_LABELS
    board_puts("info: backend labels\n");
#else
    board_puts("info: backend switch\n");
#endif
    info_size("async_task", sizeof(async_task));
    info_size("async_frame", sizeof(async_frame));
    info_size("async_loop", sizeof(async_loop));
    info_size("async_queue", sizeof(async_queue));
    info_size("struct blinker", sizeof(struct blinker));
    info_size("struct sampler", sizeof(struct sampler));
    info_size("struct logger", sizeof(struct logger));

    board_start_ticks();
    check(async_loop_init(&loop, 0) == ASYNC_OK, "loop init");
    check(async_loop_set_clock(&loop, clock_fn, idle_fn, NULL) == ASYNC_OK, "set clock");
    check(async_queue_init(&queue, queue_buf, 2, sizeof queue_buf[0]) == ASYNC_OK, "queue init");
    sampler.q = logger.q = &queue;
    async_spawn(&loop, &tasks[0], blinker_fn, &blink0);
    async_spawn(&loop, &tasks[1], blinker_fn, &blink1);
    async_spawn(&loop, &tasks[2], sampler_fn, &sampler);
    async_spawn(&loop, &tasks[3], logger_fn, &logger);
    t_start = async_now(&loop);
    say("main", "started 4 tasks", -1);

    rc = async_run(&loop);

    check(rc == ASYNC_OK, "async_run returned ASYNC_OK");
    check(async_task_result(&tasks[0]) == 6 && async_task_result(&tasks[1]) == 4,
          "every toggle happened");
    check(leds == 0, "both LEDs ended off");
    check(async_task_result(&tasks[3]) == 22 + 24 + 21 + 23 + 20 + 22, "the logger got every sample");
    check(async_now(&loop) >= t_start + 3000u * MS, "the last toggle was at 3000 ms");
    check(wfi_sleeps > board_ticks() * 9 / 10, "the CPU slept in WFI between ticks");
    say("main", "all tasks done", -1);

    out_str("info: SysTick interrupts ");
    out_num(board_ticks(), 0);
    out_str(", idle calls ");
    out_num(idle_calls, 0);
    out_str(", WFI sleeps ");
    out_num(wfi_sleeps, 0);
    out_end();
    out_str("info: latest wake-up ");
    out_num((unsigned long)(late_most / 1000), 0);
    out_str(" us after its deadline");
    out_end();
    out_str("info: stack high-water mark ");
    out_num(board_stack_used(), 0);
    out_str(" bytes");
    out_end();
    board_puts(failures ? "result: FAILED\n" : "result: ok\n");
    return failures;
}
