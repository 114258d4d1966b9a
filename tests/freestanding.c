/* The coroutine-and-scheduler core with ASYNC_NO_OS: no clock, no stdio, no
 * I/O, nothing from the C library but <string.h>.  Built freestanding for a
 * Cortex-M0 (arm-none-eabi-gcc) and run hosted (gcc, tcc) by
 * tests/portability.sh, with both coroutine backends.
 *
 * Time comes from the program, as it would from a SysTick counter: the clock
 * hook reads a tick count and the idle hook stands for WFI until the timer
 * interrupt that a deadline would arm (here it moves the ticks there).  A
 * second loop uses ASYNC_VIRTUAL time.  Each scenario checks what happened;
 * main() returns the number of failed checks, so a hosted run proves the
 * behaviour and on a target a debugger can read `failures`. */
#ifndef ASYNC_NO_OS
#define ASYNC_NO_OS 1
#endif
#include "async.h"

#define MS 1000000u

volatile int failures;
static int checks;

static void check(int ok) {
    checks++;
    if (!ok) failures++;
}

/* ---- the board: a tick counter and a "wait for interrupt" ---------------- */

typedef struct {
    uint64_t ticks;   /* ns since reset */
    unsigned idles;   /* how often the loop had nothing to do */
} board;

static uint64_t board_clock(void *ctx) {
    return ((board *)ctx)->ticks;
}

static void board_idle(void *ctx, uint64_t deadline) {
    board *b = (board *)ctx;
    b->idles++;
    if (deadline > b->ticks) b->ticks = deadline; /* the timer interrupt */
}

/* ---- a producer and two consumers on a queue ----------------------------- */

typedef struct {
    async_frame frame;
    async_queue *q;
    int i;
} producer;

static int producer_fn(async_task *task, void *arg) {
    producer *s = (producer *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 1; s->i <= 6; s->i++) {
        ASYNC_QUEUE_PUT(s->q, &s->i);   /* waits while the queue is full */
        ASYNC_SLEEP_MS(1);
    }
    async_queue_close(s->q);
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_queue *q;
    int item, sum, got;
} consumer;

static int consumer_fn(async_task *task, void *arg) {
    consumer *s = (consumer *)arg;
    ASYNC_BEGIN(task, s);
    for (;;) {
        ASYNC_QUEUE_GET(s->q, &s->item);
        if (ASYNC_STATUS() != ASYNC_OK) break;   /* ASYNC_ECLOSED */
        s->sum += s->item;
        s->got++;
        ASYNC_SLEEP_MS(3);                       /* slower than the producer */
    }
    ASYNC_RETURN(s->got);
    ASYNC_END;
}

/* ---- an event, a semaphore, a child coroutine ---------------------------- */

typedef struct {
    async_frame frame;
    int64_t ns;
} nap;

static int nap_fn(async_task *task, void *arg) {
    nap *s = (nap *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_NS(s->ns);
    ASYNC_RETURN(s->ns / (int64_t)MS);
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_event *go;
    async_semaphore *sem;
    int *inside, *most;
    nap child;
    uint64_t woke;
} worker;

static int worker_fn(async_task *task, void *arg) {
    worker *s = (worker *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_EVENT_WAIT(s->go);
    s->woke = ASYNC_NOW();
    ASYNC_SEM_ACQUIRE(s->sem);
    if (++*s->inside > *s->most) *s->most = *s->inside;
    s->child.ns = 2 * (int64_t)MS;
    ASYNC_AWAIT(nap_fn, &s->child);
    --*s->inside;
    async_semaphore_release(s->sem);
    ASYNC_RETURN(ASYNC_RESULT(&s->child));
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_event *go;
} starter;

static int starter_fn(async_task *task, void *arg) {
    starter *s = (starter *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_MS(5);
    async_event_set(s->go);
    ASYNC_END;
}

/* ---- timeouts and cancellation ------------------------------------------- */

typedef struct {
    async_frame frame;
    async_queue *q;       /* nobody ever puts into it */
    async_timeout tmo;
    nap child;
    int item, status1, status2, finally_ran;
    uint64_t t1, t2;
} waiter;

static int waiter_fn(async_task *task, void *arg) {
    waiter *s = (waiter *)arg;
    ASYNC_BEGIN(task, s);
    /* A get that nothing satisfies ends by the timeout after 4 ms. */
    ASYNC_TIMEOUT_ARM_NS(&s->tmo, 4 * (int64_t)MS);
    ASYNC_QUEUE_GET(s->q, &s->item);
    s->status1 = ASYNC_STATUS();
    ASYNC_TIMEOUT_DISARM(&s->tmo);
    s->t1 = ASYNC_NOW();
    /* A child that would nap 50 ms is cut short at 3 ms. */
    s->child.ns = 50 * (int64_t)MS;
    ASYNC_TIMEOUT_ARM_NS(&s->tmo, 3 * (int64_t)MS);
    ASYNC_AWAIT(nap_fn, &s->child);
    s->status2 = ASYNC_STATUS();
    ASYNC_TIMEOUT_DISARM(&s->tmo);
    s->t2 = ASYNC_NOW();
    /* Then wait for ever: the supervisor cancels this task. */
    ASYNC_QUEUE_GET(s->q, &s->item);
    ASYNC_FINALLY;
    s->finally_ran = ASYNC_CANCELLED();
    ASYNC_END;
}

typedef struct {
    async_frame frame;
    async_task *victim;
    int cancelled, awaited_status;
} supervisor;

static int supervisor_fn(async_task *task, void *arg) {
    supervisor *s = (supervisor *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_MS(20);
    s->cancelled = async_cancel(s->victim);
    ASYNC_AWAIT_TASK(s->victim);
    s->awaited_status = ASYNC_STATUS();
    ASYNC_END;
}

/* ---- one scenario on one loop -------------------------------------------- */

static struct {
    async_task tasks[10];
    async_queue q, never;
    int qbuf[2], nbuf[1];
    async_event go;
    async_semaphore sem;
    producer prod;
    consumer cons[2];
    worker workers[3];
    starter start;
    waiter wait;
    supervisor sup;
    int inside, most;
} w;

static void scenario(async_loop *loop) {
    int i;
    memset(&w, 0, sizeof w);
    check(async_queue_init(&w.q, w.qbuf, 2, sizeof(int)) == ASYNC_OK);
    check(async_queue_init(&w.never, w.nbuf, 1, sizeof(int)) == ASYNC_OK);
    async_event_init(&w.go);
    check(async_semaphore_init(&w.sem, 2) == ASYNC_OK);

    w.prod.q = &w.q;
    async_spawn(loop, &w.tasks[0], producer_fn, &w.prod);
    for (i = 0; i < 2; i++) {
        w.cons[i].q = &w.q;
        async_spawn(loop, &w.tasks[1 + i], consumer_fn, &w.cons[i]);
    }
    for (i = 0; i < 3; i++) {
        w.workers[i].go = &w.go;
        w.workers[i].sem = &w.sem;
        w.workers[i].inside = &w.inside;
        w.workers[i].most = &w.most;
        async_spawn(loop, &w.tasks[3 + i], worker_fn, &w.workers[i]);
    }
    w.start.go = &w.go;
    async_spawn(loop, &w.tasks[6], starter_fn, &w.start);
    w.wait.q = &w.never;
    async_spawn(loop, &w.tasks[7], waiter_fn, &w.wait);
    w.sup.victim = &w.tasks[7];
    async_spawn(loop, &w.tasks[8], supervisor_fn, &w.sup);

    check(async_loop_pending(loop) == 9);
    check(async_run(loop) == ASYNC_OK);
    check(async_loop_pending(loop) == 0);

    /* queue: every item once, shared by the consumers, then closed */
    check(w.cons[0].sum + w.cons[1].sum == 21);
    check(w.cons[0].got + w.cons[1].got == 6);
    check(w.cons[0].got > 0 && w.cons[1].got > 0);
    check(async_task_result(&w.tasks[1]) == w.cons[0].got);
    check(async_queue_size(&w.q) == 0);
    /* event and semaphore: all woke at 5 ms, at most two inside at once,
     * the third ran after the first two: done at 5 + 2 + 2 ms */
    for (i = 0; i < 3; i++) {
        check(w.workers[i].woke == 5 * MS);
        check(async_task_state(&w.tasks[3 + i]) == ASYNC_DONE);
        check(async_task_result(&w.tasks[3 + i]) == 2);
    }
    check(w.most == 2);
    /* timeouts: the get ended at 4 ms, the child 3 ms later */
    check(w.wait.status1 == ASYNC_ETIMEDOUT);
    check(w.wait.t1 == 4 * MS);
    check(w.wait.status2 == ASYNC_ETIMEDOUT);
    check(w.wait.t2 == 7 * MS);
    check(async_queue_size(&w.never) == 0);
    /* cancellation: unwound through its finally, seen by the awaiter */
    check(w.sup.cancelled == 1);
    check(w.wait.finally_ran == 1);
    check(async_task_state(&w.tasks[7]) == ASYNC_CANCELLED);
    check(w.sup.awaited_status == ASYNC_ECANCELED);
    check(async_task_state(&w.tasks[8]) == ASYNC_DONE);
    /* the last thing to happen: the supervisor at 20 ms */
    check(async_now(loop) >= 20 * MS);

    async_queue_destroy(&w.q);
    async_queue_destroy(&w.never);
    async_event_destroy(&w.go);
    async_semaphore_destroy(&w.sem);
}

/* ---- a superloop: the program steps the loop itself ---------------------- */

typedef struct {
    async_frame frame;
    uint64_t at[3];
    int i;
} blinker;

static int blinker_fn(async_task *task, void *arg) {
    blinker *s = (blinker *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < 3; s->i++) {
        ASYNC_SLEEP_MS(5);
        s->at[s->i] = ASYNC_NOW(); /* toggle an LED here */
    }
    ASYNC_END;
}

/* async_step when there is work, "WFI" until async_next_deadline when not:
 * the timer interrupt moves the tick counter on. */
static void superloop(async_loop *loop, board *b) {
    static async_task t;
    static blinker s;
    unsigned steps = 0;
    b->ticks = 0;
    check(async_loop_init(loop, 0) == ASYNC_OK);
    check(async_loop_set_clock(loop, board_clock, board_idle, b) == ASYNC_OK);
    check(async_spawn(loop, &t, blinker_fn, &s) == ASYNC_OK);
    check(async_next_deadline(loop) == 0); /* ready now */
    while (async_step(loop) > 0 && steps < 100) {
        uint64_t d = async_next_deadline(loop);
        steps++;
        if (d != 0 && d != UINT64_MAX && d > b->ticks) b->ticks = d;
    }
    check(async_task_state(&t) == ASYNC_DONE);
    check(s.at[0] == 5000000u && s.at[1] == 10000000u && s.at[2] == 15000000u);
    check(steps == 3); /* one step per wake-up: nothing wasted */
    check(async_next_deadline(loop) == UINT64_MAX);
}

int main(void) {
    static async_loop loop;
    static board b;

    superloop(&loop, &b);

    /* Without a clock a real-time loop cannot run. */
    check(async_loop_init(&loop, 0) == ASYNC_OK);
    check(async_run(&loop) == ASYNC_ENOCLOCK);
    check(async_loop_set_clock(&loop, board_clock, NULL, &b) == ASYNC_EINVAL);

    /* The board's clock, starting at an arbitrary tick. */
    b.ticks = 1000;
    check(async_loop_set_clock(&loop, board_clock, board_idle, &b) == ASYNC_OK);
    b.ticks = 0;
    scenario(&loop);
    check(b.idles > 0);
    check(b.ticks == async_now(&loop));
    check(async_strerror(ASYNC_ETIMEDOUT) != NULL);

    /* Virtual time: the same scenario, no hooks at all. */
    check(async_loop_init(&loop, ASYNC_VIRTUAL) == ASYNC_OK);
    scenario(&loop);

    check(checks > 60);
    return failures;
}
