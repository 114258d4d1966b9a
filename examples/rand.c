/* rand.c - the walkthrough's makerandom: three tasks roll dice at their own
 * pace until one beats its threshold.
 *
 *   build/rand [--seed N] [--virtual]
 *
 * Python:
 *     async def makerandom(idx, threshold=6):
 *         i = random.randint(0, 10)
 *         while i <= threshold:
 *             await asyncio.sleep(idx + 1)
 *             i = random.randint(0, 10)
 *         return i
 *     r1, r2, r3 = await asyncio.gather(*(makerandom(i, 10 - i - 1) for i in range(3)))
 *
 * Each task is a coroutine with its own state (idx, threshold, the current
 * roll).  While one sleeps, the others roll; the colours show the
 * interleaving.  gather collects the three results in argument order. */
#include <stdio.h>
#include "async.h"
#include "common.h"

static const char *colour[] = {"\033[0m", "\033[36m", "\033[91m", "\033[35m"};

struct makerandom {
    async_frame frame;
    int idx, threshold, i;
};

static int makerandom(async_task *task, void *arg) {
    struct makerandom *s = (struct makerandom *)arg;
    ASYNC_BEGIN(task, s);
    printf("%sInitiated makerandom(%d).\n", colour[s->idx + 1], s->idx);
    s->i = ex_randint(0, 10);
    while (s->i <= s->threshold) {
        printf("%smakerandom(%d) == %d too low; retrying.\n", colour[s->idx + 1], s->idx, s->i);
        ASYNC_SLEEP(s->idx + 1); /* the state survives the sleep; locals would not */
        s->i = ex_randint(0, 10);
    }
    printf("%s---> Finished: makerandom(%d) == %d%s\n", colour[s->idx + 1], s->idx, s->i, colour[0]);
    ASYNC_RETURN(s->i);
    ASYNC_END;
}

struct main_state {
    async_frame frame;
    async_task tasks[3];
    struct makerandom rolls[3];
    async_task *all[3];
    intptr_t results[3];
    async_gather gather;
};

static int main_coro(async_task *task, void *arg) {
    struct main_state *s = (struct main_state *)arg;
    int i;
    ASYNC_BEGIN(task, s);
    for (i = 0; i < 3; i++) {
        s->rolls[i].idx = i;
        s->rolls[i].threshold = 10 - i - 1;
        async_spawn(ASYNC_LOOP(), &s->tasks[i], makerandom, &s->rolls[i]);
        s->all[i] = &s->tasks[i];
    }
    ASYNC_GATHER(&s->gather, s->all, 3, s->results);
    ASYNC_END;
}

int main(int argc, char **argv) {
    static struct main_state s; /* static: zeroed, as task storage must be */
    int rc;
    ex_seed(ex_option(argc, argv, "--seed", 444));
    rc = async_main(main_coro, &s, ex_flag(argc, argv, "--virtual") ? ASYNC_VIRTUAL : 0);
    printf("\nr1: %ld, r2: %ld, r3: %ld\n", (long)s.results[0], (long)s.results[1], (long)s.results[2]);
    return rc == ASYNC_OK ? 0 : 1;
}
