/* hello.c - the README's first example: one coroutine that sleeps.
 *
 *   make examples && build/hello
 *
 * A coroutine is a plain function over a state struct.  The struct's first
 * member is the async_frame, where the coroutine remembers where it stopped;
 * ASYNC_BEGIN/ASYNC_END bracket the body, and ASYNC_SLEEP suspends it. */
#include <stdio.h>
#include "async.h"

struct hello { async_frame frame; };

static int hello(async_task *task, void *arg) {
    struct hello *s = (struct hello *)arg;
    ASYNC_BEGIN(task, s);
    puts("Hello ...");
    ASYNC_SLEEP(1.0); /* other tasks would run here */
    puts("... World!");
    ASYNC_END;
}

int main(void) {
    struct hello s;
    return async_main(hello, &s, 0); /* like asyncio.run(hello()) */
}
