/* cooks.c - a cook takes orders off the queue until it is closed. */
#include <stdio.h>
#include "kitchen.h"

int cook(async_task *task, void *state) {
    struct cook *s = (struct cook *)state;
    ASYNC_BEGIN(task, s);
    for (;;) {
        ASYNC_QUEUE_GET(s->orders, &s->o);
        if (ASYNC_STATUS() == ASYNC_ECLOSED) break; /* closed and drained */
        ASYNC_SLEEP_MS(25); /* cooking */
        s->cooked++;
        printf("  %s serves table %d dish %d\n", s->name, s->o.table, s->o.dish);
    }
    ASYNC_END;
}
