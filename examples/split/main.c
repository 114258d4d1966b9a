/* main.c - the split example's loop: three waiters and two cooks, in
 * three files that share one loop and one queue.  See kitchen.h.
 *   build/split [--virtual]   (--virtual: simulated time, instant) */
#include <stdio.h>
#include <string.h>
#include "kitchen.h"

enum { TABLES = 3, COOKS = 2 };

struct service {
    async_frame frame;
    async_queue orders;
    order slots[4];
    struct waiter waiters[TABLES];
    struct cook cooks[COOKS];
    async_task waiter_tasks[TABLES], cook_tasks[COOKS];
    int i;
};

static int service(async_task *task, void *state) {
    struct service *s = (struct service *)state;
    static const char *const names[COOKS] = {"Ada", "Brian"};
    int i;
    ASYNC_BEGIN(task, s);
    async_queue_init(&s->orders, s->slots, 4, sizeof(order));
    for (i = 0; i < COOKS; i++) {
        s->cooks[i].name = names[i];
        s->cooks[i].orders = &s->orders;
        async_spawn(ASYNC_LOOP(), &s->cook_tasks[i], cook, &s->cooks[i]);
    }
    for (i = 0; i < TABLES; i++) {
        s->waiters[i].table = i + 1;
        s->waiters[i].dishes = 2;
        s->waiters[i].orders = &s->orders;
        async_spawn(ASYNC_LOOP(), &s->waiter_tasks[i], waiter, &s->waiters[i]);
    }
    for (s->i = 0; s->i < TABLES; s->i++) ASYNC_AWAIT_TASK(&s->waiter_tasks[s->i]);
    async_queue_close(&s->orders); /* no more orders: the cooks finish up */
    for (s->i = 0; s->i < COOKS; s->i++) ASYNC_AWAIT_TASK(&s->cook_tasks[s->i]);
    printf("%s cooked %d, %s cooked %d\n", s->cooks[0].name, s->cooks[0].cooked,
           s->cooks[1].name, s->cooks[1].cooked);
    ASYNC_END;
}

int main(int argc, char **argv) {
    static struct service s; /* zeroed; big enough to keep off the stack */
    int is_virtual = argc > 1 && strcmp(argv[1], "--virtual") == 0;
    return async_main(service, &s, is_virtual ? ASYNC_VIRTUAL : 0);
}
