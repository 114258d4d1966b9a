/* ASYNC_ASSERT can be overridden, and the messages name the mistake.  This
 * file routes assertions to a longjmp so the message can be inspected. */
#include <setjmp.h>
static jmp_buf misuse_jump;
static const char *misuse_message;
static void misuse_hit(const char *msg) {
    misuse_message = msg;
    longjmp(misuse_jump, 1);
}
#define ASYNC_ASSERT(cond, msg) ((cond) ? (void)0 : misuse_hit(msg))
#include "helpers.h"

typedef struct {
    async_frame frame;
    async_task *other;
} msg_st;

static int msg_wait_fn(async_task *task, void *arg) {
    msg_st *s = (msg_st *)arg;
    ASYNC_BEGIN(task, s);
    ASYNC_AWAIT_TASK(s->other);
    ASYNC_END;
}

static int msg_rerun_fn(async_task *task, void *arg) {
    msg_st *s = (msg_st *)arg;
    ASYNC_BEGIN(task, s);
    async_run(ASYNC_LOOP());
    ASYNC_END;
}

static int msg_plain_return_fn(async_task *task, void *arg) {
    msg_st *s = (msg_st *)arg;
    ASYNC_BEGIN(task, s);
    return 3; /* neither ASYNC_RETURN nor ASYNC_END */
    ASYNC_END;
}

/* Runs `what` and returns the assertion message it produced, or NULL. */
#define CAPTURE(what) (misuse_message = NULL, setjmp(misuse_jump) == 0 ? ((what), (const char *)NULL) : misuse_message)

Test(misuse_message, names_each_mistake) {
    static async_loop loop;
    static async_task t, u;
    static msg_st s, su;
    const char *m;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    async_spawn(&loop, &t, msg_wait_fn, &s);
    m = CAPTURE(async_spawn(&loop, &t, msg_wait_fn, &su));
    cr_assert_not_null(m);
    cr_assert(strstr(m, "async_spawn") && strstr(m, "already scheduled"), "message: %s", m);

    async_loop_init(&loop, ASYNC_VIRTUAL);
    memset(&t, 0, sizeof t);
    s.other = &t;
    async_spawn(&loop, &t, msg_wait_fn, &s);
    m = CAPTURE(async_run(&loop));
    cr_assert_not_null(m);
    cr_assert(strstr(m, "cannot await itself"), "message: %s", m);

    async_loop_init(&loop, ASYNC_VIRTUAL);
    memset(&u, 0, sizeof u);
    async_spawn(&loop, &u, msg_rerun_fn, &su);
    m = CAPTURE(async_run(&loop));
    cr_assert_not_null(m);
    cr_assert(strstr(m, "already running") && strstr(m, "own tasks"), "message: %s", m);

    async_loop_init(&loop, ASYNC_VIRTUAL);
    memset(&u, 0, sizeof u);
    async_spawn(&loop, &u, msg_plain_return_fn, &su);
    m = CAPTURE(async_run(&loop));
    cr_assert_not_null(m);
    cr_assert(strstr(m, "plain `return`") && strstr(m, "ASYNC_RETURN"), "message: %s", m);

    memset(&u, 0x5a, sizeof u);
    m = CAPTURE(async_task_state(&u));
    cr_assert_not_null(m);
    cr_assert(strstr(m, "never spawned"), "message: %s", m);
}
