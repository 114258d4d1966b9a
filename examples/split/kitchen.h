/* kitchen.h - what the files of the split example share.
 *
 * A program of many .c files can include async.h in two ways:
 *   - as is, in every file ("include and go"): each file gets its own
 *     static copy of the library.  Simple; each file compiles it again.
 *   - split, like stb and sokol headers: every file defines ASYNC_EXTERN
 *     and gets only declarations (and the macros); exactly one file
 *     defines ASYNC_IMPLEMENTATION and compiles the library once
 *     (async_impl.c here).  Smaller objects, faster rebuilds.
 * This example is split.  All its files must use the same settings
 * (ASYNC_LABELS, ASYNC_NO_INTROSPECTION, ...): a file built with others
 * fails to link, with the settings spelled in the missing symbol's name.
 *
 * Build it with `make build/split`, or by hand:
 *   cc -I. -c examples/split/main.c examples/split/cooks.c \
 *      examples/split/waiters.c examples/split/async_impl.c
 *   cc main.o cooks.o waiters.o async_impl.o -o kitchen -lpthread */
#ifndef KITCHEN_H
#define KITCHEN_H

#define ASYNC_EXTERN /* declarations only: async_impl.c has the library */
#include "async.h"

/* What a waiter passes to the cooks through the queue: copied in and out. */
typedef struct {
    int table, dish;
} order;

/* A coroutine's state: the frame first, then what must survive a wait. */
struct cook {
    async_frame frame;
    const char *name;
    async_queue *orders;
    order o;
    int cooked;
};

struct waiter {
    async_frame frame;
    int table, dishes, i;
    async_queue *orders;
    order o;
};

/* Coroutines defined in one file, spawned from another: ordinary C
 * functions, declared as usual. */
int cook(async_task *task, void *state);   /* cooks.c */
int waiter(async_task *task, void *state); /* waiters.c */

#endif
