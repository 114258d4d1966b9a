/* as_completed.c - results in the order tasks finish, and gather's results
 * in the order they were given.
 *
 *   build/as_completed [--virtual]
 *
 * Python:
 *     async def coro(seq):
 *         await asyncio.sleep(max(seq))
 *         return list(reversed(seq))
 *     t = asyncio.create_task(coro([3, 2, 1]))
 *     t2 = asyncio.create_task(coro([10, 5, 0]))
 *     for res in asyncio.as_completed((t, t2)):
 *         compl = await res
 *     print(f'Both tasks done: {all((t.done(), t2.done()))}')
 *
 * as_completed is a generator here: each ASYNC_AS_COMPLETED hands back the
 * next task to finish.  It needs one async_waiter per task: the waiter sits
 * in the task's wait list and reports the finish, without polling. */
#include <stdio.h>
#include "async.h"
#include "common.h"

struct coro {
    async_frame frame;
    int seq[3], reversed[3];
};

static int coro(async_task *task, void *arg) {
    struct coro *s = (struct coro *)arg;
    int i, max = 0;
    ASYNC_BEGIN(task, s);
    for (i = 0; i < 3; i++) max = s->seq[i] > max ? s->seq[i] : max;
    ASYNC_SLEEP(max);
    for (i = 0; i < 3; i++) s->reversed[i] = s->seq[2 - i];
    ASYNC_RETURN(s->reversed);
    ASYNC_END;
}

static void print_list(const int *v) { printf("[%d, %d, %d]", v[0], v[1], v[2]); }

struct main_state {
    async_frame frame;
    async_task t[2];
    struct coro c[2];
    async_task *tasks[2];
    async_waiter waiters[2];
    async_as_completed ac;
    async_gather gather;
    intptr_t results[2];
};

static int main_coro(async_task *task, void *arg) {
    struct main_state *s = (struct main_state *)arg;
    static const int seqs[2][3] = {{3, 2, 1}, {10, 5, 0}};
    int i;
    ASYNC_BEGIN(task, s);
    for (i = 0; i < 2; i++) {
        memcpy(s->c[i].seq, seqs[i], sizeof seqs[i]);
        async_spawn(ASYNC_LOOP(), &s->t[i], coro, &s->c[i]);
        s->tasks[i] = &s->t[i];
    }
    printf("Start: %.2f s\n", async_time(ASYNC_LOOP()));
    async_as_completed_init(&s->ac, s->tasks, 2, s->waiters);
    async_gen_init(&s->ac);
    for (;;) {
        ASYNC_AS_COMPLETED(&s->ac);
        if (ASYNC_STATUS() != ASYNC_OK) break; /* ASYNC_EXHAUSTED */
        printf("res: ");
        print_list((const int *)async_task_result((async_task *)ASYNC_RESULT(&s->ac)));
        printf(" completed at %.2f s\n", async_time(ASYNC_LOOP()));
    }
    printf("End: %.2f s\n", async_time(ASYNC_LOOP()));
    printf("Both tasks done: %s\n",
           async_task_done(&s->t[0]) && async_task_done(&s->t[1]) ? "True" : "False");
    /* gather over the same (finished) tasks: results in argument order */
    ASYNC_GATHER(&s->gather, s->tasks, 2, s->results);
    printf("gather: [");
    print_list((const int *)s->results[0]);
    printf(", ");
    print_list((const int *)s->results[1]);
    printf("]\n");
    ASYNC_END;
}

int main(int argc, char **argv) {
    static struct main_state s;
    return async_main(main_coro, &s, ex_flag(argc, argv, "--virtual") ? ASYNC_VIRTUAL : 0) == ASYNC_OK ? 0 : 1;
}
