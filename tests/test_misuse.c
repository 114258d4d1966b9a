/* Programmer misuse ends in an assertion (abort) whose message names the
 * mistake.  Each case runs in its own forked test expecting SIGABRT. */
#include "helpers.h"

static async_loop loop;

typedef struct {
    async_frame frame;
    async_task *other;
} misuse_st;

static int idle_fn(async_task *task, void *arg) {
    misuse_st *s = (misuse_st *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_SLEEP_MS(10);
    ASYNC_END;
}

static int await_other_fn(async_task *task, void *arg) {
    misuse_st *s = (misuse_st *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_AWAIT_TASK(s->other);
    ASYNC_END;
}

static int rerun_fn(async_task *task, void *arg) {
    misuse_st *s = (misuse_st *)arg;
    ASYNC_BEGIN(task, s);
    async_run(ASYNC_LOOP()); /* the mistake */
    ASYNC_END;
}

Test(misuse, spawning_a_pending_task_again, .signal = SIGABRT) {
    static async_task t;
    static misuse_st s1, s2;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn(&loop, &t, idle_fn, &s1);
    async_spawn(&loop, &t, idle_fn, &s2);
}

/* ---- a plain `return` in a body (README rule 4) ---------------------------------- */

typedef struct {
    async_frame frame;
    int runs;
    misuse_st child;
} returner_st;

static int returns_minus_one_fn(async_task *task, void *arg) {
    returner_st *s = (returner_st *)arg;
    ASYNC_BEGIN(task, s);
    s->runs++;
    if (s->runs < 1000) return -1; /* the mistake: "return an error" */
    ASYNC_END;
}

static int child_returns_minus_one_fn(async_task *task, void *arg) {
    misuse_st *s = (misuse_st *)arg;
    ASYNC_BEGIN(task, s);
    return -1; /* the mistake, in a child */
    ASYNC_END;
}

static int awaits_bad_child_fn(async_task *task, void *arg) {
    returner_st *s = (returner_st *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_AWAIT(child_returns_minus_one_fn, &s->child);
    s->runs++;
    ASYNC_END;
}

/* Before: the loop took -1 for "yielded a value" and ran the task again from
 * its start, for ever. */
Test(misuse, a_plain_return_of_a_value_in_a_task_body, .signal = SIGABRT) {
    static async_task t;
    static returner_st s;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn(&loop, &t, returns_minus_one_fn, &s);
    async_run(&loop);
}

/* Before: the child counted as finished, its cleanup skipped. */
Test(misuse, a_plain_return_of_a_value_in_an_awaited_child, .signal = SIGABRT) {
    static async_task t;
    static returner_st s;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn(&loop, &t, awaits_bad_child_fn, &s);
    async_run(&loop);
}

static int quick_fn(async_task *task, void *arg) {
    misuse_st *s = (misuse_st *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_END;
}

Test(misuse, spawning_a_sleeping_task_again, .signal = SIGABRT) {
    static async_task t, q;
    static misuse_st s1, s2, sq;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn(&loop, &t, idle_fn, &s1);
    async_spawn(&loop, &q, quick_fn, &sq);
    cr_assert_eq(async_run_until(&loop, &q), ASYNC_OK); /* t is now asleep */
    async_spawn(&loop, &t, idle_fn, &s2);
}

Test(misuse, a_task_awaiting_itself, .signal = SIGABRT) {
    static async_task t;
    static misuse_st s;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    s.other = &t;
    async_spawn(&loop, &t, await_other_fn, &s);
    async_run(&loop);
}

Test(misuse, running_a_loop_from_its_own_task, .signal = SIGABRT) {
    static async_task t;
    static misuse_st s;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn(&loop, &t, rerun_fn, &s);
    async_run(&loop);
}

Test(misuse, awaiting_a_task_never_spawned, .signal = SIGABRT) {
    static async_task t, never;
    static misuse_st s;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    memset(&never, 0x5a, sizeof never);
    s.other = &never;
    async_spawn(&loop, &t, await_other_fn, &s);
    async_run(&loop);
}

Test(misuse, awaiting_a_task_of_another_loop, .signal = SIGABRT) {
    static async_loop other;
    static async_task t, foreign;
    static misuse_st s, fs;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_loop_init(&other, ASYNC_VIRTUAL);
    async_spawn(&other, &foreign, idle_fn, &fs);
    s.other = &foreign;
    async_spawn(&loop, &t, await_other_fn, &s);
    async_run(&loop);
}

Test(misuse, the_same_sequence_is_fine_without_the_mistake) {
    static async_task t, u;
    static misuse_st s, su;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn(&loop, &u, idle_fn, &su);
    s.other = &u;
    async_spawn(&loop, &t, await_other_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_spawn(&loop, &t, idle_fn, &s), ASYNC_OK, "a done task may be spawned again");
    cr_assert_eq(async_run(&loop), ASYNC_OK);
}

/* ---- more mistakes, each in its own forked test ----------------------- */

static int self_spawn_fn(async_task *task, void *arg) {
    misuse_st *s = (misuse_st *)arg;
    ASYNC_BEGIN(task, s);
    async_spawn(ASYNC_LOOP(), ASYNC_SELF(), idle_fn, s); /* the mistake */
    ASYNC_END;
}

Test(misuse, spawning_a_running_task_again, .signal = SIGABRT) {
    static async_task t;
    static misuse_st s;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn(&loop, &t, self_spawn_fn, &s);
    async_run(&loop);
}

Test(misuse, reusing_a_scheduled_tasks_storage, .signal = SIGABRT) {
    static async_task t;
    static misuse_st s;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn(&loop, &t, idle_fn, &s);
    memset(&t, 0, sizeof t); /* the mistake: "fresh" storage, still queued */
    async_spawn(&loop, &t, idle_fn, &s);
}

Test(misuse, overwriting_a_scheduled_task_is_caught_by_the_loop, .signal = SIGABRT) {
    static async_task t[3];
    static misuse_st s[3];
    int i;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    for (i = 0; i < 3; i++) async_spawn(&loop, &t[i], idle_fn, &s[i]);
    memset(&t[1], 0, sizeof t[1]); /* the mistake: reused while queued */
    async_run(&loop);
}

typedef struct {
    async_frame frame;
    async_queue *q;
    async_event *e;
    async_semaphore *sem;
    int item;
} obj_st;

static int obj_wait_fn(async_task *task, void *arg) {
    obj_st *s = (obj_st *)arg;
    ASYNC_BEGIN(task, s);
    if (s->q) ASYNC_QUEUE_GET(s->q, &s->item);
    if (s->e) ASYNC_EVENT_WAIT(s->e);
    if (s->sem) ASYNC_SEM_ACQUIRE(s->sem);
    ASYNC_END;
}

/* A task left waiting on one object: the starting point of the cases below. */
static void leave_waiting(obj_st *s) {
    static async_task t;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn(&loop, &t, obj_wait_fn, s);
    cr_assert_eq(async_run(&loop), ASYNC_EDEADLK);
}

static async_queue mq;
static int mq_buf[2];
static async_event me;
static async_semaphore msem;

Test(misuse, destroying_a_queue_with_waiters, .signal = SIGABRT) {
    static obj_st s;
    async_queue_init(&mq, mq_buf, 2, sizeof(int));
    s.q = &mq;
    leave_waiting(&s);
    async_queue_destroy(&mq);
}

/* A getter woken with an item handed to it, not yet run: the queue is
 * still in use (it takes the item when it runs). */
Test(misuse, destroying_a_queue_whose_item_is_handed_to_a_woken_getter, .signal = SIGABRT) {
    static obj_st s;
    int one = 1;
    async_queue_init(&mq, mq_buf, 2, sizeof(int));
    s.q = &mq;
    leave_waiting(&s);
    cr_assert_eq(async_queue_try_put(&mq, &one), ASYNC_OK); /* hands it over */
    async_queue_destroy(&mq);
}

Test(misuse, waiting_on_a_destroyed_queue, .signal = SIGABRT) {
    static obj_st s;
    async_queue_init(&mq, mq_buf, 2, sizeof(int));
    async_queue_destroy(&mq);
    s.q = &mq;
    leave_waiting(&s);
}

Test(misuse, destroying_an_event_with_waiters, .signal = SIGABRT) {
    static obj_st s;
    async_event_init(&me);
    s.e = &me;
    leave_waiting(&s);
    async_event_destroy(&me);
}


Test(misuse, destroying_a_semaphore_with_waiters, .signal = SIGABRT) {
    static obj_st s;
    async_semaphore_init(&msem, 0);
    s.sem = &msem;
    leave_waiting(&s);
    async_semaphore_destroy(&msem);
}

Test(misuse, destroying_a_semaphore_whose_permit_is_handed_to_a_woken_waiter,
     .signal = SIGABRT) {
    static obj_st s;
    async_semaphore_init(&msem, 0);
    s.sem = &msem;
    leave_waiting(&s);
    async_semaphore_release(&msem); /* hands the permit over */
    async_semaphore_destroy(&msem);
}

/* Initialising it again instead (init cannot look: it never reads the
 * object) is caught when the woken task runs and finds no item set aside. */
Test(misuse, reinitialising_a_queue_whose_item_is_handed_over_is_caught_later,
     .signal = SIGABRT) {
    static obj_st s;
    int one = 1;
    async_queue_init(&mq, mq_buf, 2, sizeof(int));
    s.q = &mq;
    leave_waiting(&s);
    cr_assert_eq(async_queue_try_put(&mq, &one), ASYNC_OK);
    async_queue_init(&mq, mq_buf, 2, sizeof(int));
    async_run(&loop);
}

/* The same, without the mistake: once the woken task has run, the object is
 * free to go. */
Test(misuse, destroying_after_the_woken_task_took_its_item_is_fine) {
    static obj_st s;
    int one = 1;
    async_queue_init(&mq, mq_buf, 2, sizeof(int));
    s.q = &mq;
    leave_waiting(&s);
    cr_assert_eq(async_queue_try_put(&mq, &one), ASYNC_OK);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(s.item, 1);
    async_queue_destroy(&mq);
    async_semaphore_init(&msem, 0);
    s.q = NULL;
    s.sem = &msem;
    leave_waiting(&s);
    async_semaphore_release(&msem);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    async_semaphore_destroy(&msem);
}

#ifndef _WIN32 /* needs the host's compiler */
/* A suspension point outside ASYNC_BEGIN..ASYNC_END does not compile: the
 * macros need the locals ASYNC_BEGIN declares.  Checked with the compiler
 * the suite was built with (CC, else cc), run from the repository root. */
static int compiles(const char *body) {
    const char *cc = getenv("CC");
    char cmd[512];
    FILE *f = fopen("build/misuse_snippet.c", "w");
    cr_assert_not_null(f, "run the suite from the repository root");
    fprintf(f, "#include \"async.h\"\nint f(async_task *t, void *s) { %s }\n"
               "int main(void) { return 0; }\n", body);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s -std=c99 -fsyntax-only -I. build/misuse_snippet.c "
             "> build/misuse_snippet.txt 2>&1", cc && *cc ? cc : "cc");
    return system(cmd) == 0;
}

Test(misuse, a_suspension_outside_the_body_is_a_compile_error) {
    cr_assert(!compiles("(void)t; (void)s; ASYNC_YIELD(); return 0;"),
              "ASYNC_YIELD outside ASYNC_BEGIN..ASYNC_END compiled");
    cr_assert_eq(system("grep -q async__t build/misuse_snippet.txt"), 0,
                 "the error should name the missing body local async__t");
    cr_assert(compiles("ASYNC_BEGIN(t, s); ASYNC_YIELD(); ASYNC_END;"),
              "the control case (inside a body) failed to compile");
}
#endif
