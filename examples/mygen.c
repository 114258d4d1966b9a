/* mygen.c - an async generator and an async comprehension (mygen.py).
 *
 *   build/mygen [--virtual]
 *
 * Python:
 *     async def mygen(u=10):
 *         i = 0
 *         while i < u:
 *             yield 2 ** i
 *             i += 1
 *             await asyncio.sleep(0.1)
 *     g = [i async for i in mygen()]
 *     f = [j async for j in mygen() if not (j // 3 % 5)]
 *
 * A generator is a coroutine that hands values to its consumer with
 * ASYNC_YIELD_VALUE and may await between them.  The consumer drives it with
 * ASYNC_NEXT; ASYNC_COLLECT does the whole comprehension, filter included. */
#include <stdio.h>
#include "async.h"
#include "common.h"

struct mygen {
    async_frame frame;
    int i, u;
};

static int mygen(async_task *task, void *arg) {
    struct mygen *s = (struct mygen *)arg;
    ASYNC_BEGIN(task, s);
    for (s->i = 0; s->i < s->u; s->i++) {
        ASYNC_YIELD_VALUE((intptr_t)1 << s->i);
        ASYNC_SLEEP(0.1);
    }
    ASYNC_END;
}

/* The comprehension's condition: not (j // 3 % 5). */
static int keep(intptr_t j, void *ctx) {
    (void)ctx;
    return (j / 3) % 5 == 0;
}

struct main_state {
    async_frame frame;
    struct mygen gen;
    async_collect collect;
    intptr_t g[16], f[16];
    size_t ng, nf;
};

static int main_coro(async_task *task, void *arg) {
    struct main_state *s = (struct main_state *)arg;
    ASYNC_BEGIN(task, s);
    s->gen.u = 10;
    ASYNC_COLLECT(&s->collect, mygen, &s->gen, s->g, 16, NULL, NULL);
    s->ng = (size_t)ASYNC_RESULT(&s->collect);
    s->gen.u = 10;
    ASYNC_COLLECT(&s->collect, mygen, &s->gen, s->f, 16, keep, NULL);
    s->nf = (size_t)ASYNC_RESULT(&s->collect);
    ASYNC_END;
}

static void print_list(const intptr_t *v, size_t n) {
    size_t i;
    printf("[");
    for (i = 0; i < n; i++) printf("%s%ld", i ? ", " : "", (long)v[i]);
    printf("]\n");
}

int main(int argc, char **argv) {
    static struct main_state s;
    int rc = async_main(main_coro, &s, ex_flag(argc, argv, "--virtual") ? ASYNC_VIRTUAL : 0);
    print_list(s.g, s.ng);
    print_list(s.f, s.nf);
    return rc == ASYNC_OK ? 0 : 1;
}
