/* waiters.c - a waiter takes a table's orders, one dish at a time, and
 * passes each to the kitchen through the queue. */
#include <stdio.h>
#include "kitchen.h"

int waiter(async_task *task, void *state) {
    struct waiter *s = (struct waiter *)state;
    ASYNC_BEGIN(task, s);
    for (s->i = 1; s->i <= s->dishes; s->i++) {
        ASYNC_SLEEP_MS(10 * s->table); /* the guests decide */
        s->o.table = s->table;
        s->o.dish = s->i;
        /* In the state, not a local: when the queue is full the put waits,
         * and copies the order in only when a cook makes room. */
        ASYNC_QUEUE_PUT(s->orders, &s->o);
        printf("table %d orders dish %d\n", s->o.table, s->o.dish);
    }
    ASYNC_END;
}
