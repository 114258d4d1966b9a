/* chained.c - the walkthrough's chained coroutines: part2 needs part1's
 * result, and several chains run side by side.
 *
 *   build/chained [--virtual] [--seed N] [ID ...]      (default ids: 1 2 3)
 *
 * Python:
 *     async def chain(n):
 *         p1 = await part1(n)
 *         p2 = await part2(n, p1)
 *
 * ASYNC_AWAIT runs a child coroutine inside the current task, like `await
 * part1(n)`: no trip through the scheduler.  The child's state (its inputs,
 * its result buffer) is a member of the parent's state; its return value
 * comes back through ASYNC_RESULT. */
#include <stdio.h>
#include <stdlib.h>
#include "async.h"
#include "common.h"

struct part {
    async_frame frame;
    int n, secs;
    const char *arg;  /* part2's input: part1's result */
    char result[96];
};

static int part1(async_task *task, void *arg) {
    struct part *s = (struct part *)arg;
    ASYNC_BEGIN(task, s);
    s->secs = ex_randint(0, 10);
    printf("part1(%d) sleeping for %d seconds.\n", s->n, s->secs);
    ASYNC_SLEEP(s->secs);
    snprintf(s->result, sizeof s->result, "result%d-1", s->n);
    printf("Returning part1(%d) == %s.\n", s->n, s->result);
    ASYNC_RETURN(s->result); /* a pointer, passed as intptr_t */
    ASYNC_END;
}

static int part2(async_task *task, void *arg) {
    struct part *s = (struct part *)arg;
    ASYNC_BEGIN(task, s);
    s->secs = ex_randint(0, 10);
    printf("part2(%d, '%s') sleeping for %d seconds.\n", s->n, s->arg, s->secs);
    ASYNC_SLEEP(s->secs);
    snprintf(s->result, sizeof s->result, "result%d-2 derived from %s", s->n, s->arg);
    printf("Returning part2(%d, '%s') == %s.\n", s->n, s->arg, s->result);
    ASYNC_RETURN(s->result);
    ASYNC_END;
}

struct chain {
    async_frame frame;
    int n;
    double start;
    struct part p1, p2;
};

static int chain(async_task *task, void *arg) {
    struct chain *s = (struct chain *)arg;
    ASYNC_BEGIN(task, s);
    s->start = async_time(ASYNC_LOOP());
    s->p1.n = s->n;
    ASYNC_AWAIT(part1, &s->p1);                              /* p1 = await part1(n) */
    s->p2.n = s->n;
    s->p2.arg = (const char *)ASYNC_RESULT(&s->p1);
    ASYNC_AWAIT(part2, &s->p2);                              /* p2 = await part2(n, p1) */
    printf("-->Chained result%d => %s (took %.2f seconds).\n", s->n,
           (const char *)ASYNC_RESULT(&s->p2), async_time(ASYNC_LOOP()) - s->start);
    ASYNC_END;
}

int main(int argc, char **argv) {
    enum { MAX_CHAINS = 64 };
    static async_task tasks[MAX_CHAINS];
    static struct chain chains[MAX_CHAINS];
    async_loop loop;
    int i, n = 0, rc;
    double start;
    ex_seed(ex_option(argc, argv, "--seed", 444));
    for (i = 1; i < argc && n < MAX_CHAINS; i++) {
        if (strcmp(argv[i], "--seed") == 0) {
            i++;
            continue;
        }
        if (argv[i][0] != '-') chains[n++].n = (int)strtol(argv[i], NULL, 10);
    }
    if (n == 0)
        for (n = 0; n < 3; n++) chains[n].n = n + 1;
    async_loop_init(&loop, ex_flag(argc, argv, "--virtual") ? ASYNC_VIRTUAL : 0);
    start = async_time(&loop);
    for (i = 0; i < n; i++) async_spawn(&loop, &tasks[i], chain, &chains[i]); /* gather */
    rc = async_run(&loop);
    printf("Program finished in %.2f seconds.\n", async_time(&loop) - start);
    return rc == ASYNC_OK ? 0 : 1;
}
