/* Programs as a newcomer writes them from the README (issue 12): locals,
 * malloc, switch statements.  What they hit must either work or be
 * reported plainly. */
#include "helpers.h"
#include <sys/wait.h>

/* ---- a suspension inside the coroutine's own switch ------------------------------ */

typedef struct {
    async_frame frame;
    int mode, after;
} switcher;
static int own_switch_fn(async_task *task, void *arg) {
    switcher *s = (switcher *)arg;
    ASYNC_BEGIN(task, s);
    switch (s->mode) { /* a port of an if/elif chain */
    case 1:
        ASYNC_SLEEP(0.5);
        s->after = 1;
        break;
    default:
        break;
    }
    ASYNC_RETURN(s->after);
    ASYNC_END;
}

#if defined(ASYNC_LABELS) && ASYNC_LABELS
Test(natural, a_suspension_inside_your_own_switch_works_with_labels) {
    async_loop loop;
    static async_task t;
    static switcher s;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    s.mode = 1;
    async_spawn(&loop, &t, own_switch_fn, &s);
    cr_assert_eq(async_run(&loop), ASYNC_OK);
    cr_assert_eq(async_task_result(&t), 1);
}
#else
/* Never a silent end: the resume is caught and reported. */
Test(natural, a_suspension_inside_your_own_switch_is_reported, .signal = SIGABRT) {
    async_loop loop;
    static async_task t;
    static switcher s;
    async_loop_init(&loop, ASYNC_VIRTUAL);
    s.mode = 1;
    async_spawn(&loop, &t, own_switch_fn, &s);
    async_run(&loop);
}
#endif

/* ---- every init on fresh locals, malloc'ed and garbage storage -------------------- */

static const char fresh_prog[] =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "#include \"async.h\"\n"
    "struct st { async_frame frame; async_queue *q; async_event *e;\n"
    "            async_semaphore *s; async_lock *l; int got; };\n"
    "static int fn(async_task *task, void *arg) {\n"
    "    struct st *s = (struct st *)arg;\n"
    "    int one = 1;\n"
    "    ASYNC_BEGIN(task, s);\n"
    "    async_queue_try_put(s->q, &one);\n"
    "    ASYNC_QUEUE_GET(s->q, &s->got);\n"
    "    async_event_set(s->e);\n"
    "    ASYNC_EVENT_WAIT(s->e);\n"
    "    ASYNC_SEM_ACQUIRE(s->s);\n"
    "    ASYNC_LOCK_ACQUIRE(s->l);\n"
    "    ASYNC_LOCK_RELEASE(s->l);\n"
    "    ASYNC_END;\n"
    "}\n"
    "static int run(async_queue *q, async_event *e, async_semaphore *sem, async_lock *l,\n"
    "               async_group *g, async_waiter *w) {\n"
    "    int buf[4];\n"
    "    struct st s;\n"
    "    if (async_queue_init(q, buf, 4, sizeof(int))) return 1;\n"
    "    async_event_init(e);\n"
    "    if (async_semaphore_init(sem, 1)) return 2;\n"
    "    async_lock_init(l);\n"
    "    if (async_group_init(g, w, 2)) return 3;\n"
    "    s.q = q; s.e = e; s.s = sem; s.l = l; s.got = 0;\n"
    "    if (async_main(fn, &s, ASYNC_VIRTUAL) || s.got != 1) return 4;\n"
    "    async_queue_destroy(q); async_event_destroy(e); async_semaphore_destroy(sem);\n"
    "    async_lock_destroy(l);\n"
    "    return 0;\n"
    "}\n"
    "int main(void) {\n"
    "    async_queue q; async_event e; async_semaphore sem; async_lock l;\n"
    "    async_group g; async_waiter w[2];\n"
    "    struct heap { async_queue q; async_event e; async_semaphore s; async_lock l;\n"
    "                  async_group g; async_waiter w[2]; } *h;\n"
    "    int rc = run(&q, &e, &sem, &l, &g, w); /* fresh locals */\n"
    "    if (rc) return rc;\n"
    "    h = (struct heap *)malloc(sizeof *h);\n"
    "    if (!h) return 9;\n"
    "    memset(h, 0xA5, sizeof *h); /* garbage */\n"
    "    rc = run(&h->q, &h->e, &h->s, &h->l, &h->g, h->w);\n"
    "    free(h);\n"
    "    if (!rc) puts(\"ok\");\n"
    "    return rc;\n"
    "}\n";

Test(natural, every_init_works_on_fresh_and_garbage_storage, .timeout = 120) {
    static const char *const ccs[] = {"gcc", "clang"};
    static const char *const opts[] = {"-O0", "-O1", "-O2", "-O3"};
    char cmd[512];
    size_t c, o;
    FILE *f = fopen("build/natural_init.c", "w");
    cr_assert_not_null(f, "run the suite from the repository root");
    fputs(fresh_prog, f);
    fclose(f);
    for (c = 0; c < 2; c++)
        for (o = 0; o < 4; o++) {
            int rc;
            snprintf(cmd, sizeof cmd, "%s -std=c99 %s -Wall -Wextra -Wpedantic -Werror -I. "
                     "build/natural_init.c -o build/natural_init > build/natural_init.txt 2>&1",
                     ccs[c], opts[o]);
            cr_assert_eq(system(cmd), 0, "%s %s: see build/natural_init.txt", ccs[c], opts[o]);
            rc = system("build/natural_init > /dev/null");
            cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s %s: the program failed (%d)",
                      ccs[c], opts[o], rc);
        }
    /* under `make check` valgrind follows this run and fails on any
     * read of uninitialised memory */
}
