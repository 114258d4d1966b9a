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
