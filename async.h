/* async.h v0.1.0 - stackless coroutines and an asyncio-style event loop for C.
 *
 * One header, no dependencies beyond the C library, no allocation, no globals.
 * Public domain-style permissive licence: see LICENSE at the end of this file.
 *
 * ---------------------------------------------------------------------------
 * USAGE
 * ---------------------------------------------------------------------------
 *
 *     #include <stdio.h>
 *     #include "async.h"
 *
 *     struct hello { async_frame frame; };     // frame first, then your state
 *
 *     static int hello(async_task *task, void *arg) {
 *         struct hello *s = (struct hello *)arg;
 *         ASYNC_BEGIN(task, s);
 *         puts("Hello ...");
 *         ASYNC_SLEEP(1.0);                    // other tasks run meanwhile
 *         puts("... World!");
 *         ASYNC_END;
 *     }
 *
 *     int main(void) { struct hello s; return async_main(hello, &s, 0); }
 *
 * A coroutine is an ordinary function `int f(async_task *, void *)` whose
 * body sits between ASYNC_BEGIN and ASYNC_END.  Whatever must survive a
 * suspension (an await, a yield, a sleep) lives in a state struct whose FIRST
 * member is an `async_frame`; the frame remembers where to resume.  A task
 * (`async_task`, storage provided by you) runs one coroutine on a loop
 * (`async_loop`, storage provided by you).
 *
 * ---------------------------------------------------------------------------
 * OPTIONS (define before including async.h; all are optional)
 * ---------------------------------------------------------------------------
 *
 *   ASYNC_LABELS        1 = resume with GCC/Clang labels-as-values (computed
 *                       goto) instead of a switch.  Lifts the "no suspension
 *                       inside your own switch statement" rule.  Use the same
 *                       setting in every file of a program.
 *   ASYNC_SHORT_NAMES   define to get the short aliases AWAIT, AWAIT_TASK,
 *                       YIELD, SLEEP, SLEEP_MS, SLEEP_NS.
 *   ASYNC_ASSERT(c,msg) how misuse is reported.  Default: unless NDEBUG is
 *                       defined, print "async.h: <msg>" with file and line to
 *                       stderr and abort().  Define it as ((void)0) to disable.
 *   ASYNC_NO_OS         freestanding build: no clock, no sleeping, no stdio.
 *                       Give each loop a clock and an idle hook
 *                       (async_loop_set_clock) or use virtual time.
 *
 * ---------------------------------------------------------------------------
 * RULES OF STACKLESS COROUTINES (read these once; they are the whole trap list)
 * ---------------------------------------------------------------------------
 *
 *  1. Locals do not survive a suspension.  A coroutine returns to the loop at
 *     every ASYNC_AWAIT / ASYNC_YIELD / ASYNC_SLEEP and is called again later;
 *     keep loop counters and anything else you need afterwards in the state
 *     struct.  Declare plain locals BEFORE ASYNC_BEGIN (never initialised
 *     declarations after it: C++ rejects them, C leaves them garbage).
 *  2. With the default (switch) backend, do not suspend inside a `switch`
 *     statement of your own: the resume point would become a case of YOUR
 *     switch.  Use if/else, or define ASYNC_LABELS.
 *  3. Resume points are numbered with __COUNTER__ (gcc, clang, msvc, tcc).  On
 *     a compiler without it __LINE__ is used, and two suspension points on one
 *     line are a compile error (duplicate case value / duplicate label), never
 *     a silent misbehaviour.
 *  4. A top-level `break` in a coroutine body finishes the coroutine, exactly
 *     like ASYNC_RETURN(0) (ASYNC_FINALLY still runs).  `return` must not be
 *     used directly: use ASYNC_RETURN.
 *  5. Macro arguments of suspension macros may be evaluated more than once
 *     (once per resumption): pass expressions without side effects.
 *  6. The suspension macros need the locals that ASYNC_BEGIN declares; using
 *     one outside BEGIN..END is a compile error.
 *
 * ---------------------------------------------------------------------------
 * MEMORY (64-bit)
 * ---------------------------------------------------------------------------
 *   sizeof(async_task)  = 72 bytes: ready/wait/timer links (24, shared),
 *                         deadline 8, coroutine and state 16, loop 8,
 *                         waiters 8, sequence/state 8.  A sleeping task needs
 *                         nothing more: its timer node is inside the task.
 *   sizeof(async_frame) = 16 bytes (24 with ASYNC_LABELS).
 *   sizeof(async_loop)  = under 100 bytes.  The library allocates nothing.
 *
 * ---------------------------------------------------------------------------
 * API SUMMARY (details at each definition below)
 * ---------------------------------------------------------------------------
 *   Loop:   async_loop_init, async_loop_set_clock, async_run, async_run_until,
 *           async_main, async_now, async_time, async_loop_pending
 *   Tasks:  async_spawn, async_cancel, async_task_state, async_task_done,
 *           async_task_result, async_strerror
 *   Body:   ASYNC_BEGIN, ASYNC_END, ASYNC_RETURN, ASYNC_FINALLY, ASYNC_YIELD,
 *           ASYNC_SLEEP, ASYNC_SLEEP_MS, ASYNC_SLEEP_NS, ASYNC_SLEEP_UNTIL,
 *           ASYNC_AWAIT, ASYNC_AWAIT_TASK, ASYNC_GATHER, ASYNC_WAIT_UNTIL,
 *           ASYNC_RESULT, ASYNC_CANCELLED, ASYNC_SELF, ASYNC_LOOP, ASYNC_NOW
 */
#ifndef ASYNC_H
#define ASYNC_H

#define ASYNC_VERSION_MAJOR 0
#define ASYNC_VERSION_MINOR 1
#define ASYNC_VERSION_PATCH 0
#define ASYNC_VERSION "0.1.0"

#include <stddef.h>
#include <stdint.h>

#ifndef ASYNC_NO_OS
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <time.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ==========================================================================
 * Types
 * ========================================================================== */

typedef struct async_task async_task;
typedef struct async_loop async_loop;

/* A coroutine: called by the loop (or by a parent's ASYNC_AWAIT) with the
 * task it runs in and its state.  Returns 0 while suspended, 1 when finished;
 * ASYNC_BEGIN / ASYNC_END produce those values, never return them yourself. */
typedef int (*async_fn)(async_task *task, void *state);

#if defined(ASYNC_LABELS) && ASYNC_LABELS
typedef intptr_t async__pc_t;
#else
typedef int async__pc_t;
#endif

/* The frame: the first member of every coroutine's state struct.  It holds
 * the resume point and the coroutine's return value (ASYNC_RETURN).  You
 * never touch its fields; async_spawn and ASYNC_AWAIT initialise it. */
typedef struct async_frame {
    async__pc_t pc;      /* where to resume; 0 = start, negative = special */
    int flags;           /* ASYNC__F_* */
    intptr_t result;     /* the value given to ASYNC_RETURN */
} async_frame;

/* A task.  Storage is yours (static, an array, the stack of a function that
 * outlives the task, malloc).  Zero it before its first spawn (static storage
 * is; `= {0}` in C, `{}` in C++, calloc or memset otherwise), so that spawning
 * can tell fresh storage from a task still pending; a done task may be
 * spawned again.  It must stay valid until the task is done.  Read it only
 * through the functions below. */
struct async_task {
    /* A task is in at most one of: the ready queue, the timer heap, one wait
     * list.  So the three links share storage. */
    union {
        struct { async_task *left, *right, *parent; } h;     /* timer heap */
        struct { async_task *next, *prev; async_task **owner; } l; /* lists */
    } link;
    uint64_t deadline;        /* timer key, ns on the loop's clock */
    async_fn fn;              /* the coroutine */
    void *state;              /* its state (starts with an async_frame) */
    async_loop *loop;
    async_task *waiters;      /* tasks awaiting this one (circular list) */
    uint32_t seq;             /* timer tie-break: start order */
    uint8_t where;            /* ASYNC__W_*: ready, running, sleeping, ... */
    uint8_t flags;            /* ASYNC__T_* */
    uint16_t magic;           /* ASYNC__LIVE or ASYNC__DEAD: catches misuse */
};

/* Clock hook: returns monotonic time in nanoseconds.  Idle hook: blocks until
 * the clock reaches `deadline` (UINT64_MAX = no timer: block until woken);
 * returning early is harmless, the loop asks again. */
typedef uint64_t (*async_clock_fn)(void *ctx);
typedef void (*async_idle_fn)(void *ctx, uint64_t deadline);

struct async_loop {
    async_task *head, *tail;  /* ready queue, FIFO */
    async_task *heap;         /* timer heap root */
    size_t nheap;             /* timers in the heap */
    size_t ntasks;            /* spawned and not yet finished */
    async_task *current;      /* task being run, NULL between tasks */
    uint64_t now;             /* virtual time, or the last clock reading */
    async_clock_fn clock;
    async_idle_fn idle;
    void *ctx;
    uint32_t seq;
    unsigned flags;           /* ASYNC_VIRTUAL, ASYNC__L_RUNNING */
};

/* Error codes: 0 is success, failures are negative. */
enum {
    ASYNC_OK = 0,
    ASYNC_EINVAL = -1,     /* bad argument (NULL loop, task, coroutine or state) */
    ASYNC_EDEADLK = -2,    /* tasks remain but nothing can ever wake them */
    ASYNC_ECANCELED = -3,  /* the awaited task was cancelled */
    ASYNC_ENOCLOCK = -4    /* real-time loop without a clock (ASYNC_NO_OS) */
};

/* Task states as reported by async_task_state (asyncio's Task states). */
enum { ASYNC_PENDING = 0, ASYNC_DONE = 1, ASYNC_CANCELLED = 2 };

/* async_loop_init flags */
#define ASYNC_VIRTUAL 1u /* time jumps to the next deadline instead of passing */

/* ==========================================================================
 * Loop and task API
 * ========================================================================== */

/* async_loop_init(loop, flags): prepare `loop` (any storage).  flags is 0 for
 * real time (CLOCK_MONOTONIC, idle in clock_nanosleep) or ASYNC_VIRTUAL: the
 * clock starts at 0 and, whenever no task is ready, jumps straight to the
 * earliest deadline, so a program that sleeps prints the same output at once
 * and deterministically.  Returns ASYNC_OK, or ASYNC_EINVAL for NULL. */
static inline int async_loop_init(async_loop *loop, unsigned flags);

/* async_loop_set_clock(loop, clock, idle, ctx): use your own time source and
 * idle wait (an RTOS tick and WFI, a test clock).  Both hooks must be given.
 * Ignored in virtual mode.  Call before async_run. */
static inline int async_loop_set_clock(async_loop *loop, async_clock_fn clock,
                                       async_idle_fn idle, void *ctx);

/* async_spawn(loop, task, fn, state): asyncio.create_task.  Schedules
 * fn(task, state) to start on the loop's next pass.  `state` must begin with
 * an async_frame, which is reset here.  Spawning from inside a task is fine.
 * Returns ASYNC_OK or ASYNC_EINVAL.  Misuse: spawning a task that is still
 * pending (reusing its storage) is an assertion failure. */
static inline int async_spawn(async_loop *loop, async_task *task, async_fn fn,
                              void *state);

/* async_run(loop): run until every spawned task is done.  Returns ASYNC_OK,
 * or ASYNC_EDEADLK when tasks remain that nothing can wake (all of them wait
 * on tasks or conditions that can never finish); those tasks stay pending.
 * Misuse: calling it from inside one of this loop's own tasks. */
static inline int async_run(async_loop *loop);

/* async_run_until(loop, task): run until `task` is done (asyncio's
 * run_until_complete); other tasks stay pending for a later run.  Returns
 * ASYNC_OK or ASYNC_EDEADLK. */
static inline int async_run_until(async_loop *loop, async_task *task);

/* async_main(fn, state, flags): asyncio.run.  Sets up a loop (flags as for
 * async_loop_init) and a task on the stack, runs fn(state) and every task it
 * spawns to completion.  The coroutine's value is ASYNC_RESULT(state).
 * Returns an error code as async_run does. */
static inline int async_main(async_fn fn, void *state, unsigned flags);

/* async_now(loop): the loop's clock in nanoseconds (virtual or real).
 * async_time(loop): the same in seconds, like asyncio's loop.time(). */
static inline uint64_t async_now(async_loop *loop);
static inline double async_time(async_loop *loop);

/* async_loop_pending(loop): how many spawned tasks are not done yet. */
static inline size_t async_loop_pending(const async_loop *loop);

/* async_cancel(task): asyncio's Task.cancel.  The task resumes at the point
 * where it is suspended (a sleep or an await is cut short), unwinds through
 * every ASYNC_FINALLY of its coroutine chain, and ends in state
 * ASYNC_CANCELLED; tasks awaiting it are woken.  A task cancelling itself
 * unwinds at its next suspension point.  Code in an ASYNC_FINALLY section is
 * not interrupted: its awaits complete normally.  Returns 1 if the request was
 * made, 0 if the task was already done (a harmless no-op). */
static inline int async_cancel(async_task *task);

/* async_task_state(task): ASYNC_PENDING, ASYNC_DONE or ASYNC_CANCELLED.
 * async_task_done(task): nonzero once it is done or cancelled.
 * async_task_result(task): the value its coroutine gave ASYNC_RETURN (0 if it
 * ended without one or was cancelled).  Only for spawned tasks. */
static inline int async_task_state(const async_task *task);
static inline int async_task_done(const async_task *task);
static inline intptr_t async_task_result(const async_task *task);

/* async_strerror(code): a short English description of an error code. */
static inline const char *async_strerror(int code);

/* ==========================================================================
 * Coroutine body macros
 * ========================================================================== */

/* ASYNC_BEGIN(task, state): opens the body.  `task` is the coroutine's first
 * parameter, `state` a pointer to its state struct (first member an
 * async_frame).  Declares the hidden locals async__t and async__f. */
#define ASYNC_BEGIN(task, state)                                              \
    async_task *const async__t = (task);                                     \
    async_frame *const async__f = async__frame_of(state);                    \
    (void)async__t;                                                           \
    ASYNC__DIAG_PUSH                                                          \
    async__top:                                                               \
    switch (ASYNC__DISPATCH(async__f->pc)) {                                  \
    ASYNC__RESUME_CASE                                                        \
    case 0:

/* ASYNC_END: closes the body; the coroutine finishes here.  Write it as the
 * last statement, followed by a semicolon. */
#define ASYNC_END                                                             \
    ASYNC__FALLTHROUGH;                                                       \
    default:                                                                  \
        async__f->flags |= ASYNC__F_FIN;                                      \
        goto async__exit;                                                     \
    }                                                                         \
    async__exit:                                                              \
    if (!(async__f->flags & ASYNC__F_FIN)) {                                  \
        async__f->pc = ASYNC__PC_FINALLY;                                     \
        goto async__top;                                                      \
    }                                                                         \
    async__f->pc = ASYNC__PC_DONE;                                            \
    ASYNC__DIAG_POP                                                           \
    return 1

/* ASYNC_FINALLY: optional, at the top level of the body, once, before
 * ASYNC_END.  The code between it and ASYNC_END runs however the coroutine
 * ends: falling off the body, ASYNC_RETURN, a top-level break, or
 * cancellation (test ASYNC_CANCELLED() to tell).  Release what the coroutine
 * holds here.  It may suspend; a cancellation does not interrupt it. */
#define ASYNC_FINALLY                                                         \
    ASYNC__FALLTHROUGH;                                                       \
    case ASYNC__PC_FINALLY:                                                   \
        async__f->flags |= ASYNC__F_FIN

/* ASYNC_RETURN(value): finish the coroutine with `value` (an integer or a
 * pointer cast to intptr_t), running ASYNC_FINALLY first.  The value is
 * async_task_result() for a task, ASYNC_RESULT(state) for a child. */
#define ASYNC_RETURN(value)                                                   \
    do {                                                                      \
        async__f->result = (intptr_t)(value);                                 \
        goto async__exit;                                                     \
    } while (0)

/* ASYNC_YIELD(): let every other ready task run once (asyncio.sleep(0)); the
 * task continues on the loop's next pass. */
#define ASYNC_YIELD() ASYNC__YIELD(ASYNC__ID)

/* ASYNC_SLEEP(seconds): suspend for a duration in seconds (double), like
 * asyncio.sleep.  0 or negative (or NaN) behaves as ASYNC_YIELD(); a duration
 * too large to represent saturates (sleeps "forever").  Other tasks run
 * meanwhile; with no task ready the loop blocks in one system call. */
#define ASYNC_SLEEP(seconds) ASYNC_SLEEP_NS(async_seconds_to_ns(seconds))

/* ASYNC_SLEEP_MS(ms), ASYNC_SLEEP_NS(ns): the same with an integer duration
 * in milliseconds / nanoseconds (no floating point needed). */
#define ASYNC_SLEEP_MS(ms) ASYNC_SLEEP_NS(async__ms_to_ns((int64_t)(ms)))
#define ASYNC_SLEEP_NS(ns) ASYNC__SLEEP(ASYNC__ID, 0, (int64_t)(ns))

/* ASYNC_SLEEP_UNTIL(deadline): sleep until async_now() >= deadline (ns). */
#define ASYNC_SLEEP_UNTIL(deadline)                                           \
    ASYNC__SLEEP(ASYNC__ID, 1, (int64_t)(uint64_t)(deadline))

/* ASYNC_AWAIT(fn, child_state): await another coroutine, like `await f()`.
 * The child runs inside the current task, at once, with no trip through the
 * scheduler, and may itself suspend, to any depth.  `child_state` (a pointer
 * to the child's state struct, usually a member of yours) is reset first; set
 * the child's inputs after this resets nothing else: fill its other fields
 * before the await.  Its return value is then ASYNC_RESULT(child_state). */
#define ASYNC_AWAIT(fn, child_state) ASYNC__AWAIT(ASYNC__ID, fn, child_state)

/* ASYNC_AWAIT_TASK(task): wait until another task is done (asyncio's
 * `await task`); continues at once if it already is.  The waiter is woken
 * when the task finishes, without polling.  Then read async_task_result().
 * Misuse: a task awaiting itself, or a task that was never spawned. */
#define ASYNC_AWAIT_TASK(task) ASYNC__AWAIT_TASK(ASYNC__ID, task)

/* ASYNC_WAIT_UNTIL(condition): yield until `condition` is true.  This POLLS:
 * the task is resumed on every pass of the loop to re-test the condition.
 * Fine for rare checks; to wait on another task use ASYNC_AWAIT_TASK. */
#define ASYNC_WAIT_UNTIL(condition)                                           \
    do {                                                                      \
        while (!(condition)) ASYNC_YIELD();                                   \
    } while (0)

/* ASYNC_GATHER(g, tasks, n, results): asyncio.gather over spawned tasks.
 * `g` points to an async_gather in your state, `tasks` is an array of n task
 * pointers, `results` an array of n intptr_t (or NULL) that receives each
 * task's result in argument order, whatever order they finish in.  Afterwards
 * ASYNC_RESULT(g) is the number of tasks that ended cancelled.  If the
 * gathering task is cancelled, the gathered tasks are cancelled too. */
#define ASYNC_GATHER(g, tasks, n, results)                                    \
    do {                                                                      \
        async_gather_init((g), (tasks), (n), (results));                     \
        ASYNC_AWAIT(async_gather_fn, (g));                                    \
    } while (0)

/* ASYNC_RESULT(state): the return value of a finished child coroutine. */
#define ASYNC_RESULT(state) (async__frame_of(state)->result)

/* ASYNC_CANCELLED(): inside a body, nonzero once the task is being cancelled
 * (typically tested in ASYNC_FINALLY). */
#define ASYNC_CANCELLED() ((async__t->flags & ASYNC__T_CANCEL) != 0)

/* ASYNC_SELF(), ASYNC_LOOP(), ASYNC_NOW(): the current task, its loop, and
 * the loop's clock in ns, inside a body (e.g. to spawn more tasks). */
#define ASYNC_SELF() (async__t)
#define ASYNC_LOOP() (async__t->loop)
#define ASYNC_NOW() async_now(async__t->loop)

#ifdef ASYNC_SHORT_NAMES
#define AWAIT(fn, child_state) ASYNC_AWAIT(fn, child_state)
#define AWAIT_TASK(task) ASYNC_AWAIT_TASK(task)
#define YIELD() ASYNC_YIELD()
#define SLEEP(seconds) ASYNC_SLEEP(seconds)
#define SLEEP_MS(ms) ASYNC_SLEEP_MS(ms)
#define SLEEP_NS(ns) ASYNC_SLEEP_NS(ns)
#endif

/* Gather state (see ASYNC_GATHER). */
typedef struct async_gather {
    async_frame frame;
    async_task *const *tasks;
    size_t n, i;
    intptr_t *results;
} async_gather;
static inline void async_gather_init(async_gather *g, async_task *const *tasks,
                                     size_t n, intptr_t *results);
static inline int async_gather_fn(async_task *task, void *state);

/* Duration helpers: seconds (double) and milliseconds to nanoseconds,
 * saturating; negative and NaN give 0. */
static inline int64_t async_seconds_to_ns(double seconds);

/* ==========================================================================
 * Implementation.  Nothing below is public API.
 * ========================================================================== */

#ifndef ASYNC_ASSERT
#if defined(NDEBUG) || defined(ASYNC_NO_OS)
#define ASYNC_ASSERT(cond, msg) ((void)0)
#else
#define ASYNC_ASSERT(cond, msg)                                               \
    ((cond) ? (void)0 : async__assert_fail((msg), __FILE__, __LINE__))
static inline void async__assert_fail(const char *msg, const char *file,
                                      int line) {
    fflush(stdout);
    fprintf(stderr, "async.h: %s (%s:%d)\n", msg, file, line);
    abort();
}
#endif
#endif

#define ASYNC__CAT_(a, b) a##b
#define ASYNC__CAT(a, b) ASYNC__CAT_(a, b)

#if defined(__COUNTER__)
#define ASYNC__ID __COUNTER__
#else
#define ASYNC__ID __LINE__
#endif

/* Special resume points (a real one is the resume id + 1, always > 0). */
#define ASYNC__PC_DONE (-1)
#define ASYNC__PC_FINALLY (-2)
#define ASYNC__F_FIN 1 /* frame flag: the finally section has been entered */

/* Task states (where the task is) and flags. */
enum {
    ASYNC__W_READY = 1,
    ASYNC__W_RUNNING,
    ASYNC__W_SLEEPING,
    ASYNC__W_WAITING,
    ASYNC__W_DONE
};
#define ASYNC__T_CANCEL 1u
#define ASYNC__LIVE 0xA51Cu
#define ASYNC__DEAD 0xD0E5u
#define ASYNC__L_RUNNING 0x100u

#if defined(__has_attribute)
#define ASYNC__HAS_ATTRIBUTE(x) __has_attribute(x)
#else
#define ASYNC__HAS_ATTRIBUTE(x) 0
#endif

/* Backend-specific pieces: how a resume point is stored and jumped to. */
#if defined(ASYNC_LABELS) && ASYNC_LABELS
#if !defined(__GNUC__)
#error "async.h: ASYNC_LABELS needs labels-as-values (GCC or Clang)"
#endif
#define ASYNC__DISPATCH(pc)                                                   \
    ((pc) == 0 || (pc) == ASYNC__PC_DONE || (pc) == ASYNC__PC_FINALLY         \
         ? (int)(pc)                                                          \
         : 1)
#define ASYNC__RESUME_CASE                                                    \
    case 1:                                                                   \
        goto *(void *)async__f->pc;
#define ASYNC__SET_PC(id)                                                     \
    (async__f->pc = (intptr_t) __extension__ && ASYNC__CAT(async__L, id))
#define ASYNC__LABEL(id) ASYNC__CAT(async__L, id):
#define ASYNC__LABEL_FT(id) ASYNC__CAT(async__L, id):
/* Computed goto is a GNU extension: silence -Wpedantic for the body only. */
#define ASYNC__DIAG_PUSH                                                      \
    _Pragma("GCC diagnostic push")                                           \
    _Pragma("GCC diagnostic ignored \"-Wpedantic\"")
#define ASYNC__DIAG_POP _Pragma("GCC diagnostic pop")
#else
#define ASYNC__DISPATCH(pc) (pc)
#define ASYNC__RESUME_CASE
#define ASYNC__SET_PC(id) (async__f->pc = (id) + 1)
#define ASYNC__LABEL(id) case (id) + 1:
#define ASYNC__LABEL_FT(id) ASYNC__FALLTHROUGH; case (id) + 1:
#define ASYNC__DIAG_PUSH
#define ASYNC__DIAG_POP
#endif

#if defined(__cplusplus) && __cplusplus >= 201703L
#define ASYNC__FALLTHROUGH [[fallthrough]]
#elif ASYNC__HAS_ATTRIBUTE(fallthrough)
#define ASYNC__FALLTHROUGH __attribute__((fallthrough))
#else
#define ASYNC__FALLTHROUGH ((void)0)
#endif

/* After every resumption: a cancelled task unwinds to its finally section,
 * unless it is already there (cleanup is shielded).  `rewait` re-suspends a
 * cleanup-time await that a cancellation woke too early. */
#define ASYNC__RESUMED(rewait)                                                \
    if (async__t->flags & ASYNC__T_CANCEL) {                                  \
        if (!(async__f->flags & ASYNC__F_FIN)) goto async__exit;              \
        rewait;                                                               \
    }

#define ASYNC__YIELD(id)                                                      \
    do {                                                                      \
        ASYNC__SET_PC(id);                                                    \
        async__yield(async__t);                                               \
        return 0;                                                             \
        ASYNC__LABEL(id)                                                      \
        ASYNC__RESUMED((void)0)                                               \
    } while (0)

#define ASYNC__SLEEP(id, absolute, ns)                                        \
    do {                                                                      \
        async__sleep(async__t, (ns), (absolute));                             \
        ASYNC__SET_PC(id);                                                    \
        return 0;                                                             \
        ASYNC__LABEL(id)                                                      \
        ASYNC__RESUMED(if (async__sleep_again(async__t)) return 0)            \
    } while (0)

#define ASYNC__AWAIT(id, fn, child_state)                                     \
    do {                                                                      \
        async__frame_reset(async__frame_of(child_state));                     \
        ASYNC__SET_PC(id);                                                    \
        ASYNC__LABEL_FT(id)                                                   \
        if (!(fn)(async__t, (child_state))) return 0;                         \
        ASYNC__RESUMED((void)0)                                               \
    } while (0)

#define ASYNC__AWAIT_TASK(id, task)                                           \
    do {                                                                      \
        if (!async__task_wait(async__t, (task))) {                            \
            ASYNC__SET_PC(id);                                                \
            return 0;                                                         \
            ASYNC__LABEL(id)                                                  \
            ASYNC__RESUMED(if (!async__task_wait(async__t, (task))) return 0) \
        }                                                                     \
    } while (0)

static inline async_frame *async__frame_of(void *state) {
    return (async_frame *)state;
}
static inline void async__frame_reset(async_frame *f) {
    f->pc = 0;
    f->flags = 0;
    f->result = 0;
}

/* ---- ready queue: FIFO, singly linked through link.l.next --------------- */

static inline void async__push_ready(async_loop *loop, async_task *t) {
    t->where = ASYNC__W_READY;
    t->link.l.next = NULL;
    if (loop->tail)
        loop->tail->link.l.next = t;
    else
        loop->head = t;
    loop->tail = t;
}

/* ---- wait lists: circular, doubly linked; *owner points at the head ------ */

static inline void async__wait_on(async_task **owner, async_task *t) {
    async_task *h = *owner;
    t->where = ASYNC__W_WAITING;
    t->link.l.owner = owner;
    if (!h) {
        t->link.l.next = t->link.l.prev = t;
        *owner = t;
    } else {
        t->link.l.next = h;
        t->link.l.prev = h->link.l.prev;
        h->link.l.prev->link.l.next = t;
        h->link.l.prev = t;
    }
}

static inline void async__wait_remove(async_task *t) {
    async_task **owner = t->link.l.owner;
    if (t->link.l.next == t) {
        *owner = NULL;
    } else {
        t->link.l.prev->link.l.next = t->link.l.next;
        t->link.l.next->link.l.prev = t->link.l.prev;
        if (*owner == t) *owner = t->link.l.next;
    }
}

/* Move every waiter of a list to the ready queue, oldest first. */
static inline void async__wake_all(async_loop *loop, async_task **owner) {
    async_task *t = *owner, *end;
    if (!t) return;
    end = t->link.l.prev;
    *owner = NULL;
    for (;;) {
        async_task *next = t->link.l.next;
        async__push_ready(loop, t);
        if (t == end) break;
        t = next;
    }
}

/* ---- timer heap -----------------------------------------------------------
 * An intrusive binary min-heap of sleeping tasks, linked through link.h.
 * Invariants (checked by the tests after random operation sequences):
 *  1. Shape: the nheap nodes form a complete binary tree.  Number the nodes
 *     breadth-first from 1 (the root); node k's children are 2k and 2k+1, so
 *     the path from the root to node k is spelled by the bits of k below its
 *     highest set bit, read from the top (0 = left, 1 = right).
 *  2. Order: no node is before its parent under async__timer_before, which
 *     orders by deadline and breaks ties by the start sequence number, so
 *     timers with equal deadlines fire in the order they were started.
 *  3. Links: root->parent is NULL and loop->heap is the root; a node's
 *     children point back at it through parent.
 * The sequence number is 32 bits compared with wrap-around, which keeps that
 * order exact for any two equal-deadline timers started fewer than 2^31
 * timer starts apart.  Insert and remove are O(log n); no allocation.
 * -------------------------------------------------------------------------- */

static inline int async__timer_before(const async_task *a, const async_task *b) {
    if (a->deadline != b->deadline) return a->deadline < b->deadline;
    return (int32_t)(a->seq - b->seq) < 0;
}

/* Exchange child c with its parent p in the tree (links only). */
static inline void async__heap_swap(async_loop *loop, async_task *p,
                                    async_task *c) {
    async_task *gp = p->link.h.parent;
    async_task *cl = c->link.h.left, *cr = c->link.h.right, *sib;
    if (p->link.h.left == c) {
        sib = p->link.h.right;
        c->link.h.left = p;
        c->link.h.right = sib;
    } else {
        sib = p->link.h.left;
        c->link.h.right = p;
        c->link.h.left = sib;
    }
    if (sib) sib->link.h.parent = c;
    p->link.h.left = cl;
    p->link.h.right = cr;
    if (cl) cl->link.h.parent = p;
    if (cr) cr->link.h.parent = p;
    p->link.h.parent = c;
    c->link.h.parent = gp;
    if (!gp)
        loop->heap = c;
    else if (gp->link.h.left == p)
        gp->link.h.left = c;
    else
        gp->link.h.right = c;
}

/* The link that holds (or will hold) node number k; *parent gets its parent. */
static inline async_task **async__heap_slot(async_loop *loop, size_t k,
                                            async_task **parent) {
    async_task *node;
    int bit = 0;
    if (k == 1) {
        *parent = NULL;
        return &loop->heap;
    }
    while ((k >> bit) > 1) bit++;
    node = loop->heap;
    while (--bit > 0)
        node = ((k >> bit) & 1) ? node->link.h.right : node->link.h.left;
    *parent = node;
    return (k & 1) ? &node->link.h.right : &node->link.h.left;
}

static inline void async__heap_up(async_loop *loop, async_task *t) {
    while (t->link.h.parent && async__timer_before(t, t->link.h.parent))
        async__heap_swap(loop, t->link.h.parent, t);
}

static inline void async__heap_down(async_loop *loop, async_task *t) {
    for (;;) {
        async_task *m = t, *l = t->link.h.left, *r = t->link.h.right;
        if (l && async__timer_before(l, m)) m = l;
        if (r && async__timer_before(r, m)) m = r;
        if (m == t) return;
        async__heap_swap(loop, t, m);
    }
}

static inline void async__heap_insert(async_loop *loop, async_task *t) {
    async_task *parent;
    async_task **slot = async__heap_slot(loop, ++loop->nheap, &parent);
    t->link.h.left = t->link.h.right = NULL;
    t->link.h.parent = parent;
    *slot = t;
    async__heap_up(loop, t);
}

static inline void async__heap_remove(async_loop *loop, async_task *t) {
    async_task *parent, *last;
    async_task **slot = async__heap_slot(loop, loop->nheap--, &parent);
    last = *slot;
    *slot = NULL;
    if (last == t) return;
    /* The last node takes t's place, then moves up or down. */
    last->link.h.left = t->link.h.left;
    last->link.h.right = t->link.h.right;
    last->link.h.parent = t->link.h.parent;
    if (last->link.h.left) last->link.h.left->link.h.parent = last;
    if (last->link.h.right) last->link.h.right->link.h.parent = last;
    if (!t->link.h.parent)
        loop->heap = last;
    else if (t->link.h.parent->link.h.left == t)
        t->link.h.parent->link.h.left = last;
    else
        t->link.h.parent->link.h.right = last;
    async__heap_down(loop, last);
    async__heap_up(loop, last);
}

/* ---- clock and idle wait ------------------------------------------------- */

#ifndef ASYNC_NO_OS
#if defined(CLOCK_MONOTONIC) && (defined(TIMER_ABSTIME) || defined(__APPLE__))
typedef struct timespec async__timespec;
#define ASYNC__CLOCK_GETTIME clock_gettime
#define ASYNC__CLOCK_NANOSLEEP clock_nanosleep
#define ASYNC__MONOTONIC CLOCK_MONOTONIC
#define ASYNC__ABSTIME TIMER_ABSTIME
#elif defined(__linux__) && (defined(__LP64__) || defined(_LP64))
/* A strict ISO mode (-std=c99 without _POSIX_C_SOURCE) hides the POSIX clock
 * functions.  They are in the C library all the same, with this stable
 * 64-bit Linux ABI, so declare them under the names the ABI gives them. */
typedef struct async__timespec {
    long tv_sec;
    long tv_nsec;
} async__timespec;
extern int clock_gettime(int, async__timespec *);
extern int clock_nanosleep(int, int, const async__timespec *, async__timespec *);
#define ASYNC__CLOCK_GETTIME clock_gettime
#define ASYNC__CLOCK_NANOSLEEP clock_nanosleep
#define ASYNC__MONOTONIC 1
#define ASYNC__ABSTIME 1
#else
#error "async.h needs POSIX clocks: define _POSIX_C_SOURCE=200809L (or use -std=gnu99), or define ASYNC_NO_OS and supply a clock"
#endif

static inline uint64_t async__os_clock(void *ctx) {
    async__timespec ts;
    (void)ctx;
    ASYNC__CLOCK_GETTIME(ASYNC__MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void async__os_idle(void *ctx, uint64_t deadline) {
    async__timespec ts;
    uint64_t sec = deadline / 1000000000u;
    (void)ctx;
    if (sec > 0x7fffffffu) sec = 0x7fffffffu; /* fits any time_t; ~68 years */
    ts.tv_sec = (long)sec;
    ts.tv_nsec = (long)(deadline % 1000000000u);
#if defined(__APPLE__)
    {   /* no clock_nanosleep: sleep the remaining time */
        uint64_t now = async__os_clock(NULL), left;
        if (now >= deadline) return;
        left = deadline - now;
        ts.tv_sec = (long)(left / 1000000000u);
        ts.tv_nsec = (long)(left % 1000000000u);
        nanosleep(&ts, NULL);
    }
#else
    /* Returns early on a signal (EINTR): the loop re-reads the clock and
     * waits again for what is left, so no sleep is shortened. */
    ASYNC__CLOCK_NANOSLEEP(ASYNC__MONOTONIC, ASYNC__ABSTIME, &ts, NULL);
#endif
}
#endif /* ASYNC_NO_OS */

/* ---- loop ---------------------------------------------------------------- */

static inline int async_loop_init(async_loop *loop, unsigned flags) {
    if (!loop) return ASYNC_EINVAL;
    loop->head = loop->tail = NULL;
    loop->heap = NULL;
    loop->nheap = 0;
    loop->ntasks = 0;
    loop->current = NULL;
    loop->now = 0;
    loop->seq = 0;
    loop->flags = flags & ASYNC_VIRTUAL;
    loop->ctx = NULL;
#ifdef ASYNC_NO_OS
    loop->clock = NULL;
    loop->idle = NULL;
#else
    loop->clock = async__os_clock;
    loop->idle = async__os_idle;
#endif
    return ASYNC_OK;
}

static inline int async_loop_set_clock(async_loop *loop, async_clock_fn clock,
                                       async_idle_fn idle, void *ctx) {
    if (!loop || !clock || !idle) return ASYNC_EINVAL;
    loop->clock = clock;
    loop->idle = idle;
    loop->ctx = ctx;
    return ASYNC_OK;
}

static inline uint64_t async_now(async_loop *loop) {
    if (!(loop->flags & ASYNC_VIRTUAL) && loop->clock)
        loop->now = loop->clock(loop->ctx);
    return loop->now;
}

static inline double async_time(async_loop *loop) {
    return (double)async_now(loop) / 1e9;
}

static inline size_t async_loop_pending(const async_loop *loop) {
    return loop->ntasks;
}

static inline int64_t async_seconds_to_ns(double seconds) {
    if (!(seconds > 0)) return 0; /* negative, zero and NaN */
    if (seconds >= 9.2e9) return INT64_MAX;
    return (int64_t)(seconds * 1e9);
}

static inline int64_t async__ms_to_ns(int64_t ms) {
    if (ms <= 0) return 0;
    if (ms >= INT64_MAX / 1000000) return INT64_MAX;
    return ms * 1000000;
}

/* ---- tasks ----------------------------------------------------------------- */

static inline int async_spawn(async_loop *loop, async_task *task, async_fn fn,
                              void *state) {
    if (!loop || !task || !fn || !state) return ASYNC_EINVAL;
    ASYNC_ASSERT(task->magic != ASYNC__LIVE,
                 "async_spawn: task is already scheduled and not done "
                 "(its storage is still in use)");
    async__frame_reset(async__frame_of(state));
    task->fn = fn;
    task->state = state;
    task->loop = loop;
    task->waiters = NULL;
    task->flags = 0;
    task->magic = ASYNC__LIVE;
    loop->ntasks++;
    async__push_ready(loop, task);
    return ASYNC_OK;
}

static inline int async_task_state(const async_task *task) {
    ASYNC_ASSERT(task->magic == ASYNC__LIVE || task->magic == ASYNC__DEAD,
                 "async_task_state: task was never spawned");
    if (task->magic == ASYNC__LIVE) return ASYNC_PENDING;
    return (task->flags & ASYNC__T_CANCEL) ? ASYNC_CANCELLED : ASYNC_DONE;
}

static inline int async_task_done(const async_task *task) {
    return async_task_state(task) != ASYNC_PENDING;
}

static inline intptr_t async_task_result(const async_task *task) {
    ASYNC_ASSERT(task->magic == ASYNC__LIVE || task->magic == ASYNC__DEAD,
                 "async_task_result: task was never spawned");
    if (task->magic != ASYNC__DEAD || (task->flags & ASYNC__T_CANCEL)) return 0;
    return async__frame_of(task->state)->result;
}

static inline const char *async_strerror(int code) {
    switch (code) {
    case ASYNC_OK: return "success";
    case ASYNC_EINVAL: return "invalid argument";
    case ASYNC_EDEADLK: return "tasks remain that nothing can wake (deadlock)";
    case ASYNC_ECANCELED: return "cancelled";
    case ASYNC_ENOCLOCK: return "real-time loop has no clock";
    default: return "unknown error";
    }
}

static inline void async__yield(async_task *t) {
    async__push_ready(t->loop, t);
}

/* Start a sleep: relative ns, or an absolute deadline.  Nothing to wait for
 * means a yield (asyncio.sleep(0)). */
static inline void async__sleep(async_task *t, int64_t ns, int absolute) {
    async_loop *loop = t->loop;
    uint64_t now = async_now(loop), deadline;
    if (absolute)
        deadline = (uint64_t)ns;
    else if (ns <= 0)
        deadline = now;
    else
        deadline = (uint64_t)ns > UINT64_MAX - now ? UINT64_MAX : now + (uint64_t)ns;
    t->deadline = deadline;
    if (deadline <= now) {
        async__push_ready(loop, t);
        return;
    }
    t->seq = loop->seq++;
    t->where = ASYNC__W_SLEEPING;
    async__heap_insert(loop, t);
}

/* A cancellation woke a sleep in a finally section early: sleep on. */
static inline int async__sleep_again(async_task *t) {
    async_loop *loop = t->loop;
    if (async_now(loop) >= t->deadline) return 0;
    t->seq = loop->seq++;
    t->where = ASYNC__W_SLEEPING;
    async__heap_insert(loop, t);
    return 1;
}

/* Returns 1 if `other` is done; otherwise queues t as its waiter. */
static inline int async__task_wait(async_task *t, async_task *other) {
    ASYNC_ASSERT(other != t, "ASYNC_AWAIT_TASK: a task cannot await itself");
    ASYNC_ASSERT(other->magic == ASYNC__LIVE || other->magic == ASYNC__DEAD,
                 "ASYNC_AWAIT_TASK: the awaited task was never spawned");
    if (other->magic != ASYNC__LIVE) return 1;
    ASYNC_ASSERT(other->loop == t->loop,
                 "ASYNC_AWAIT_TASK: the awaited task runs on another loop");
    async__wait_on(&other->waiters, t);
    return 0;
}

static inline int async_cancel(async_task *task) {
    async_loop *loop;
    ASYNC_ASSERT(task->magic == ASYNC__LIVE || task->magic == ASYNC__DEAD,
                 "async_cancel: task was never spawned");
    if (task->magic != ASYNC__LIVE) return 0;
    if (task->flags & ASYNC__T_CANCEL) return 1;
    task->flags |= ASYNC__T_CANCEL;
    loop = task->loop;
    if (task->where == ASYNC__W_SLEEPING) {
        async__heap_remove(loop, task);
        async__push_ready(loop, task);
    } else if (task->where == ASYNC__W_WAITING) {
        async__wait_remove(task);
        async__push_ready(loop, task);
    }
    return 1;
}

static inline void async__finish(async_loop *loop, async_task *t) {
    t->where = ASYNC__W_DONE;
    t->magic = ASYNC__DEAD;
    loop->ntasks--;
    async__wake_all(loop, &t->waiters);
}

/* Move expired timers to the ready queue, earliest first. */
static inline void async__fire_timers(async_loop *loop) {
    uint64_t now = async_now(loop);
    while (loop->heap && loop->heap->deadline <= now) {
        async_task *t = loop->heap;
        async__heap_remove(loop, t);
        async__push_ready(loop, t);
    }
}

/* One pass: run the tasks that are ready now.  Tasks made ready during the
 * pass (yields, wake-ups, spawns) wait for the next pass, so a task that
 * yields forever cannot starve timers. */
static inline void async__run_ready(async_loop *loop) {
    async_task *last = loop->tail, *t;
    if (!last) return;
    do {
        t = loop->head;
        loop->head = t->link.l.next;
        if (!loop->head) loop->tail = NULL;
        t->where = ASYNC__W_RUNNING;
        loop->current = t;
        if (t->fn(t, t->state)) async__finish(loop, t);
    } while (t != last);
    loop->current = NULL;
}

static inline int async__run(async_loop *loop, async_task *until) {
    int rc = ASYNC_OK;
    if (!loop) return ASYNC_EINVAL;
    ASYNC_ASSERT(!(loop->flags & ASYNC__L_RUNNING),
                 "async_run: the loop is already running (called from inside "
                 "one of its own tasks)");
    if (!(loop->flags & ASYNC_VIRTUAL) && !loop->clock) return ASYNC_ENOCLOCK;
    loop->flags |= ASYNC__L_RUNNING;
    for (;;) {
        if (until ? until->magic != ASYNC__LIVE : loop->ntasks == 0) break;
        if (!loop->head) {
            if (!loop->heap) {
                rc = ASYNC_EDEADLK;
                break;
            }
            if (loop->flags & ASYNC_VIRTUAL) {
                if (loop->heap->deadline > loop->now)
                    loop->now = loop->heap->deadline;
            } else if (loop->heap->deadline > async_now(loop)) {
                loop->idle(loop->ctx, loop->heap->deadline);
            }
        }
        if (loop->heap) async__fire_timers(loop);
        async__run_ready(loop);
    }
    loop->flags &= ~ASYNC__L_RUNNING;
    return rc;
}

static inline int async_run(async_loop *loop) { return async__run(loop, NULL); }

static inline int async_run_until(async_loop *loop, async_task *task) {
    if (!task) return ASYNC_EINVAL;
    ASYNC_ASSERT(task->magic == ASYNC__LIVE || task->magic == ASYNC__DEAD,
                 "async_run_until: task was never spawned");
    ASYNC_ASSERT(task->magic != ASYNC__LIVE || task->loop == loop,
                 "async_run_until: task belongs to another loop");
    return async__run(loop, task);
}

static inline int async_main(async_fn fn, void *state, unsigned flags) {
    async_loop loop;
    async_task task;
    int rc = async_loop_init(&loop, flags);
    task.magic = 0; /* fresh storage: not a pending task */
    if (rc == ASYNC_OK) rc = async_spawn(&loop, &task, fn, state);
    if (rc == ASYNC_OK) rc = async_run(&loop);
    return rc;
}

/* ---- gather -------------------------------------------------------------- */

static inline void async_gather_init(async_gather *g, async_task *const *tasks,
                                     size_t n, intptr_t *results) {
    g->tasks = tasks;
    g->n = n;
    g->i = 0;
    g->results = results;
}

static inline int async_gather_fn(async_task *task, void *state) {
    async_gather *g = (async_gather *)state;
    intptr_t cancelled = 0;
    size_t i;
    ASYNC_BEGIN(task, g);
    for (g->i = 0; g->i < g->n; g->i++) {
        ASYNC_AWAIT_TASK(g->tasks[g->i]);
    }
    ASYNC_FINALLY;
    if (ASYNC_CANCELLED()) {
        for (i = g->i; i < g->n; i++) async_cancel(g->tasks[i]);
    } else {
        for (i = 0; i < g->n; i++) {
            if (g->results) g->results[i] = async_task_result(g->tasks[i]);
            cancelled += async_task_state(g->tasks[i]) == ASYNC_CANCELLED;
        }
        g->frame.result = cancelled;
    }
    ASYNC_END;
}

#ifdef __cplusplus
}
#endif

#endif /* ASYNC_H */

/* LICENSE: MIT. Copyright (c) 2026 the async.h authors.  Permission is hereby
 * granted, free of charge, to any person obtaining a copy of this software,
 * to deal in it without restriction, including the rights to use, copy,
 * modify, merge, publish, distribute, sublicense and sell copies, provided
 * this notice is included in all copies.  THE SOFTWARE IS PROVIDED "AS IS",
 * WITHOUT WARRANTY OF ANY KIND. */
