/* async.h - stackless coroutines and an asyncio-style event loop for C.
 * Version: ASYNC_VERSION_MAJOR / _MINOR / _PATCH below (the one place to bump).
 *
 * One header, no dependencies beyond the C library, no allocation, no globals.
 * MIT licence: see the end of this file.
 *
 * ---------------------------------------------------------------------------
 * CONTENTS (each part starts with a "==== Title" banner or a "---- title"
 * comment line: search for the title)
 * ---------------------------------------------------------------------------
 *   This comment: USAGE, LINKAGE MODES, OPTIONS, RULES OF STACKLESS
 *     COROUTINES (the traps), MEMORY, API SUMMARY.
 *   The API, each declaration documented:
 *     Types; Loop and task API (introspection, tracing); Coroutine body
 *     macros (timeouts, generators, as_completed, queues, events,
 *     semaphores, locks, task groups, unbounded queues, loop callbacks,
 *     futures, conditions, barriers, waiting for some of many tasks,
 *     generators without a loop); I/O (POSIX and Windows: sockets, other
 *     threads, embedding); driving the loop yourself.
 *   Implementation (every file: what the macros need):
 *     the coroutine mechanism (resume points, ASYNC_BEGIN/END, the wait
 *     macro); ready queue; cooperative budget.
 *   Implementation (definitions: one file in split mode):
 *     wait lists; text for async_task_describe; timers (their own API and
 *     invariants); clock and idle wait; loop; tasks; sleeping; awaiting
 *     tasks; timeouts; running: the loop pass; async_main and signals;
 *     then one part per primitive, each with its own describe: gather,
 *     generators, as_completed, queues, events, semaphores and locks, task
 *     groups, unbounded queues, loop callbacks, done callbacks, futures,
 *     conditions, barriers, asyncio.wait, generators without a loop.
 *   I/O implementation: OS calls (POSIX or Winsock), backends (the
 *     interface), backend: epoll, backend: poll or WSAPoll, the loop's side
 *     of I/O, handles, waiting on many fds, sockets, worker threads,
 *     embedding.
 *   Introspection and tracing; revision history; licence.
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
 * LINKAGE MODES
 * ---------------------------------------------------------------------------
 *
 * Include and go (the default): every function is `static inline` in each
 * file that includes async.h.  Nothing to set up; each such file compiles
 * the parts it uses (gcc -O2: about 1 s for examples/queue.c).
 *
 * Split, for programs of many files (like stb's and sokol's headers):
 *
 *     // every file (put it in your project's own header):
 *     #define ASYNC_EXTERN
 *     #include "async.h"
 *
 *     // exactly one file, e.g. async_impl.c:
 *     #define ASYNC_IMPLEMENTATION
 *     #include "async.h"
 *
 * A file with ASYNC_EXTERN gets the declarations, the macros and the few
 * tiny inline helpers the macros need: the header adds some 30 ms to its
 * compile (README, "Programs of many files"); the ASYNC_IMPLEMENTATION file
 * compiles the library once (about 2 s), with external linkage.  ASYNC_API is the linkage of every
 * function (static inline, or extern in split mode; in split mode you may
 * define it yourself, e.g. to add a visibility attribute).  Awaits in split
 * mode are calls into that file instead of inlined code.
 * Every file of a program must use the same settings of the options marked
 * [same] below.  In split mode a file built with others fails to link
 * (gcc and clang): the linker reports an undefined reference to
 * async_abi_<version>__labels<0|1>__introspection<0|1>__trace<0|1>__<I/O>,
 * which spells the settings that file was built with; the implementation
 * file defines only the symbol of its own.  NDEBUG and ASYNC_ASSERT may
 * differ from file to file.  examples/split is such a program.
 *
 * ---------------------------------------------------------------------------
 * OPTIONS (define before including async.h; all are optional)
 * ---------------------------------------------------------------------------
 *
 *   ASYNC_EXTERN, ASYNC_IMPLEMENTATION, ASYNC_API  the linkage modes above.
 *   ASYNC_LABELS        [same] 1 = resume with labels-as-values (computed
 *                       goto; GCC, Clang, TCC) instead of a switch.  Lifts
 *                       the "no suspension inside your own switch" rule.
 *   ASYNC_SHORT_NAMES   define to get the short aliases AWAIT, AWAIT_TASK,
 *                       YIELD, SLEEP, SLEEP_MS, SLEEP_NS.
 *   ASYNC_ASSERT(c,msg) how misuse is reported.  Default: unless NDEBUG is
 *                       defined, print "async.h: <msg>" with file and line to
 *                       stderr and abort().  Define it as ((void)0) to disable.
 *   ASYNC_ASSERT_TASK(c,msg,task)  the same for misuse that concerns a task;
 *                       the default report adds the task's name, state and
 *                       source line (async_task_describe).  If you define
 *                       only ASYNC_ASSERT, it is used for these too.
 *   ASYNC_NO_OS         [same] freestanding build: no clock, no sleeping, no
 *                       stdio, no I/O.  Give each loop a clock and an idle
 *                       hook (async_loop_set_clock) or use virtual time.
 *                       Needs only memcpy/memset (tested on a Cortex-M0 and
 *                       tcc).
 *   ASYNC_NO_IO         [same] hosted, but without the I/O section (no
 *                       epoll, sockets or threads).
 *   ASYNC_POLL          [same] use poll() instead of epoll on Linux.  Where
 *                       poll() (WSAPoll on Windows) is the only backend,
 *                       async.h defines it.
 *   ASYNC_POSIX_ONLY    [same] use POSIX.1-2008 calls only, as on macOS and
 *                       the BSDs: poll() with a pipe for wake-ups, nanosleep,
 *                       SIGPIPE held around writes instead of MSG_NOSIGNAL.
 *                       Implies ASYNC_POLL.  Other Unixes take this path
 *                       anyway; `make posix` runs the suite so on Linux,
 *                       with every Linux-only name poisoned.
 *   ASYNC_POLL_MAX      poll backend: fds watched at once (default 1024).
 *   ASYNC_EPOLL_EVENTS  epoll backend: events taken per wait (default 64;
 *                       more wait for the next pass, none is lost).
 *   ASYNC_POOL_MAX      [same] worker threads one async_pool can start
 *                       (default 64; a plain decimal number).
 *   ASYNC_TIMER_HEAP    [same] timers in a binary heap alone, without the
 *                       timing wheel in front: O(log n) start and cancel
 *                       instead of O(1), and async_loop 3,152 bytes smaller
 *                       (1,584 on 32-bit targets), for small RAM.  The
 *                       default with ASYNC_NO_OS; define ASYNC_TIMER_WHEEL
 *                       [same] to have the wheel there.
 *   ASYNC_NO_INTROSPECTION  [same] drop task names and source locations
 *                       (saves 16 bytes per task and a store per suspension;
 *                       async_dump still lists the tasks).
 *   ASYNC_TRACE         [same] compile in async_trace_start: Chrome trace-
 *                       event JSON of every task slice (hosted builds only).
 *   ASYNC_SHIELD_MAX    (fixed, 255) shields in force at once in one task:
 *                       finally sections being run plus shielded awaits in
 *                       progress.  One more is an assertion.
 *   ASYNC_SPIN_NS       loops made with ASYNC_PRECISE wake this many ns
 *                       before a deadline and spin the rest (default
 *                       100000): near-zero oversleep for that much CPU.
 *   ASYNC_BUDGET        awaits one task may complete without suspending
 *                       in one step before the next await yields to the
 *                       loop first (default 128; 0 turns it off).  Keeps a
 *                       task whose data is always ready from starving the
 *                       others, like tokio's cooperative budget.
 *   ASYNC_ACCEPT_BACKOFF_MS  first pause of ASYNC_SOCK_ACCEPT when the
 *                       process is out of file descriptors or memory
 *                       (default 10; doubles up to 1000 ms per pause).
 *   ASYNC_SYSCALL(name) how the I/O layer calls the OS: by default the call
 *                       itself (read, write, send, accept, socket, connect,
 *                       close, fcntl, poll, epoll_*, eventfd, timerfd_*,
 *                       pipe, fstat, getsockopt, setsockopt, bind, listen,
 *                       pthread_create).  Define it, e.g. as fault_##name,
 *                       to put your own layer in between: the fault-
 *                       injection tests (tests/faults/) do.
 *   In split mode the options that act inside the library (ASYNC_SPIN_NS,
 *   ASYNC_POLL_MAX, ASYNC_EPOLL_EVENTS, ASYNC_ACCEPT_BACKOFF_MS,
 *   ASYNC_SYSCALL, the size of ASYNC_BUDGET) take effect where
 *   ASYNC_IMPLEMENTATION is defined; a file built with ASYNC_BUDGET 0 does
 *   not count its own waits.
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
 *     switch.  Use if/else, or define ASYNC_LABELS.  It compiles without a
 *     warning, so the loop checks it: resuming such a point is an assertion
 *     that names the coroutine, its ASYNC_BEGIN line and the suspension
 *     point (instead of the coroutine silently ending there).
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
 *  7. Waits report how they ended through ASYNC_STATUS() (ASYNC_OK, or
 *     ASYNC_ETIMEDOUT, ASYNC_ECLOSED, ...): check it where it matters, as
 *     you would check errno.
 *
 * ---------------------------------------------------------------------------
 * MEMORY (64-bit)
 * ---------------------------------------------------------------------------
 *   sizeof(async_task)    = 112 bytes: links shared by the ready queue, the
 *                           timers and wait lists (24), deadline 8,
 *                           sequence and state 8, coroutine and state 16,
 *                           loop 8, waiters 8, armed timeouts 8, the
 *                           loop's task-list links 16 (shutdown and
 *                           deadlock clean-up find every task with them),
 *                           and for async_dump a name and a source site (16;
 *                           96 bytes in all with ASYNC_NO_INTROSPECTION).  A
 *                           sleeping task needs nothing more: its timer node
 *                           is inside.
 *   sizeof(async_frame)   = 16 bytes (24 with ASYNC_LABELS).
 *   sizeof(async_loop)    = 3,368 bytes (3,288 without I/O), of which 3,152
 *                           are the timing wheel (216 and 136 with
 *                           ASYNC_TIMER_HEAP).  Nothing is allocated.
 *
 * ---------------------------------------------------------------------------
 * API SUMMARY (details at each declaration below)
 * ---------------------------------------------------------------------------
 *   Loop:    async_loop_init, async_loop_set_clock, async_run, async_run_until,
 *            async_main, async_now, async_time, async_loop_pending
 *   Tasks:   async_spawn, async_cancel, async_task_state, async_task_done,
 *            async_task_result, async_strerror
 *   Introspection: async_spawn_named, async_task_set_name, async_task_name,
 *            async_task_describe, async_dump, async_dump_with,
 *            async_trace_start/stop (with ASYNC_TRACE)
 *   Body:    ASYNC_BEGIN, ASYNC_END, ASYNC_RETURN, ASYNC_FINALLY, ASYNC_STATUS,
 *            ASYNC_YIELD, ASYNC_SLEEP(_MS, _NS, _UNTIL), ASYNC_AWAIT,
 *            ASYNC_AWAIT_SHIELDED, ASYNC_AWAIT_TASK, ASYNC_GATHER,
 *            ASYNC_WAIT_UNTIL, ASYNC_RESULT, ASYNC_CANCELLED, ASYNC_SELF,
 *            ASYNC_LOOP, ASYNC_NOW
 *   Timeouts: ASYNC_TIMEOUT_ARM(_NS, _AT), ASYNC_TIMEOUT_DISARM,
 *            ASYNC_WITH_TIMEOUT, ASYNC_WAIT_FOR, async_timeout_expired
 *   Generators: ASYNC_YIELD_VALUE, ASYNC_NEXT, ASYNC_GEN_CLOSE, async_gen_init,
 *            ASYNC_COLLECT, ASYNC_AS_COMPLETED (as_completed as a generator)
 *   Sync:    async_queue (ASYNC_QUEUE_PUT/GET/JOIN), async_event
 *            (ASYNC_EVENT_WAIT), async_semaphore (ASYNC_SEM_ACQUIRE),
 *            async_lock (ASYNC_LOCK_ACQUIRE), async_group (ASYNC_GROUP_WAIT),
 *            async_condition (ASYNC_COND_WAIT, _FOR), async_barrier
 *            (ASYNC_BARRIER_WAIT), async_future (ASYNC_FUTURE_AWAIT,
 *            done callbacks), ASYNC_WAIT_TASKS; *_destroy for each object
 *   Callbacks: async_call_soon, async_call_later, async_call_at,
 *            async_handle_cancel
 *   Loop control: async_loop_shutdown, ASYNC_COOPERATE, ASYNC_FOR_EACH
 *   I/O:     async_io_open/close, ASYNC_IO_WAIT, async_io_read/write,
 *            async_tcp_socket/listen, ASYNC_SOCK_CONNECT/ACCEPT/RECV/
 *            RECV_EXACTLY/SENDALL, async_pool_start/stop, ASYNC_TO_THREAD,
 *            async_call_soon_threadsafe, async_loop_keepalive,
 *            async_loop_prepare/close, async_step, async_next_deadline,
 *            async_backend_fd
 */
#ifndef ASYNC_H
#define ASYNC_H

/* The version: bump these three, nothing else.  ASYNC_VERSION_NUM is
 * major * 10000 + minor * 100 + patch (for #if), ASYNC_VERSION the string. */
#define ASYNC_VERSION_MAJOR 0
#define ASYNC_VERSION_MINOR 6
#define ASYNC_VERSION_PATCH 0
#define ASYNC_VERSION_NUM                                                     \
    (ASYNC_VERSION_MAJOR * 10000 + ASYNC_VERSION_MINOR * 100 + ASYNC_VERSION_PATCH)
#define ASYNC__STR2(x) #x
#define ASYNC__STR(x) ASYNC__STR2(x)
#define ASYNC_VERSION                                                         \
    ASYNC__STR(ASYNC_VERSION_MAJOR) "." ASYNC__STR(ASYNC_VERSION_MINOR) "." ASYNC__STR(ASYNC_VERSION_PATCH)

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef ASYNC_NO_OS
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#ifdef _WIN32 /* winsock2.h first: windows.h alone would pull in the old winsock.h */
#include <winsock2.h>
#include <windows.h>
#endif
#define ASYNC__ERRNO(name, linux_value) (-(name))
#else
#define ASYNC__ERRNO(name, linux_value) (-(linux_value))
#endif

#if defined(ASYNC_TRACE) && defined(ASYNC_NO_OS)
#error "async.h: ASYNC_TRACE writes a file and needs a hosted build (not ASYNC_NO_OS)"
#endif
#ifndef ASYNC_BUDGET
#define ASYNC_BUDGET 128
#endif
/* Paths taken once in a program's life (reports, clean-up after a
 * deadlock): out of line, so the hot loop around them stays small. */
#if defined(__GNUC__) || defined(__clang__)
#define ASYNC__COLD __attribute__((cold, noinline))
#else
#define ASYNC__COLD
#endif
#ifndef ASYNC_ACCEPT_BACKOFF_MS
#define ASYNC_ACCEPT_BACKOFF_MS 10
#endif
#ifndef ASYNC_SYSCALL
#define ASYNC_SYSCALL(name) name
#endif
/* Linux's own calls (epoll, timerfd, eventfd, MSG_NOSIGNAL, clock_nanosleep)
 * are used on Linux only; elsewhere, and with ASYNC_POSIX_ONLY, nothing
 * beyond POSIX.1-2008.  Keyed on the OS, never on the names themselves, so
 * that a build which poisons them (`make posix`) never mentions one. */
#if defined(__linux__) && !defined(ASYNC_POSIX_ONLY) && !defined(ASYNC_NO_OS)
#define ASYNC__LINUX 1
#endif
/* Freestanding builds keep the small heap unless asked for the wheel. */
#if defined(ASYNC_NO_OS) && !defined(ASYNC_TIMER_WHEEL) && !defined(ASYNC_TIMER_HEAP)
#define ASYNC_TIMER_HEAP 1
#endif
#if !defined(ASYNC_NO_OS) && !defined(ASYNC_NO_IO) && defined(_WIN32)
/* Windows: sockets through WSAPoll, Win32 threads; link with ws2_32. */
#define ASYNC__IO 1
#define ASYNC__WIN 1
#ifndef ASYNC_POLL
#define ASYNC_POLL 1 /* the only backend here: say so to #ifdef ASYNC_POLL */
#endif
#ifdef _MSC_VER
#pragma comment(lib, "ws2_32")
#endif
#elif !defined(ASYNC_NO_OS) && !defined(ASYNC_NO_IO) && (defined(__unix__) || defined(__APPLE__))
#define ASYNC__IO 1
#if defined(ASYNC__LINUX)
#if !defined(ASYNC_POLL)
#define ASYNC__EPOLL 1
#endif
#elif !defined(ASYNC_POLL)
#define ASYNC_POLL 1 /* the only backend here: say so to #ifdef ASYNC_POLL */
#endif
#endif

#ifdef ASYNC__WIN
#include <ws2tcpip.h>
#elif defined(ASYNC__IO)
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#endif
#ifdef ASYNC__IO
#ifdef ASYNC__EPOLL
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#endif
#ifndef ASYNC_POLL_MAX
#define ASYNC_POLL_MAX 1024 /* poll backend: fds watched at once */
#endif
#ifndef ASYNC_EPOLL_EVENTS
#define ASYNC_EPOLL_EVENTS 64 /* epoll backend: events taken per wait */
#endif
#ifndef ASYNC_POOL_MAX
#define ASYNC_POOL_MAX 64   /* worker threads in one pool */
#endif
#ifndef ASYNC_SPIN_NS
#define ASYNC_SPIN_NS 100000 /* ASYNC_PRECISE: wake this early, then spin */
#endif
/* Threads, locks and the atomics of the cross-thread inbox: POSIX threads
 * and GNU builtins, or Win32 threads and Interlocked functions (which every
 * Windows compiler has, mingw-w64 and MSVC alike). */
#ifdef ASYNC__WIN
typedef SRWLOCK async__mutex;
typedef CONDITION_VARIABLE async__cond;
typedef HANDLE async__thread;
#define ASYNC__LOAD_PTR(p) InterlockedCompareExchangePointer((PVOID volatile *)(p), NULL, NULL)
#define ASYNC__XCHG_PTR(p, v) InterlockedExchangePointer((PVOID volatile *)(p), (v))
#define ASYNC__CAS_PTR(p, e, d) async__win_cas((PVOID volatile *)(p), (PVOID *)(e), (d))
#define ASYNC__LOAD_INT(p) InterlockedCompareExchange((LONG volatile *)(p), 0, 0)
#define ASYNC__ADD_INT(p, v) InterlockedExchangeAdd((LONG volatile *)(p), (v))
static inline int async__win_cas(PVOID volatile *p, PVOID *expected, PVOID desired) {
    PVOID seen = InterlockedCompareExchangePointer(p, desired, *expected);
    if (seen == *expected) return 1;
    *expected = seen;
    return 0;
}
#else
typedef pthread_mutex_t async__mutex;
typedef pthread_cond_t async__cond;
typedef pthread_t async__thread;
#define ASYNC__LOAD_PTR(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ASYNC__XCHG_PTR(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQUIRE)
#define ASYNC__CAS_PTR(p, e, d)                                               \
    __atomic_compare_exchange_n((p), (e), (d), 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED)
#define ASYNC__LOAD_INT(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ASYNC__ADD_INT(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#endif
#endif


/* Linkage (see LINKAGE MODES at the top).  ASYNC__DEFS: this file gets the
 * definitions. */
#if defined(ASYNC_IMPLEMENTATION) || defined(ASYNC_EXTERN)
#define ASYNC__SPLIT 1
#ifndef ASYNC_API
#define ASYNC_API extern
#endif
#else
#define ASYNC_API static inline
#endif
#if !defined(ASYNC__SPLIT) || defined(ASYNC_IMPLEMENTATION)
#define ASYNC__DEFS 1
#endif
#ifdef ASYNC__SPLIT
#define ASYNC__COLD_API ASYNC_API ASYNC__COLD
#else
#define ASYNC__COLD_API static ASYNC__COLD
#endif


#ifdef __cplusplus
extern "C" {
#endif

/* ==========================================================================
 * Types
 * ========================================================================== */

typedef struct async_task async_task;
typedef struct async_loop async_loop;
typedef struct async_timeout async_timeout;
typedef struct async_io async_io;
typedef struct async_call async_call;

/* A coroutine: called by the loop (or by a parent's ASYNC_AWAIT) with the
 * task it runs in and its state.  ASYNC_BEGIN / ASYNC_END produce its return
 * value (0 suspended, 1 finished, 2 yielded a value); never return yourself:
 * a plain `return` of another value is an assertion, and a plain `return 0`
 * leaves the task stopped for good (the deadlock dump says so).  Use
 * ASYNC_RETURN(value). */
typedef int (*async_fn)(async_task *task, void *state);

#if defined(ASYNC_LABELS) && ASYNC_LABELS
typedef intptr_t async__pc_t;
#else
typedef int async__pc_t;
#endif

/* The frame: the first member of every coroutine's state struct.  It holds
 * the resume point, the status of the last wait (ASYNC_STATUS) and the
 * coroutine's return value.  async_spawn and ASYNC_AWAIT initialise it. */
typedef struct async_frame {
    async__pc_t pc;      /* where to resume; 0 = start, negative = special */
    short flags;         /* ASYNC__F_* */
    short status;        /* how the last wait ended: ASYNC_OK or an error */
    intptr_t result;     /* the value given to ASYNC_RETURN / _YIELD_VALUE */
} async_frame;

/* The part shared by everything that waits: tasks, timeouts and waiters.  A
 * node is in at most one of the ready queue, the timers or a wait list at a
 * time, so those links share storage. */
typedef struct async__node async__node;
struct async__node {
    union {
        struct { async__node *left, *right, *parent; } h; /* timer heap */
        struct { async__node *next, *prev, **owner; } l;  /* queue, lists,
                                                             wheel slots */
    } link;
    uint64_t deadline;   /* timer key, ns on the loop's clock */
    uint32_t seq;        /* timer tie-break: start order */
    uint8_t magic;       /* what it is: a task ASYNC__LIVE (pending) or
                            ASYNC__DEAD (done), or ASYNC__K_TIMEOUT/_WAITER */
    uint8_t where;       /* ASYNC__W_* */
    uint8_t flags;       /* tasks: ASYNC__T_*; timeouts: ASYNC__TM_* */
    uint8_t shield;      /* tasks: shields in force (ASYNC_SHIELD_MAX) */
};

/* A suspension point: one constant record per ASYNC_SLEEP, ASYNC_YIELD,
 * ASYNC_QUEUE_GET, ... in your source, made by the macro.  A suspended task
 * points at the record of the point it is suspended at, which is how
 * async_dump and traces can say where each task waits and on what. */
typedef struct async_site {
    const char *file;
    const char *func;         /* the coroutine (__func__) */
    const char *what;         /* the macro: "ASYNC_SLEEP", "ASYNC_QUEUE_GET", ... */
    int line;
    int kind;                 /* ASYNC__S_*: what the wait list belongs to */
} async_site;

/* A task.  Storage is yours (static, an array, the stack of a function that
 * outlives the task, malloc).  Zero it before its first spawn (static storage
 * is; `= {0}` in C, `{}` in C++, calloc or memset otherwise), so that spawning
 * can tell fresh storage from a task still pending; a done task may be
 * spawned again.  It must stay valid until the task is done.  Read it only
 * through the functions below. */
struct async_task {
    async__node node;
    async_fn fn;              /* the coroutine */
    void *state;              /* its state (starts with an async_frame) */
    async_loop *loop;
    async__node *waiters;     /* what awaits this task (a wait list) */
    async_timeout *scopes;    /* armed timeouts, innermost first */
    async_task *next, *prev;  /* the loop's pending tasks (circular): for
                                 shutdown, deadlock clean-up and async_dump */
#ifndef ASYNC_NO_INTROSPECTION
    const char *name;         /* async_task_set_name, or NULL */
    const async_site *site;   /* where it is suspended; NULL before it ran */
#endif
};

/* Clock hook: returns monotonic time in nanoseconds.  Idle hook: blocks until
 * the clock reaches `deadline`; returning early is harmless, the loop asks
 * again. */
typedef uint64_t (*async_clock_fn)(void *ctx);
typedef void (*async_idle_fn)(void *ctx, uint64_t deadline);

/* The loop's timers (see "timers" in the implementation): a timing wheel
 * in front of a heap.  Level L's slots are 2^(ASYNC__WHEEL_SHIFT + 6L) ns
 * wide; the wheel covers 2^(ASYNC__WHEEL_SHIFT + 6 ASYNC__WHEEL_LEVELS) ns
 * (2^56 ns, 2.3 years) past its position, the heap holds the rest. */
#define ASYNC__WHEEL_SHIFT 20 /* level 0: 2^20 ns = 1.05 ms a slot */
#define ASYNC__WHEEL_LEVELS 6
typedef struct async__timers {
    async__node *root;        /* the heap */
    size_t n;                 /* how many timers in all */
    size_t nheap;             /* how many of them in the heap */
    uint32_t seq;             /* start order of the next insert */
#ifndef ASYNC_TIMER_HEAP
    size_t nwheel;            /* how many in the wheel's slots */
    uint64_t horizon;         /* the wheel's position */
    uint64_t low;             /* no slot holds a deadline before this */
    async__node *due;         /* expanded slots, earliest first */
    uint64_t used[ASYNC__WHEEL_LEVELS];  /* bit i: slot i is not empty */
    async__node *slot[ASYNC__WHEEL_LEVELS * 64]; /* level L: [64L, 64L+63] */
#endif
} async__timers;

struct async_loop {
    async_task *head, *tail;  /* ready queue, FIFO */
    size_t nready;            /* tasks in it: a cross-check of its links */
    async__timers timers;     /* deadlines: sleeps, timeouts, callbacks */
    size_t ntasks;            /* spawned and not yet finished */
    size_t nhandles;          /* callbacks scheduled (async_call_soon ...) */
    async_task *current;      /* task being run, NULL between tasks */
    unsigned budget;          /* completions left to current in this step */
    unsigned flags;           /* ASYNC_VIRTUAL, ASYNC_PRECISE, ASYNC__L_RUNNING */
    uint64_t now;             /* loop time: virtual, or the clock less epoch */
    uint64_t epoch;           /* the OS clock at init: loop time starts at 0 */
    async_clock_fn clock;
    async_idle_fn idle;
    void *ctx;
    async_task *tasks;        /* pending tasks in spawn order */
#ifdef ASYNC_TRACE
    FILE *trace;              /* async_trace_start: Chrome trace-event JSON */
    uint64_t trace_t0;        /* when tracing started (async_now, ns) */
    unsigned long trace_events;
#endif
#ifdef ASYNC__IO
    int iofd, timerfd;        /* epoll and its timerfd, -1 until prepared */
    int wakefd, wakefd_w;     /* eventfd (or pipe) other threads write to */
    uint64_t armed;           /* the deadline the timerfd is set for */
    size_t nio;               /* tasks waiting on fds or worker jobs */
    size_t jobs;              /* worker jobs not yet back on the loop */
    long keepalive;           /* async_loop_keepalive */
    async_io *ios;            /* poll backend: open handles */
    size_t nios;
    async_call *inbox;        /* calls from other threads (lock-free stack) */
    int calling;              /* threads inside call_soon_threadsafe */
#endif
};

/* A timeout (asyncio.timeout / wait_for): storage is yours, usually a member
 * of the coroutine's state.  See ASYNC_TIMEOUT_ARM. */
struct async_timeout {
    async__node node;         /* in the timers while armed */
    async_task *task;         /* the task it interrupts */
    async_frame *frame;       /* the frame that armed it: the awaits there
                                 end with ASYNC_ETIMEDOUT, deeper ones unwind */
    async_timeout *next;      /* the task's next outer armed timeout */
    unsigned level;           /* shield depth when armed */
    int expired;              /* it fired (still readable after disarm) */
};

/* A waiter: stands in a task's wait list on behalf of something that is not
 * a task (as_completed, task groups).  Storage is yours. */
typedef struct async_waiter async_waiter;
struct async_waiter {
    async__node node;
    void (*notify)(async_waiter *w, async_loop *loop);
    void *ctx;
    async_task *task;         /* the task it watches */
};

/* Error and status codes: 0 is success, failures are negative.  Where an
 * errno name fits, the code is minus that errno value, so a failed system
 * call can be reported as -errno without losing anything; the codes that are
 * async.h's own lie below -4096, beyond any errno. */
enum {
    ASYNC_OK = 0,
    ASYNC_EINVAL = ASYNC__ERRNO(EINVAL, 22),       /* bad argument */
    ASYNC_EDEADLK = ASYNC__ERRNO(EDEADLK, 35),     /* tasks remain that nothing can wake */
    ASYNC_ECANCELED = ASYNC__ERRNO(ECANCELED, 125), /* the awaited task was cancelled */
    ASYNC_ETIMEDOUT = ASYNC__ERRNO(ETIMEDOUT, 110), /* a timeout expired during the wait */
    ASYNC_EAGAIN = ASYNC__ERRNO(EAGAIN, 11),       /* a non-waiting call would have to wait */
    ASYNC_ENOSPC = ASYNC__ERRNO(ENOSPC, 28),       /* no room left (task group full) */
    ASYNC_ECLOSED = -4097,   /* the queue is closed (and, for gets, drained) */
    ASYNC_EXHAUSTED = -4098, /* a generator has no more values */
    ASYNC_ENOCLOCK = -4099,  /* real-time loop without a clock (ASYNC_NO_OS) */
    ASYNC_EBROKEN = -4100    /* the barrier was aborted or reset */
};

/* Task states as reported by async_task_state (asyncio's Task states). */
enum { ASYNC_PENDING = 0, ASYNC_DONE = 1, ASYNC_CANCELLED = 2 };

/* Shields in force at once in one task (finally sections being run plus
 * shielded awaits in progress); one more is an assertion. */
#define ASYNC_SHIELD_MAX 255

/* async_loop_init flags */
#define ASYNC_VIRTUAL 1u /* time jumps to the next deadline instead of passing */
#define ASYNC_PRECISE 2u /* real time: wake early, spin to each deadline */
#define ASYNC_CLEANUP_ON_DEADLOCK 4u /* see async_run */

/* ==========================================================================
 * Loop and task API
 * ========================================================================== */

/* async_loop_init(loop, flags): prepare `loop` (any storage).  flags is 0 for
 * real time (CLOCK_MONOTONIC; idle in epoll with a timerfd) or ASYNC_VIRTUAL: the
 * clock starts at 0 and, whenever no task is ready, jumps straight to the
 * earliest deadline, so a program that sleeps prints the same output at once
 * and deterministically.  Returns ASYNC_OK, or ASYNC_EINVAL for NULL. */
ASYNC_API int async_loop_init(async_loop *loop, unsigned flags);

/* async_loop_set_clock(loop, clock, idle, ctx): use your own time source and
 * idle wait (an RTOS tick and WFI, a test clock).  Both hooks must be given.
 * Ignored in virtual mode.  Call before async_run. */
ASYNC_API int async_loop_set_clock(async_loop *loop, async_clock_fn clock,
                                   async_idle_fn idle, void *ctx);

/* async_spawn(loop, task, fn, state): asyncio.create_task.  Schedules
 * fn(task, state) to start on the loop's next pass.  `state` must begin with
 * an async_frame, which is reset here.  Spawning from inside a task is fine.
 * Returns ASYNC_OK or ASYNC_EINVAL.  Misuse: spawning a task that is still
 * pending (reusing its storage) is an assertion failure.  The task and its
 * state must stay valid until the task is done: to free them earlier, cancel
 * it and await it first (async_cancel, then ASYNC_AWAIT_TASK). */
ASYNC_API int async_spawn(async_loop *loop, async_task *task, async_fn fn,
                          void *state);

/* async_run(loop): run until every spawned task is done.  Returns ASYNC_OK,
 * or ASYNC_EDEADLK when tasks remain that nothing in the loop can wake (all
 * of them wait on things no task, timer, fd or thread can bring).  Those
 * tasks stay pending, since the caller may still feed them (set the event,
 * put the item) and run again; async_dump says who waits on what, and
 * async_loop_shutdown cancels them and runs their cleanup.  A loop made with
 * the flag ASYNC_CLEANUP_ON_DEADLOCK does that by itself: it prints the dump
 * to stderr (hosted builds), cancels every pending task, runs their cleanup,
 * then returns ASYNC_EDEADLK.
 * Misuse: calling it from inside one of this loop's own tasks. */
ASYNC_API int async_run(async_loop *loop);

/* async_run_until(loop, task): run until `task` is done (asyncio's
 * run_until_complete); other tasks stay pending for a later run.  Returns
 * ASYNC_OK or ASYNC_EDEADLK. */
ASYNC_API int async_run_until(async_loop *loop, async_task *task);

/* async_loop_shutdown(loop): cancel every pending task and run the loop until
 * all of them have finished their cleanup (what asyncio.run does with the
 * tasks main leaves behind).  Returns ASYNC_OK, or ASYNC_EDEADLK if some
 * cleanup waits on something nothing can bring (those tasks stay pending). */
ASYNC_API int async_loop_shutdown(async_loop *loop);

/* async_main(fn, state, flags): asyncio.run.  Sets up a loop (flags as for
 * async_loop_init) and a task on the stack, and runs fn(state) until it
 * returns; then, like asyncio.run, cancels the tasks it left pending and
 * runs their cleanup before it returns (use async_run on a loop of your own
 * to wait for every task instead).  The leftovers are cancelled only once
 * fn is done, its ASYNC_FINALLY included: a fn that frees the storage of
 * tasks it spawned must stop them before (async_cancel, then
 * ASYNC_AWAIT_TASK on each).  The coroutine's value is
 * ASYNC_RESULT(state).  Returns ASYNC_OK or an error code:
 *  - ASYNC_EDEADLK on a deadlock (nothing can wake any task): the dump goes
 *    to stderr, then every task is cancelled and its cleanup run;
 *  - on SIGINT or SIGTERM (hosted builds, when the signal's disposition is
 *    the default one: a handler of yours or an ignored signal is left
 *    alone), like asyncio.run on Ctrl-C: the main task is cancelled, every
 *    cleanup runs, the leftovers are cancelled, and async_main returns 128 +
 *    the signal number (130 for SIGINT, 143 for SIGTERM), so
 *    `return async_main(...)` exits as the shell expects.  The default
 *    disposition is back from the first signal on, so a second Ctrl-C during
 *    a cleanup that hangs ends the program at once.  A signal handler cannot
 *    be passed a pointer: async_main keeps one in a static variable of the
 *    header while it runs (its only global state). */
ASYNC_API int async_main(async_fn fn, void *state, unsigned flags);

/* async_now(loop): loop time in nanoseconds.  It starts at 0 when the loop
 * is initialised, in real time as on a virtual loop, so a program prints
 * the same times in both modes (with async_loop_set_clock it is your
 * clock's reading).  async_time(loop): the same in seconds, like asyncio's
 * loop.time().  async_clock_ns(loop): the clock itself, unshifted
 * (CLOCK_MONOTONIC, your clock, or virtual time), e.g. to compare with
 * timestamps from elsewhere in the process. */
ASYNC_API uint64_t async_now(async_loop *loop);
ASYNC_API double async_time(async_loop *loop);
ASYNC_API uint64_t async_clock_ns(async_loop *loop);

/* async_loop_pending(loop): how many spawned tasks are not done yet. */
ASYNC_API size_t async_loop_pending(const async_loop *loop);

/* async_cancel(task): asyncio's Task.cancel.  The task resumes at the point
 * where it is suspended (a sleep or a wait is cut short), unwinds through
 * every ASYNC_FINALLY of its coroutine chain, and ends in state
 * ASYNC_CANCELLED; tasks awaiting it are woken.  A task cancelled before
 * its first step runs no line of its body (as in asyncio): it ends
 * cancelled at its turn, and no cleanup runs since it entered none.  A task cancelling itself
 * unwinds at its next suspension point.  Code in an ASYNC_FINALLY section,
 * and a child awaited with ASYNC_AWAIT_SHIELDED, is not interrupted (a wait
 * there keeps its place in line): the unwinding waits until it is done.
 * Returns 1 if the request was made, 0 if
 * the task was already done (a harmless no-op). */
ASYNC_API int async_cancel(async_task *task);

/* async_task_state(task): ASYNC_PENDING, ASYNC_DONE or ASYNC_CANCELLED.
 * async_task_done(task): nonzero once it is done or cancelled.
 * async_task_result(task): the value its coroutine gave ASYNC_RETURN (0 if it
 * ended without one or was cancelled).  Only for spawned tasks. */
ASYNC_API int async_task_state(const async_task *task);
ASYNC_API int async_task_done(const async_task *task);
ASYNC_API intptr_t async_task_result(const async_task *task);
/* ASYNC_TASK_STATE(task, type): the task's state as a `type *`, for results
 * of any type: a coroutine leaves its result in its state struct (which the
 * caller owns) and returns only a status, e.g.
 *   struct fetch { async_frame frame; const char *url; struct page out; };
 *   ... ASYNC_AWAIT_TASK(&t); use ASYNC_TASK_STATE(&t, struct fetch)->out
 * (for a child coroutine, the state is your own member: s->child.out). */
#define ASYNC_TASK_STATE(task, type) ((type *)(task)->state)

/* async_strerror(code): a short English description of an error code. */
ASYNC_API const char *async_strerror(int code);

/* ---- introspection ----------------------------------------------------------
 * Every suspension macro records where it is (file, line, coroutine, what it
 * waits on), and each loop keeps its pending tasks in a list, so a program
 * that hangs can say why.  Names and locations cost 16 bytes per task and
 * one store per suspension; define ASYNC_NO_INTROSPECTION to drop them (the
 * functions below then report less: no names, no source locations).
 *
 * async_spawn_named(loop, task, fn, state, name): async_spawn, then
 * async_task_set_name.  async_task_set_name(task, name): give a spawned task
 * a name (asyncio's set_name); `name` is not copied and must outlive the
 * task; async_spawn clears it.  async_task_name(task): the name, or NULL. */
ASYNC_API int async_spawn_named(async_loop *loop, async_task *task,
                                async_fn fn, void *state, const char *name);
ASYNC_API void async_task_set_name(async_task *task, const char *name);
ASYNC_API const char *async_task_name(const async_task *task);

/* async_task_describe(task, buf, size): one line saying what the task is
 * doing, snprintf-style (always NUL-terminated; returns the length it
 * wanted), with no stdio, e.g.
 *   "consumer" waiting in consumer_fn at queue.c:70: ASYNC_QUEUE_GET on
 *   queue 0x55d0c3a4b2c0 (0 of 4 items, 2 getters, 0 putters)
 * States: running, ready, sleeping (with the time left), waiting (on a
 * task, queue, event, semaphore, fd, worker thread, group), done. */
ASYNC_API size_t async_task_describe(const async_task *task, char *buf,
                                     size_t size);

/* async_dump_with(loop, write, ctx): a report of the loop (clock, counts)
 * then one async_task_describe line per pending task in spawn order, each
 * handed to write(ctx, line) without its newline.  async_dump(loop, out):
 * the same printed to a FILE (e.g. stderr) with newlines.  Typical use:
 * async_run returned ASYNC_EDEADLK and you want to know who waits on what. */
typedef void (*async_write_fn)(void *ctx, const char *line);
ASYNC_API void async_dump_with(const async_loop *loop, async_write_fn write,
                               void *ctx);
#ifndef ASYNC_NO_OS
ASYNC_API void async_dump(const async_loop *loop, FILE *out);
#endif

/* ---- tracing (define ASYNC_TRACE to compile it in; zero cost otherwise) --------
 * async_trace_start(loop, path): record, from now on, every time a task runs
 * (from when the loop resumes it until it suspends or ends) as Chrome
 * trace-event JSON in `path`: open it in https://ui.perfetto.dev or
 * chrome://tracing to see the interleaving as a timeline, one row per task
 * (named after async_task_set_name).  Each slice is labelled with where the
 * task then suspended.  Times are the loop's clock (async_now: virtual time
 * on a virtual loop) in microseconds from the start.  Returns ASYNC_OK or
 * -errno.
 * async_trace_stop(loop): finish and close the file (async_loop_close does
 * it too).  Only in hosted builds. */
#ifdef ASYNC_TRACE
ASYNC_API int async_trace_start(async_loop *loop, const char *path);
ASYNC_API void async_trace_stop(async_loop *loop);
#endif

/* ==========================================================================
 * Coroutine body macros
 * ========================================================================== */

/* ASYNC_BEGIN(task, state): opens the body.  `task` is the coroutine's first
 * parameter, `state` a pointer to its state struct (first member an
 * async_frame).  Declares the hidden locals async__t and async__f. */
#define ASYNC_BEGIN(task, state)                                              \
    async_task *const async__t = (task);                                     \
    async_frame *const async__f = async__frame_of(state);                    \
    enum { async__begin_line = __LINE__ };                                    \
    (void)async__t;                                                           \
    ASYNC__DIAG_PUSH                                                          \
    async__top:                                                               \
    switch (ASYNC__DISPATCH(async__f->pc)) {                                  \
    ASYNC__RESUME_CASE                                                        \
    case 0:

/* ASYNC_END: closes the body; the coroutine finishes here.  Write it as the
 * last statement, followed by a semicolon. */
#define ASYNC_END                                                             \
    async__enter_finally(async__t, async__f); /* the end of the body */      \
    goto async__exit;                                                         \
    default: /* only by the resume dispatch */                                \
        ASYNC__CHECK_OWN_PC();                                                \
        async__enter_finally(async__t, async__f);                             \
        goto async__exit;                                                     \
    }                                                                         \
    async__exit:                                                              \
    if (!(async__f->flags & ASYNC__F_FIN)) {                                  \
        async__f->pc = ASYNC__PC_FINALLY;                                     \
        goto async__top;                                                      \
    }                                                                         \
    async__frame_done(async__t, async__f);                                    \
    ASYNC__DIAG_POP                                                           \
    return 1

/* ASYNC_FINALLY: optional, at the top level of the body, once, before
 * ASYNC_END.  The code between it and ASYNC_END runs however the coroutine
 * ends: falling off the body, ASYNC_RETURN, a top-level break, cancellation
 * or a timeout (test ASYNC_CANCELLED() to tell a cancellation).  Release what
 * the coroutine holds here.  It may await; cancellation does not interrupt
 * it (it is shielded), though a timeout armed inside it still works. */
#define ASYNC_FINALLY                                                         \
    ASYNC__FALLTHROUGH;                                                       \
    case ASYNC__PC_FINALLY:                                                   \
        async__enter_finally(async__t, async__f)

/* ASYNC_RETURN(value): finish the coroutine with `value` (an integer or a
 * pointer cast to intptr_t), running ASYNC_FINALLY first.  The value is
 * async_task_result() for a task, ASYNC_RESULT(state) for a child. */
#define ASYNC_RETURN(value)                                                   \
    do {                                                                      \
        async__f->result = (intptr_t)(value);                                 \
        goto async__exit;                                                     \
    } while (0)

/* ASYNC_STATUS(): how the last wait in this coroutine ended: ASYNC_OK, or
 * ASYNC_ETIMEDOUT (a timeout armed in this coroutine expired), or a code
 * named by the wait (ASYNC_ECLOSED for queues, ASYNC_EXHAUSTED for
 * generators, ASYNC_ECANCELED for an awaited task that was cancelled). */
#define ASYNC_STATUS() ((int)async__f->status)

/* ASYNC_YIELD(): let every other ready task run once (asyncio.sleep(0)); the
 * task continues on the loop's next pass. */
#define ASYNC_YIELD() ASYNC__YIELD(ASYNC__ID, "ASYNC_YIELD")

/* ASYNC_COOPERATE(): count one unit of the task's budget, and yield first
 * if it is spent (see ASYNC_BUDGET).  Every wait of async.h does this by
 * itself when it completes without suspending, and so do the socket
 * helpers; call it in a loop of your own that makes progress without
 * waiting (your own recv() on a fast peer), so it cannot starve the others.
 * Like ASYNC_YIELD, it sets ASYNC_STATUS() (ASYNC_ECANCELED or
 * ASYNC_ETIMEDOUT if the task was interrupted meanwhile). */
#define ASYNC_COOPERATE()                                                     \
    do {                                                                      \
        if (async__budget_spent(async__t))                                    \
            ASYNC__YIELD(ASYNC__ID, "ASYNC_COOPERATE");                       \
        else                                                                  \
            async__f->status = ASYNC_OK;                                      \
    } while (0)

/* ASYNC_SLEEP(seconds): suspend for a duration in seconds (double), like
 * asyncio.sleep.  0 or negative (or NaN) behaves as ASYNC_YIELD(); a duration
 * too large to represent saturates (sleeps "forever").  Other tasks run
 * meanwhile; with no task ready the loop blocks in one system call.  Ends
 * early, with ASYNC_STATUS() == ASYNC_ETIMEDOUT, if a timeout expires. */
#define ASYNC_SLEEP(seconds) ASYNC_SLEEP_NS(async_seconds_to_ns(seconds))

/* ASYNC_SLEEP_MS(ms), ASYNC_SLEEP_NS(ns): the same with an integer duration
 * in milliseconds / nanoseconds (no floating point needed). */
#define ASYNC_SLEEP_MS(ms) ASYNC_SLEEP_NS(async_ms_to_ns((int64_t)(ms)))
#define ASYNC_SLEEP_NS(ns)                                                    \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_SLEEP, "ASYNC_SLEEP",                     \
                async__sleep_start(async__t, async__f, (int64_t)(ns), 0),     \
                async__sleep_resume(async__t, async__f))

/* ASYNC_SLEEP_UNTIL(deadline): sleep until async_now() >= deadline (ns). */
#define ASYNC_SLEEP_UNTIL(deadline)                                           \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_SLEEP, "ASYNC_SLEEP_UNTIL",               \
                async__sleep_start(async__t, async__f,                        \
                                   (int64_t)(uint64_t)(deadline), 1),         \
                async__sleep_resume(async__t, async__f))

/* ASYNC_AWAIT(fn, child_state): await another coroutine, like `await f()`.
 * The child runs inside the current task, at once, with no trip through the
 * scheduler, and may itself suspend, to any depth.  The frame at the start
 * of `child_state` (usually a member of your state) is reset first; fill the
 * child's other fields before the await.  Its return value is then
 * ASYNC_RESULT(child_state).  ASYNC_STATUS() is ASYNC_OK, or ASYNC_ETIMEDOUT
 * when a timeout armed by this coroutine cut the child short.  Awaiting a
 * generator runs it to the end, discarding its values. */
#define ASYNC_AWAIT(fn, child_state) ASYNC__AWAIT(ASYNC__ID, fn, child_state, 0)

/* ASYNC_AWAIT_SHIELDED(fn, child_state): the same, but a cancellation of the
 * task does not interrupt the child (asyncio.shield): the child runs to its
 * end, then the cancellation takes effect in this coroutine.  Shields (these
 * awaits in progress and finally sections being run) nest up to
 * ASYNC_SHIELD_MAX (255) in one task; one more is an assertion. */
#define ASYNC_AWAIT_SHIELDED(fn, child_state)                                 \
    ASYNC__AWAIT(ASYNC__ID, fn, child_state, 1)

/* ASYNC_AWAIT_TASK(task): wait until another task is done (asyncio's
 * `await task`); continues at once if it already is.  The waiter is woken
 * when the task finishes, without polling.  Then read async_task_result().
 * ASYNC_STATUS(): ASYNC_OK, ASYNC_ECANCELED if that task was cancelled, or
 * ASYNC_ETIMEDOUT (the task is left running: cancel it if you wish).
 * Cancelling the waiter does not cancel the awaited task.
 * Misuse: a task awaiting itself, or a task that was never spawned. */
#define ASYNC_AWAIT_TASK(task)                                                \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_TASK, "ASYNC_AWAIT_TASK",                 \
                async__task_wait_start(async__t, async__f, (task)),          \
                async__task_wait_resume(async__t, async__f, (task)))

/* ASYNC_WAIT_UNTIL(condition): yield until `condition` is true.  This POLLS:
 * the task is resumed on every pass of the loop to re-test the condition.
 * Fine for rare checks; to wait for something, use an event or a queue. */
#define ASYNC_WAIT_UNTIL(condition)                                           \
    do {                                                                      \
        while (!(condition)) ASYNC__YIELD(ASYNC__ID, "ASYNC_WAIT_UNTIL");     \
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

/* ASYNC_GATHER_FAIL_FAST(g, waiters, tasks, n, results): the other error
 * policy.  ASYNC_GATHER collects every outcome, failures included (asyncio's
 * return_exceptions=True); here the first task to FAIL (end, not cancelled,
 * with a negative result) cancels the others, and the gather returns once
 * all of them have finished (their cleanup included).  Then ASYNC_STATUS()
 * is ASYNC_ECANCELED, g->failed the failed task's index and g->error its
 * result; or ASYNC_OK (g->failed is -1).  `waiters` is an array of n
 * async_waiter of yours; results and ASYNC_RESULT(g) as for ASYNC_GATHER. */
#define ASYNC_GATHER_FAIL_FAST(g, waiters, tasks, n, results)                 \
    do {                                                                      \
        async_gather_init((g), (tasks), (n), (results));                     \
        (g)->ws.w = (waiters);                                                \
        ASYNC_AWAIT(async_gather_fail_fast_fn, (g));                          \
        if (ASYNC_STATUS() == ASYNC_OK && (g)->failed >= 0)                   \
            async__f->status = ASYNC_ECANCELED;                               \
    } while (0)

/* ASYNC_RESULT(state): the return value of a finished child coroutine, or
 * the latest value a generator yielded. */
#define ASYNC_RESULT(state) (async__frame_of(state)->result)

/* ASYNC_CANCELLED(): inside a body, nonzero once the task is being cancelled
 * (typically tested in ASYNC_FINALLY). */
#define ASYNC_CANCELLED() ((async__t->node.flags & ASYNC__T_CANCEL) != 0)

/* ASYNC_SELF(), ASYNC_LOOP(), ASYNC_NOW(): the current task, its loop, and
 * the loop's clock in ns, inside a body (e.g. to spawn more tasks). */
#define ASYNC_SELF() (async__t)
#define ASYNC_LOOP() (async__t->loop)
#define ASYNC_NOW() async_now(async__t->loop)

/* ---- timeouts (asyncio.timeout, asyncio.wait_for) ---------------------------
 *
 *     ASYNC_TIMEOUT_ARM(&s->tmo, 2.0);        // async with asyncio.timeout(2)
 *     ASYNC_QUEUE_GET(&s->q, &s->item);       //   any awaits, any depth
 *     ASYNC_TIMEOUT_DISARM(&s->tmo);
 *     if (async_timeout_expired(&s->tmo)) ...
 *
 * While armed, the timeout covers every await of this coroutine and of the
 * children it awaits.  When it expires, the wait in progress ends: in this
 * coroutine the wait returns with ASYNC_STATUS() == ASYNC_ETIMEDOUT (and so
 * does every later wait until the disarm, without waiting); children awaited
 * from here unwind through their ASYNC_FINALLY sections, and the ASYNC_AWAIT
 * then reports ASYNC_ETIMEDOUT.  What was awaited is left consistent: a
 * queue loses no item, a semaphore no permit, an awaited task keeps running.
 * A timeout the coroutine forgets to disarm is disarmed when it finishes.
 * Timeouts nest; `tmo` must not be armed twice at once. */
#define ASYNC_TIMEOUT_ARM(tmo, seconds)                                       \
    ASYNC_TIMEOUT_ARM_NS((tmo), async_seconds_to_ns(seconds))
#define ASYNC_TIMEOUT_ARM_NS(tmo, ns)                                         \
    async__timeout_arm(async__t, async__f, (tmo),                             \
                       async__deadline(async__t->loop, (int64_t)(ns)))
#define ASYNC_TIMEOUT_AT(tmo, deadline)                                       \
    async__timeout_arm(async__t, async__f, (tmo), (uint64_t)(deadline))
#define ASYNC_TIMEOUT_DISARM(tmo) async__timeout_disarm(async__t, (tmo))

/* ASYNC_WITH_TIMEOUT(tmo, seconds, statement): arm, run one statement (any
 * await), disarm. */
#define ASYNC_WITH_TIMEOUT(tmo, seconds, statement)                           \
    do {                                                                      \
        ASYNC_TIMEOUT_ARM((tmo), (seconds));                                  \
        statement;                                                            \
        ASYNC_TIMEOUT_DISARM(tmo);                                            \
    } while (0)

/* ASYNC_WAIT_FOR(tmo, seconds, fn, child_state): asyncio.wait_for on a
 * child coroutine: ASYNC_STATUS() is ASYNC_ETIMEDOUT if it was cut short. */
#define ASYNC_WAIT_FOR(tmo, seconds, fn, child_state)                         \
    do {                                                                      \
        ASYNC_TIMEOUT_ARM((tmo), (seconds));                                  \
        ASYNC_AWAIT(fn, child_state);                                         \
        ASYNC_TIMEOUT_DISARM(tmo);                                            \
        async__f->status =                                                    \
            (short)(async_timeout_expired(tmo) ? ASYNC_ETIMEDOUT : ASYNC_OK); \
    } while (0)

/* async_timeout_expired(tmo): nonzero if its last arming expired. */
ASYNC_API int async_timeout_expired(const async_timeout *tmo);

/* ---- generators (async def ... yield; async for) -----------------------------
 *
 * A generator is a coroutine that hands values to its consumer with
 * ASYNC_YIELD_VALUE(v); between values it may await anything.  The consumer
 * drives it like a child, inside the consumer's own task:
 *
 *     async_gen_init(&s->gen);
 *     for (;;) {
 *         ASYNC_NEXT(powers, &s->gen);
 *         if (ASYNC_STATUS() != ASYNC_OK) break;     // ASYNC_EXHAUSTED
 *         use(ASYNC_RESULT(&s->gen));
 *     }
 */
#define ASYNC_YIELD_VALUE(value) ASYNC__YIELD_VALUE(ASYNC__ID, value)
#define ASYNC_NEXT(fn, gen_state) ASYNC__NEXT(ASYNC__ID, fn, gen_state)
/* ASYNC_GEN_CLOSE(fn, gen_state): stop a generator early: it resumes in its
 * ASYNC_FINALLY section (values it yields there are discarded).
 * ASYNC_STATUS() afterwards: ASYNC_OK, or ASYNC_ETIMEDOUT as for an await.
 * A generator that holds a timeout armed across a yield must be closed (or
 * run to its end) before its state goes; its timeouts cover only its own
 * code, never the consumer's waits between two ASYNC_NEXT. */
#define ASYNC_GEN_CLOSE(fn, gen_state)                                        \
    do {                                                                      \
        async__gen_close(async__t, async__frame_of(gen_state));               \
        ASYNC__AWAIT_RAW(ASYNC__ID, fn, gen_state, 0)                         \
        async__f->status = (short)async__intr_status(async__t, async__f);     \
        if (async__f->status == ASYNC__UNWIND) goto async__exit;              \
    } while (0)
/* async_gen_init(gen_state): reset a generator before its first ASYNC_NEXT. */
ASYNC_API void async_gen_init(void *gen_state);

/* ASYNC_COLLECT(c, fn, gen_state, out, cap, keep, ctx): the async
 * comprehension [v async for v in gen() if keep(v)].  Stores up to `cap`
 * values in out[], keeping those for which keep(v, ctx) is nonzero (keep may
 * be NULL).  ASYNC_RESULT(c) is the count.  If more than `cap` values would
 * be kept, the generator is closed early and ASYNC_STATUS() is ASYNC_ENOSPC.
 * `c` points to an async_collect in your state. */
typedef struct async_collect {
    async_frame frame;
    async_fn gen;
    void *gen_state;
    intptr_t *out;
    size_t cap, n;
    int (*keep)(intptr_t value, void *ctx);
    void *ctx;
} async_collect;
#define ASYNC_COLLECT(c, fn, gen_state, out, cap, keep, ctx)                  \
    do {                                                                      \
        async_collect_init((c), (fn), (gen_state), (out), (cap), (keep), (ctx)); \
        ASYNC_AWAIT(async_collect_fn, (c));                                   \
        if (ASYNC_STATUS() == ASYNC_OK)                                       \
            async__f->status = async__frame_of(c)->status;                    \
    } while (0)
ASYNC_API void async_collect_init(async_collect *c, async_fn fn,
                                  void *gen_state, intptr_t *out,
                                  size_t cap,
                                  int (*keep)(intptr_t, void *), void *ctx);
ASYNC_API int async_collect_fn(async_task *task, void *state);

/* ---- as_completed ---------------------------------------------------------
 * async_as_completed_init(ac, tasks, n, waiters): a generator over n spawned
 * tasks that yields each task (as intptr_t: cast back to async_task *) in the
 * order they finish; tasks already done come first, in argument order.
 * `waiters` is your array of n async_waiter.  Drive it with
 * ASYNC_NEXT(async_as_completed_fn, ac) or the shorthand ASYNC_AS_COMPLETED(ac);
 * ASYNC_STATUS() is ASYNC_EXHAUSTED after the last one. */
typedef struct async_as_completed {
    async_frame frame;
    async_task *const *tasks;
    size_t n, i, reported;
    async_waiter *w;
    async__node *done;        /* waiters of finished tasks, in finish order */
    async__node *consumer;    /* the task waiting for the next one */
} async_as_completed;
ASYNC_API void async_as_completed_init(async_as_completed *ac,
                                       async_task *const *tasks, size_t n,
                                       async_waiter *waiters);
ASYNC_API int async_as_completed_fn(async_task *task, void *state);
#define ASYNC_AS_COMPLETED(ac) ASYNC_NEXT(async_as_completed_fn, (ac))

/* ---- queues (asyncio.Queue) -------------------------------------------------
 * A FIFO of fixed-size elements in your ring buffer of `capacity` elements of
 * `elem_size` bytes (copied in and out with memcpy).  Waiters are served in
 * arrival order and an item or a free slot handed to a woken waiter is
 * reserved for it, so nothing barges in, and nothing is lost or delivered
 * twice, even if that waiter is then cancelled or times out. */
typedef struct async_queue {
    unsigned char *buf;
    size_t cap, size, head, count;
    size_t held_items;        /* items reserved for woken getters */
    size_t held_slots;        /* slots reserved for woken putters */
    size_t unfinished;        /* put and not yet task_done */
    async__node *getters, *putters, *joiners;
    int closed;
    unsigned live;            /* marks an initialised queue (misuse checks) */
    int order;                /* ASYNC__Q_FIFO, _LIFO, _PRIORITY */
    int (*cmp)(const void *a, const void *b); /* priority queues */
    uint64_t seq;             /* priority queues: put order, for ties */
} async_queue;

/* async_queue_init(q, buf, capacity, elem_size): ASYNC_EINVAL if any is 0.
 * buf holds capacity items of elem_size bytes. */
ASYNC_API int async_queue_init(async_queue *q, void *buf, size_t capacity,
                               size_t elem_size);
/* asyncio.LifoQueue: the same, but a get takes the newest item. */
ASYNC_API int async_lifo_queue_init(async_queue *q, void *buf, size_t capacity,
                                    size_t elem_size);
/* asyncio.PriorityQueue: a get takes the smallest item by cmp (like qsort's:
 * negative when a comes first), items that compare equal in the order they
 * were put (stable).  buf needs ASYNC_PRIORITY_QUEUE_BYTES(capacity,
 * elem_size) bytes: each item is stored with its put number.  A put or a get
 * costs O(log n) comparisons. */
#define ASYNC_PRIORITY_QUEUE_BYTES(capacity, elem_size) ((capacity) * ((elem_size) + 8u))
ASYNC_API int async_priority_queue_init(async_queue *q, void *buf, size_t capacity,
                                        size_t elem_size,
                                        int (*cmp)(const void *a, const void *b));
/* Non-waiting: ASYNC_OK, ASYNC_EAGAIN (full / empty) or ASYNC_ECLOSED. */
ASYNC_API int async_queue_try_put(async_queue *q, const void *item);
ASYNC_API int async_queue_try_get(async_queue *q, void *item);
/* asyncio's task_done() and the count join() waits for. */
ASYNC_API void async_queue_task_done(async_queue *q);
/* Close (asyncio's shutdown): puts fail with ASYNC_ECLOSED from now on;
 * gets drain what is left, then fail with ASYNC_ECLOSED.  Wakes every waiter. */
ASYNC_API void async_queue_close(async_queue *q);
ASYNC_API size_t async_queue_size(const async_queue *q);
/* async_queue_destroy(q): declare the queue out of use (before its storage
 * goes, or before it is initialised again).  Misuse, caught by an assertion:
 * destroying a queue that tasks still wait on (naming one), or whose item or
 * slot was handed to a woken task that has not run yet; waiting on a
 * destroyed one.  async_event_destroy, async_semaphore_destroy and
 * async_lock_destroy do the same for the others.  Every *_init writes the
 * object without reading it: a fresh local, malloc'ed or garbage storage is
 * fine, but init cannot see that the storage still holds an object in use:
 * destroy it first. */
ASYNC_API void async_queue_destroy(async_queue *q);

/* ASYNC_QUEUE_PUT(q, item): copy *item in, waiting while the queue is full.
 * Trap: when it waits, the copy is made on the resume that ends the wait,
 * so *item must still hold the item then: keep it in the state struct, not
 * in a local (a local holds garbage after a suspension, and nothing warns).
 * ASYNC_QUEUE_GET(q, item): copy the oldest item out to *item, waiting while
 * it is empty.  ASYNC_QUEUE_JOIN(q): wait until every item put has been
 * marked done with async_queue_task_done.  ASYNC_STATUS(): ASYNC_OK,
 * ASYNC_ECLOSED or ASYNC_ETIMEDOUT. */
#define ASYNC_QUEUE_PUT(q, item)                                              \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_PUT, "ASYNC_QUEUE_PUT",                   \
                async__put_start(async__t, async__f, (q), (item)),            \
                async__put_resume(async__t, async__f, (q), (item)))
#define ASYNC_QUEUE_GET(q, item)                                              \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_GET, "ASYNC_QUEUE_GET",                   \
                async__get_start(async__t, async__f, (q), (item)),            \
                async__get_resume(async__t, async__f, (q), (item)))
#define ASYNC_QUEUE_JOIN(q)                                                   \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_JOIN, "ASYNC_QUEUE_JOIN",                 \
                async__join_start(async__t, async__f, (q)),                  \
                async__join_resume(async__t, async__f, (q)))

/* ---- events, semaphores, locks ---------------------------------------------- */

typedef struct async_event {
    int set;
    unsigned live;
    async__node *waiters;
} async_event;
ASYNC_API void async_event_init(async_event *e);
/* Set: wake every waiter (each wakes even if the event is cleared again
 * before it runs).  Clear: later waits wait. */
ASYNC_API void async_event_set(async_event *e);
ASYNC_API void async_event_clear(async_event *e);
ASYNC_API int async_event_is_set(const async_event *e);
ASYNC_API void async_event_destroy(async_event *e);
/* ASYNC_EVENT_WAIT(e): wait until set (at once if it is).  ASYNC_STATUS():
 * ASYNC_OK or ASYNC_ETIMEDOUT. */
#define ASYNC_EVENT_WAIT(e)                                                   \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_EVENT, "ASYNC_EVENT_WAIT",                \
                async__event_start(async__t, async__f, (e)),                 \
                async__event_resume(async__t, async__f, (e)))

/* A counting semaphore, strictly FIFO: a release hands the permit to the
 * longest waiter, so a newcomer never barges ahead of it. */
typedef struct async_semaphore {
    long value;
    long held;                /* permits handed to woken tasks not yet run */
    async__node *waiters;
    unsigned live;
} async_semaphore;
ASYNC_API int async_semaphore_init(async_semaphore *s, long value);
/* ASYNC_OK, or ASYNC_EAGAIN when it would have to wait. */
ASYNC_API int async_semaphore_try_acquire(async_semaphore *s);
ASYNC_API void async_semaphore_release(async_semaphore *s);
ASYNC_API void async_semaphore_destroy(async_semaphore *s);
/* ASYNC_SEM_ACQUIRE(s): take a permit, waiting FIFO.  ASYNC_STATUS():
 * ASYNC_OK or ASYNC_ETIMEDOUT (no permit taken). */
#define ASYNC_SEM_ACQUIRE(s)                                                  \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_SEM, "ASYNC_SEM_ACQUIRE",                 \
                async__sem_start(async__t, async__f, (s)),                   \
                async__sem_resume(async__t, async__f, (s)))

/* A lock: a FIFO mutex between tasks.  Only its holder may release it. */
typedef struct async_lock {
    async_semaphore sem;
    async_task *owner;
} async_lock;
ASYNC_API void async_lock_init(async_lock *l);
ASYNC_API int async_lock_locked(const async_lock *l);
ASYNC_API void async_lock_destroy(async_lock *l);
/* ASYNC_LOCK_ACQUIRE(l) / ASYNC_LOCK_RELEASE(l), inside a body. */
#define ASYNC_LOCK_ACQUIRE(l)                                                 \
    do {                                                                      \
        ASYNC_SEM_ACQUIRE(&(l)->sem);                                         \
        if (ASYNC_STATUS() == ASYNC_OK) (l)->owner = async__t;                \
    } while (0)
#define ASYNC_LOCK_RELEASE(l) async__lock_release(async__t, (l))

/* ---- task groups (asyncio.TaskGroup) ------------------------------------------
 * Spawn tasks into a group, then wait for all of them.  A member FAILS when
 * it finishes with a negative result (ASYNC_RETURN(-code)); the first failure
 * cancels every other member and becomes the group's error.  `waiters` is
 * your array of `capacity` async_waiter, one per member. */
typedef struct async_group {
    async_frame frame;
    async_waiter *w;
    size_t cap, n, pending;
    intptr_t error;           /* first failure's result, or 0 */
    async_task *failed;       /* the member that failed first */
    async__node *waiter;      /* the task in ASYNC_GROUP_WAIT */
} async_group;
ASYNC_API int async_group_init(async_group *g, async_waiter *waiters,
                               size_t capacity);
/* Spawn a member: as async_spawn, or ASYNC_ENOSPC when the group is full. */
ASYNC_API int async_group_spawn(async_group *g, async_loop *loop,
                                async_task *task, async_fn fn, void *state);
/* ASYNC_GROUP_WAIT(g): wait until every member is done.  ASYNC_STATUS() is
 * ASYNC_OK, or ASYNC_ECANCELED if a member failed (g->error holds its
 * result, g->failed the task).  Cancelling the waiter cancels the members. */
#define ASYNC_GROUP_WAIT(g)                                                   \
    do {                                                                      \
        ASYNC_AWAIT(async_group_wait_fn, (g));                                \
        if (ASYNC_STATUS() == ASYNC_OK)                                       \
            async__f->status = async__frame_of(g)->status;                    \
    } while (0)
ASYNC_API int async_group_wait_fn(async_task *task, void *state);

/* ---- unbounded queues (asyncio.Queue() without maxsize) -----------------------
 * No allocation and no limit: each item carries its own link.  Put an
 * async_qlink in your item struct; async_lqueue_put never waits (ASYNC_OK,
 * or ASYNC_ECLOSED once closed); ASYNC_LQUEUE_GET(q, &link) waits for the
 * oldest (link: an async_qlink * in your state; ASYNC_CONTAINER_OF gives
 * your item back).  Same hand-over rules as async_queue (FIFO getters, an
 * item handed to a woken getter is kept for it).  ASYNC_STATUS():
 * ASYNC_OK, ASYNC_ECLOSED (closed and drained) or ASYNC_ETIMEDOUT.  The
 * items are yours until taken: do not free one that is still queued. */
#define ASYNC_CONTAINER_OF(ptr, type, member)                                 \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
typedef struct async_qlink {
    struct async_qlink *next;
} async_qlink;
typedef struct async_lqueue {
    async_qlink *head, *tail;
    size_t count, held;       /* held: items handed to woken getters */
    async__node *getters;
    int closed;
    unsigned live;
} async_lqueue;
ASYNC_API int async_lqueue_init(async_lqueue *q);
ASYNC_API int async_lqueue_put(async_lqueue *q, async_qlink *item);
ASYNC_API int async_lqueue_try_get(async_lqueue *q, async_qlink **item);
ASYNC_API size_t async_lqueue_size(const async_lqueue *q);
ASYNC_API void async_lqueue_close(async_lqueue *q);
ASYNC_API void async_lqueue_destroy(async_lqueue *q);
#define ASYNC_LQUEUE_GET(q, item)                                             \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_LGET, "ASYNC_LQUEUE_GET",                 \
                async__lget_start(async__t, async__f, (q), (item)),           \
                async__lget_resume(async__t, async__f, (q), (item)))

#ifdef ASYNC__IO
/* A call from another thread (async_call_soon_threadsafe, below). */
struct async_call {
    async_call *next;
    void (*fn)(async_loop *loop, void *arg);
    void *arg;
    struct async_job *job; /* set for the completion of a worker job */
};
#endif

/* ---- loop callbacks (asyncio's call_soon, call_later, call_at) ----------------
 * async_call_soon(loop, h, fn, arg): run fn(loop, arg) on the loop's next
 * pass, before the tasks that pass runs; callbacks due at the same time run
 * in the order they were scheduled.  async_call_later(loop, h, seconds, fn,
 * arg) and async_call_at(loop, h, when_ns, fn, arg): after a delay, or at a
 * loop time (async_now's clock).  `h` is an async_handle of yours (fresh
 * storage is fine), in use until fn has run or the call is cancelled: do
 * not schedule it again before (cancel it first).  The calls return
 * ASYNC_OK, or ASYNC_EINVAL for a NULL argument.
 * async_handle_cancel(h): 1 if the call was pending and will not run, 0 if
 * it had run or was cancelled already.  async_handle_pending(h): 1 while
 * scheduled.  Loop thread only (from other threads use
 * async_call_soon_threadsafe).  A callback is a plain function: it may
 * spawn, cancel, set events, try_put, schedule callbacks, but not suspend.
 * async_run waits for pending callbacks as it waits for tasks; those still
 * scheduled when async_main returns never run (as with asyncio's
 * loop.close). */
typedef struct async_handle {
    async__node node;         /* in the timers while scheduled */
    void (*fn)(async_loop *loop, void *arg);
    void *arg;
    async_loop *loop;
} async_handle;
ASYNC_API int async_call_soon(async_loop *loop, async_handle *h,
                              void (*fn)(async_loop *, void *), void *arg);
ASYNC_API int async_call_later(async_loop *loop, async_handle *h, double seconds,
                               void (*fn)(async_loop *, void *), void *arg);
ASYNC_API int async_call_at(async_loop *loop, async_handle *h, uint64_t when_ns,
                            void (*fn)(async_loop *, void *), void *arg);
ASYNC_API int async_handle_cancel(async_handle *h);
ASYNC_API int async_handle_pending(const async_handle *h);

/* ---- futures (asyncio.Future) ---------------------------------------------------
 * A result that is set once, by a task, a callback or another thread, and
 * awaited by any number of tasks.  async_future_init(f, loop).
 * async_future_set_result(f, value), async_future_set_error(f, code) (code
 * -32767..-1, e.g. -ECONNRESET: it becomes the awaiters' ASYNC_STATUS(), a
 * short), async_future_cancel(f): complete it; ASYNC_OK (for cancel: 1), or
 * ASYNC_EINVAL if it was done already (asyncio's InvalidStateError; cancel
 * then returns 0) or the code is out of that range.  async_future_done(f),
 * async_future_result(f) (the value, 0 unless done with a result),
 * async_future_status(f): ASYNC_EAGAIN while pending, then ASYNC_OK, the
 * error code, or ASYNC_ECANCELED.  With I/O, other threads complete it with
 * async_future_set_result_threadsafe / _set_error_threadsafe (once per
 * future: the call's storage is inside it; the loop must be prepared).
 * A task is not cancelled with the future it awaits, nor the future with
 * the task (asyncio cancels the future when the awaiting task is
 * cancelled: here other awaiters keep their future). */
typedef struct async_future {
    async_loop *loop;
    async__node *waiters;     /* awaiting tasks and done callbacks */
    intptr_t result;
    int state;                /* ASYNC_PENDING, ASYNC_DONE, ASYNC_CANCELLED */
    int error;                /* set_error's code, or 0 */
    unsigned live;
#ifdef ASYNC__IO
    async_call call;          /* the _threadsafe setters' delivery */
    intptr_t ts_result;
    int ts_error;
#endif
} async_future;
ASYNC_API int async_future_init(async_future *f, async_loop *loop);
ASYNC_API void async_future_destroy(async_future *f);
ASYNC_API int async_future_set_result(async_future *f, intptr_t value);
ASYNC_API int async_future_set_error(async_future *f, int code);
ASYNC_API int async_future_cancel(async_future *f);
ASYNC_API int async_future_done(const async_future *f);
ASYNC_API intptr_t async_future_result(const async_future *f);
ASYNC_API int async_future_status(const async_future *f);
/* ASYNC_FUTURE_AWAIT(f): wait until f is done (at once if it is).
 * ASYNC_STATUS(): ASYNC_OK (the value is async_future_result(f)), the code
 * given to set_error, ASYNC_ECANCELED (the future was cancelled), or
 * ASYNC_ETIMEDOUT. */
#define ASYNC_FUTURE_AWAIT(f)                                                 \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_FUTURE, "ASYNC_FUTURE_AWAIT",             \
                async__future_start(async__t, async__f, (f)),                \
                async__future_resume(async__t, async__f, (f)))

/* Done callbacks (asyncio's add_done_callback), on futures and on tasks:
 * fn(loop, arg) runs with async_call_soon once the future or task is done
 * (at the next pass if it is done already).  `cb` is yours until fn has run
 * or async_done_callback_remove(cb) returned 1 (it had not run). */
typedef struct async_done_callback {
    async_waiter w;           /* on the future's or task's list until done */
    async_handle h;           /* then scheduled */
} async_done_callback;
ASYNC_API int async_future_add_done_callback(async_future *f, async_done_callback *cb,
                                             void (*fn)(async_loop *, void *),
                                             void *arg);
ASYNC_API int async_task_add_done_callback(async_task *task, async_done_callback *cb,
                                           void (*fn)(async_loop *, void *), void *arg);
ASYNC_API int async_done_callback_remove(async_done_callback *cb);

/* ---- conditions (asyncio.Condition) ---------------------------------------------
 * A condition over an async_lock of yours.  ASYNC_COND_WAIT(c), with the
 * lock held: release it, wait for a notify, take the lock again, return.
 * The lock is held again when it returns WHATEVER ASYNC_STATUS() says
 * (ASYNC_OK, ASYNC_ETIMEDOUT, or a cancellation that unwinds to your
 * ASYNC_FINALLY, which must release it), as in asyncio.  Notified waiters
 * queue for the lock in FIFO order behind its other waiters.
 * ASYNC_COND_WAIT_FOR(c, predicate): wait until the expression holds
 * (checked with the lock held; evaluated again after each wake-up).
 * async_condition_notify(c, n) / _notify_all(c): wake n / all waiters; the
 * notifier should hold the lock, as in asyncio (it is not checked: a
 * callback may notify too).  A waiter notified but cancelled or timed out
 * before its wait returns passes the notification on to the next waiter,
 * so none is lost (as in asyncio since Python 3.13). */
typedef struct async_condition {
    async_lock *lock;
    async__node *waiters;
    unsigned live;
} async_condition;
ASYNC_API int async_condition_init(async_condition *c, async_lock *lock);
ASYNC_API void async_condition_destroy(async_condition *c);
ASYNC_API void async_condition_notify(async_condition *c, size_t n);
ASYNC_API void async_condition_notify_all(async_condition *c);
#define ASYNC_COND_WAIT(c)                                                    \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_COND, "ASYNC_COND_WAIT",                  \
                async__cond_start(async__t, async__f, (c)),                  \
                async__cond_resume(async__t, async__f, (c)))
#define ASYNC_COND_WAIT_FOR(c, predicate)                                     \
    do {                                                                      \
        async__f->status = ASYNC_OK;                                          \
        while (!(predicate)) {                                                \
            ASYNC_COND_WAIT(c);                                               \
            if (ASYNC_STATUS() != ASYNC_OK) break;                            \
        }                                                                     \
    } while (0)

/* ---- barriers (asyncio.Barrier) ------------------------------------------------
 * async_barrier_init(b, parties) (parties >= 1).  ASYNC_BARRIER_WAIT(b,
 * &index): wait until `parties` tasks are waiting, then all go on;
 * `index` (a size_t of yours) gets the arrival order 0..parties-1.
 * ASYNC_STATUS(): ASYNC_OK, ASYNC_EBROKEN (aborted or reset while waiting,
 * or waiting on an aborted barrier), ASYNC_ETIMEDOUT.  A waiter cancelled
 * or timed out leaves the barrier (the others keep waiting), as in asyncio;
 * one let go by abort or reset has left already (it never counts in the
 * next round).
 * async_barrier_abort(b): break it (waiters and later waits get
 * ASYNC_EBROKEN); async_barrier_reset(b): waiters get ASYNC_EBROKEN, then it
 * is empty and usable again.  async_barrier_waiting(b),
 * async_barrier_broken(b). */
typedef struct async_barrier {
    size_t parties, count;
    int broken;
    unsigned live;
    async__node *waiters;
} async_barrier;
ASYNC_API int async_barrier_init(async_barrier *b, size_t parties);
ASYNC_API void async_barrier_destroy(async_barrier *b);
ASYNC_API void async_barrier_abort(async_barrier *b);
ASYNC_API void async_barrier_reset(async_barrier *b);
ASYNC_API size_t async_barrier_waiting(const async_barrier *b);
ASYNC_API int async_barrier_broken(const async_barrier *b);
#define ASYNC_BARRIER_WAIT(b, index)                                          \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_BARRIER, "ASYNC_BARRIER_WAIT",            \
                async__barrier_start(async__t, async__f, (b), (index)),      \
                async__barrier_resume(async__t, async__f, (b)))

/* ---- waiting for some of many tasks (asyncio.wait) -----------------------------
 * ASYNC_WAIT_TASKS(ws, waiters, tasks, n, when): wait until, among the n
 * tasks, the first is done (ASYNC_FIRST_COMPLETED), the first fails or all
 * are done (ASYNC_FIRST_EXCEPTION), or all are done (ASYNC_ALL_COMPLETED).
 * `ws` is an async_wait and `waiters` an array of n async_waiter, yours.
 * A task FAILS when it ends, not cancelled, with a negative result (as in
 * task groups).  Then ws->done counts the tasks done; the done set is
 * those with async_task_done(tasks[i]), the pending set the others (they
 * are not cancelled).  ASYNC_STATUS(): ASYNC_OK, or ASYNC_ETIMEDOUT under a
 * timeout (asyncio.wait's timeout: the sets are as they are then). */
#define ASYNC_FIRST_COMPLETED 1
#define ASYNC_FIRST_EXCEPTION 2
#define ASYNC_ALL_COMPLETED 3
typedef struct async_wait {
    async_task *const *tasks;
    async_waiter *w;
    size_t n, done;
    int when;
    async_task *first_failed; /* the first task seen failing, or NULL */
    async__node *waiter;      /* the task waiting */
} async_wait;
#define ASYNC_WAIT_TASKS(ws, waiters, tasks, n, when)                         \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_WAIT, "ASYNC_WAIT_TASKS",                 \
                async__waitset_start(async__t, async__f, (ws), (waiters), (tasks), (n), (when)), \
                async__waitset_resume(async__t, async__f, (ws)))

/* ---- generators without a loop -------------------------------------------------
 * ASYNC_FOR_EACH(var, fn, gen_state) statement: in plain C (main, a
 * callback, anywhere), run the generator fn over gen_state and run the
 * statement with var = each value it yields (assigned from intptr_t), like
 * `for v in gen():` over a plain Python generator.  The generator must not
 * wait (sleep, await, ...): with no loop around it nothing could wake it,
 * so that is an assertion; drive such a generator from a task with
 * ASYNC_NEXT.  A `break` leaves the generator suspended (its ASYNC_FINALLY
 * does not run).  It costs one loop and one task on the stack. */
typedef struct async_iter {
    async_loop loop;
    async_task task;
} async_iter;
#define ASYNC_FOR_EACH(var, fn, gen_state)                                    \
    for (async_iter async__iter, *async__itp =                                \
             async__iter_start(&async__iter, (fn), (gen_state));              \
         async__iter_next(async__itp) &&                                      \
         ((var) = async__iter_value(async__itp), 1);)

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
    async_wait ws;            /* ASYNC_GATHER_FAIL_FAST */
    long failed;              /* its first failure's index, or -1 */
    intptr_t error;           /* that task's result */
    struct async_coro *coros; /* ASYNC_GATHER_COROS: the tasks are in here */
} async_gather;

/* A coroutine to gather: asyncio.gather(coro(), coro()) without declaring
 * tasks by hand.  async_coro_init(c, fn, state); ASYNC_GATHER_COROS(g, c, n,
 * results) spawns each and gathers them like ASYNC_GATHER (results in
 * argument order; a c[i] must not be pending from an earlier gather).  Each
 * result is also async_task_result(&c[i].task). */
typedef struct async_coro {
    async_task task;
    async_fn fn;
    void *state;
} async_coro;
ASYNC_API void async_coro_init(async_coro *c, async_fn fn, void *state);
#define ASYNC_GATHER_COROS(g, coros, n, results)                              \
    do {                                                                      \
        async_gather_init((g), NULL, (n), (results));                        \
        async__gather_spawn((g), async__t->loop, (coros));                    \
        ASYNC_AWAIT(async_gather_fn, (g));                                    \
    } while (0)
ASYNC_API void async_gather_init(async_gather *g, async_task *const *tasks,
                                 size_t n, intptr_t *results);
ASYNC_API int async_gather_fn(async_task *task, void *state);
ASYNC_API int async_gather_fail_fast_fn(async_task *task, void *state);

/* Duration helpers: seconds (double) and milliseconds to nanoseconds,
 * saturating; negative and NaN give 0. */
ASYNC_API int64_t async_seconds_to_ns(double seconds);
ASYNC_API int64_t async_ms_to_ns(int64_t ms);

/* ==========================================================================
 * I/O (POSIX and Windows): readiness waits, sockets, worker threads, embedding
 * ==========================================================================
 * Compiled unless ASYNC_NO_OS or ASYNC_NO_IO is defined.  On Linux the loop
 * waits in epoll, with a timerfd in the set for precise wake-ups and an
 * eventfd for other threads; define ASYNC_POLL to use poll() instead (the
 * default on other Unixes).  The OS resources are made when first needed
 * on the loop's thread (or by async_loop_prepare); async_loop_close frees
 * them.
 *
 * Windows: sockets only, through WSAPoll (at most ASYNC_POLL_MAX at once),
 * with a pair of loopback UDP sockets for wake-ups; worker threads are
 * Win32 threads.  Link with ws2_32 (-lws2_32; MSVC links it by itself).
 * Pass a SOCKET where an fd is asked for, cast to int: socket handles are
 * 32-bit significant.  Errors are the same -errno names as elsewhere
 * (-ECONNREFUSED, -EBADF for a closed or non-socket handle, ...).  Before
 * Windows 10 version 2004, WSAPoll does not report a failed connect: such
 * a connect ends only at its time limit (give ASYNC_SOCK_CONNECT one). */
#ifdef ASYNC__IO
/* What a readiness wait waits for. */
#define ASYNC_READ 1u
#define ASYNC_WRITE 2u

/* A file descriptor watched by a loop: a socket, pipe, tty or eventfd (not
 * a regular file: offload file I/O with ASYNC_TO_THREAD).  Storage is
 * yours; any number of tasks may wait on one handle. */
struct async_io {
    async_loop *loop;
    int fd;
    unsigned ready;           /* readiness seen: a hint, confirmed before use */
    unsigned char open;
    unsigned char socket;     /* writes use send(MSG_NOSIGNAL) */
    unsigned char blocking;   /* fd was blocking: detach restores that */
    async__node *readers, *writers;
    async_io *next, *prev;    /* poll backend: the loop's open handles */
};

/* async_io_open(loop, io, fd): watch fd (on Windows: a SOCKET, cast to
 * int).  The fd is made non-blocking while it is watched
 * (async_io_detach restores its blocking mode; on Windows, which cannot
 * tell, it makes the socket blocking, the mode sockets start in); nothing
 * else about it changes (close-on-exec stays as it was).  Returns ASYNC_OK
 * or -errno: -EBADF for an invalid fd (on Windows: anything but an open
 * socket), -EPERM for a regular file, a directory or a block device
 * (nothing to wait for: offload them with ASYNC_TO_THREAD), checked before
 * anything is changed.
 * async_io_close(io): stop watching and close(fd); tasks waiting on it wake
 * with -EBADF.  async_io_detach(io): the same without closing fd, which goes
 * back to its own blocking mode (for an fd you hand on, e.g. to a child
 * process or to stdio). */
ASYNC_API int async_io_open(async_loop *loop, async_io *io, int fd);
ASYNC_API int async_io_close(async_io *io);
ASYNC_API int async_io_detach(async_io *io);

/* ASYNC_IO_WAIT(io, ASYNC_READ or ASYNC_WRITE): wait until the fd is
 * readable / writable now (or has an error or hang-up to report), like
 * asyncio's add_reader / add_writer: level-triggered, so it is right after
 * any read or write, yours (recv, recvfrom, accept4, a library's) or
 * async.h's.  Returns at once if it already is; that check costs one poll()
 * only when the loop has seen the fd ready since its last would-block.
 * ASYNC_STATUS(): ASYNC_OK, -EBADF (closed meanwhile) or ASYNC_ETIMEDOUT. */
#define ASYNC_IO_WAIT(io, events)                                             \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_IO, "ASYNC_IO_WAIT",                      \
                async__io_wait_start(async__t, async__f, (io), (events)),    \
                async__io_wait_resume(async__t, async__f, (io), (events)))

/* ASYNC_IO_WAIT_ANY(sel, waiters, ios, n, events): one task waiting on many
 * fds: wait until the first of the n handles ios[] is ready for `events`
 * (first ready wins; if several already are, the lowest index).  `sel` is an
 * async_io_select and `waiters` an array of n async_waiter, both yours.  Then
 * sel->index is the winner; ASYNC_STATUS() is ASYNC_OK, -EBADF if that handle
 * was closed, or ASYNC_ETIMEDOUT. */
typedef struct async_io_select {
    async_io *const *ios;
    async_waiter *w;
    size_t n;
    unsigned events;
    long index;               /* the handle that was ready, or -1 */
    async__node *waiter;      /* the task waiting */
} async_io_select;
#define ASYNC_IO_WAIT_ANY(sel, waiters, ios, n, events)                       \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_SELECT, "ASYNC_IO_WAIT_ANY",              \
                async__sel_start(async__t, async__f, (sel), (waiters), (ios), (n), (events)), \
                async__sel_resume(async__t, async__f, (sel)))

/* async_io_read(io, buf, n) / async_io_write(io, buf, n): one non-blocking
 * read / write: the byte count (0 = end of file), or -errno; -EAGAIN means
 * "wait with ASYNC_IO_WAIT and try again".  A write to a socket or pipe
 * whose reader has gone returns -EPIPE and never raises SIGPIPE (sockets:
 * MSG_NOSIGNAL; pipes and ttys: SIGPIPE is held for the call and a SIGPIPE
 * the write raised is consumed; this needs the POSIX signal API, visible
 * unless the program is built in a strict ISO mode such as -std=c99 without
 * _POSIX_C_SOURCE: there a pipe write checks for a gone reader first, which
 * leaves a window of one system call). */
ASYNC_API intptr_t async_io_read(async_io *io, void *buf, size_t n);
ASYNC_API intptr_t async_io_write(async_io *io, const void *buf, size_t n);

/* ---- sockets -------------------------------------------------------------------
 * Small awaitable helpers, each a child coroutine over an async_sock_op in
 * your state.  Their value is ASYNC_RESULT(op): a byte count or 0, or a
 * negative code (-errno, or ASYNC_ETIMEDOUT).  IPv4 and IPv6 alike. */
struct sockaddr;
typedef struct async_sock_op {
    async_frame frame;
    async_io *io, *out;
    unsigned char *buf;
    size_t len, done;
    const struct sockaddr *addr;
    unsigned addrlen;
    int64_t timeout_ns;
    async_timeout tmo;
} async_sock_op;

/* async_tcp_socket(loop, io, family): a non-blocking TCP socket (AF_INET or
 * AF_INET6) watched by io.  async_tcp_listen(loop, io, addr, addrlen,
 * backlog): the same, bound (SO_REUSEADDR) and listening. -errno on failure. */
ASYNC_API int async_tcp_socket(async_loop *loop, async_io *io, int family);
ASYNC_API int async_tcp_listen(async_loop *loop, async_io *io,
                               const struct sockaddr *addr, unsigned addrlen,
                               int backlog);

/* ASYNC_SOCK_CONNECT(op, io, addr, addrlen, seconds): connect io's socket;
 * seconds <= 0 means no time limit.  Result 0, -ECONNREFUSED, ...,
 * ASYNC_ETIMEDOUT. */
#define ASYNC_SOCK_CONNECT(op, io, addr, addrlen, seconds)                    \
    ASYNC__SOCK(op, async__sock_setup((op), (io), NULL, 0, (addr), (addrlen), \
                                      async_seconds_to_ns(seconds), NULL),    \
                async_sock_connect_fn)
/* ASYNC_SOCK_ACCEPT(op, listener, client): accept one connection and watch
 * it with the async_io `client`.  Result 0 or -errno.  It never returns for
 * want of resources and never spins: when the process is out of file
 * descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), it pauses 10 ms,
 * then 20, 40 ... up to 1 s between tries (ASYNC_ACCEPT_BACKOFF_MS), while
 * the connection waits in the listen backlog and other tasks run; it
 * returns once a connection is accepted (then op->done is how many pauses
 * it took: log it if you like).  Errors of one pending connection (aborted,
 * network unreachable) are skipped, as Linux's accept(2) advises. */
#define ASYNC_SOCK_ACCEPT(op, listener, client)                               \
    ASYNC__SOCK(op, async__sock_setup((op), (listener), NULL, 0, NULL, 0, 0, (client)), \
                async_sock_accept_fn)
/* ASYNC_SOCK_RECV(op, io, buf, len): read what is there, waiting until
 * something is: the count, 0 at end of stream, or -errno. */
#define ASYNC_SOCK_RECV(op, io, buf, len)                                     \
    ASYNC__SOCK(op, async__sock_setup((op), (io), (buf), (len), NULL, 0, 0, NULL), \
                async_sock_recv_fn)
/* ASYNC_SOCK_RECV_EXACTLY(op, io, buf, len): read exactly len bytes: len,
 * fewer if the stream ends first, or -errno. */
#define ASYNC_SOCK_RECV_EXACTLY(op, io, buf, len)                             \
    ASYNC__SOCK(op, async__sock_setup((op), (io), (buf), (len), NULL, 0, 0, NULL), \
                async_sock_recv_exactly_fn)
/* ASYNC_SOCK_SENDALL(op, io, buf, len): write all len bytes: len or -errno. */
#define ASYNC_SOCK_SENDALL(op, io, buf, len)                                  \
    ASYNC__SOCK(op, async__sock_setup((op), (io), (void *)(buf), (len), NULL, 0, 0, NULL), \
                async_sock_sendall_fn)
#define ASYNC__SOCK(op, setup, fn)                                            \
    do {                                                                      \
        setup;                                                                \
        ASYNC_AWAIT(fn, (op));                                                \
    } while (0)

ASYNC_API int async_sock_connect_fn(async_task *task, void *state);
ASYNC_API int async_sock_accept_fn(async_task *task, void *state);
ASYNC_API int async_sock_recv_fn(async_task *task, void *state);
ASYNC_API int async_sock_recv_exactly_fn(async_task *task, void *state);
ASYNC_API int async_sock_sendall_fn(async_task *task, void *state);

/* ---- other threads ---------------------------------------------------------------
 * async_call_soon_threadsafe(loop, call, fn, arg): from any thread, have the
 * loop run fn(loop, arg) on its own thread at its next pass, whatever the
 * loop is busy with (it never waits behind ready tasks), and never between
 * the loop's own steps: fn may spawn, cancel, close handles.  A call that
 * arrives while the loop is not running runs at its next run or step, and
 * async_run does not return OK with a call undelivered.  `call` is your
 * storage until fn runs.  The loop must have been prepared
 * (async_loop_prepare) before other threads use it; ASYNC_EINVAL otherwise.
 * async_loop_keepalive(loop, +1 / -1): while positive, a loop with nothing
 * else to do waits for such calls instead of reporting ASYNC_EDEADLK. */
ASYNC_API int async_call_soon_threadsafe(async_loop *loop, async_call *call,
                                         void (*fn)(async_loop *, void *),
                                         void *arg);
ASYNC_API void async_loop_keepalive(async_loop *loop, int delta);

/* A pool of worker threads for blocking calls (asyncio.to_thread).  Storage
 * is yours; async_pool_start(pool, nthreads) starts them (1..64),
 * async_pool_stop(pool) finishes the queued jobs and joins them.
 * Shutting down: stop the pool, then close the loop.  async_loop_close is
 * safe all the same with jobs still in flight for the loop: it waits for
 * them to come back (their results are stored in their jobs) and runs the
 * calls still in the inbox before it frees anything. */
typedef struct async_job async_job;
typedef struct async_pool {
    async__mutex mu;
    async__cond cv;
    async__thread threads[ASYNC_POOL_MAX];
    async_job *head, *tail;
    int nthreads, stop;
} async_pool;
struct async_job {
    intptr_t (*fn)(void *arg);
    void *arg;
    intptr_t result;
    async_loop *loop;
    async_job *next;
    async__node *waiter;
    async_call done_call;
    int done;
};
ASYNC_API int async_pool_start(async_pool *pool, int nthreads);
ASYNC_API void async_pool_stop(async_pool *pool);

/* ASYNC_TO_THREAD(pool, job, fn, arg): run intptr_t fn(arg) on a worker and
 * wait for it; its value is then job->result.  `job` is an async_job in your
 * state.  The wait cannot be cut short: a cancellation or timeout of the task
 * takes effect once fn has returned, so the job's storage is never written
 * after the coroutine has moved on, and no result is lost. */
#define ASYNC_TO_THREAD(pool, job, fn, arg)                                   \
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_THREAD, "ASYNC_TO_THREAD",                \
                async__job_start(async__t, async__f, (pool), (job), (fn), (arg)), \
                async__job_resume(async__t, async__f, (job)))

/* ---- embedding in another event loop --------------------------------------------
 * async_backend_fd(loop): one fd the host can poll for readability; call
 * async_step (below) when it is readable or the next deadline has come.
 * With epoll it becomes readable when a watched fd is ready, a timer is due,
 * or another thread calls in; with the poll backend only for calls from
 * other threads, so the host must also poll the loop's fds itself or step
 * at least every few milliseconds. */
ASYNC_API int async_backend_fd(async_loop *loop);
#endif /* ASYNC__IO */

/* ---- driving the loop yourself (embedding, bare-metal superloops) -------------
 * async_step(loop): one non-blocking pass, the same pass async_run makes
 * (I/O without waiting, due timers, the ready tasks); on a virtual loop with
 * nothing ready, time first jumps to the next deadline.  Returns the number
 * of tasks still pending.  async_next_deadline(loop): when the loop next
 * needs a step: 0 if a task is ready, the earliest timer's or callback's
 * deadline (async_now's clock), or UINT64_MAX.  Both exist in every build,
 * ASYNC_NO_OS included: a superloop with its own clock
 * (async_loop_set_clock) steps when a tick or an interrupt says so, and
 * sleeps (WFI) until async_next_deadline otherwise. */
ASYNC_API int async_step(async_loop *loop);
ASYNC_API uint64_t async_next_deadline(async_loop *loop);

/* async_loop_prepare(loop): make the loop's OS resources now (otherwise made
 * when first needed).  async_loop_close(loop): free them; the loop may be
 * initialised again.  Both are no-ops without I/O support. */
ASYNC_API int async_loop_prepare(async_loop *loop);
ASYNC_API void async_loop_close(async_loop *loop);

/* ==========================================================================
 * Implementation.  Nothing below is public API.
 * ========================================================================== */

/* Misuse checks.  ASYNC_ASSERT_TASK also names the task concerned: the
 * default report adds its async_task_describe line. */
#ifndef ASYNC_ASSERT
#if defined(NDEBUG) || defined(ASYNC_NO_OS)
#define ASYNC_ASSERT(cond, msg) ((void)sizeof(!(cond))) /* not evaluated */
#else
#define ASYNC__DEFAULT_ASSERT 1
#define ASYNC_ASSERT(cond, msg)                                               \
    ((cond) ? (void)0 : async__assert_fail((msg), NULL, __FILE__, __LINE__))
#endif
#endif
#ifndef ASYNC_ASSERT_TASK
#ifdef ASYNC__DEFAULT_ASSERT
#define ASYNC_ASSERT_TASK(cond, msg, task)                                    \
    ((cond) ? (void)0 : async__assert_fail((msg), (task), __FILE__, __LINE__))
#else
#define ASYNC_ASSERT_TASK(cond, msg, task) ASYNC_ASSERT(cond, msg)
#endif
#endif
/* Out of line and cold: the checks inline only a test and a call.  In split
 * mode the implementation file has it whatever its own NDEBUG says, for the
 * files whose checks are on. */
#if defined(ASYNC__DEFAULT_ASSERT) || (defined(ASYNC__SPLIT) && !defined(ASYNC_NO_OS))
ASYNC__COLD_API void async__assert_fail(const char *msg, const async_task *task,
                                       const char *file, int line);
#ifdef ASYNC__DEFS
ASYNC__COLD_API void async__assert_fail(const char *msg, const async_task *task,
                                       const char *file, int line) {
    fflush(stdout);
    if (task) {
        char what[320];
        async_task_describe(task, what, sizeof what);
        fprintf(stderr, "async.h: %s\n  task: %s\n  (checked at %s:%d)\n", msg,
                what, file, line);
    } else {
        fprintf(stderr, "async.h: %s (%s:%d)\n", msg, file, line);
    }
    abort();
}
#endif
#endif

/* The switch backend resumed a coroutine at a point its switch lacks. */
#define ASYNC__FOREIGN_MSG                                                    \
    "a coroutine was resumed at a suspension point that sits inside a "      \
    "switch statement of its own: with the default (switch) backend that "   \
    "resume lands in ASYNC_END and would end the coroutine silently. Use "    \
    "if/else for that switch, or define ASYNC_LABELS=1"
#if !(defined(ASYNC_LABELS) && ASYNC_LABELS) || defined(ASYNC__SPLIT)
ASYNC__COLD_API void async__foreign_resume(const async_task *t, const char *func,
                                          const char *file, int line);
#ifdef ASYNC__DEFS
ASYNC__COLD_API void async__foreign_resume(const async_task *t, const char *func,
                                          const char *file, int line) {
#ifdef ASYNC__DEFAULT_ASSERT
    char what[320];
    fflush(stdout);
    async_task_describe(t, what, sizeof what);
    fprintf(stderr, "async.h: in coroutine %s (ASYNC_BEGIN at %s:%d): %s\n", func, file,
            line, ASYNC__FOREIGN_MSG);
#ifndef ASYNC_NO_INTROSPECTION
    if (t->site)
        fprintf(stderr, "  the suspension point: %s at %s:%d\n", t->site->what,
                t->site->file, t->site->line);
#endif
    fprintf(stderr, "  task: %s\n", what);
    abort();
#else
    (void)t;
    (void)func;
    (void)file;
    (void)line;
    ASYNC_ASSERT_TASK(0, ASYNC__FOREIGN_MSG, t);
#endif
}
#endif
#endif

#if defined(ASYNC_TRACE) && defined(ASYNC__DEFS)
static inline uint64_t async__trace_resume(async_loop *loop, async_task *t, int fresh);
static inline void async__trace_slice(async_loop *loop, async_task *t,
                                      uint64_t start, int r);
#define ASYNC__TRACE_BEFORE(loop, t)                                          \
    int async__fresh = async__frame_of((t)->state)->pc == 0;                  \
    uint64_t async__t0 =                                                      \
        (loop)->trace ? async__trace_resume((loop), (t), async__fresh) : 0;
#define ASYNC__TRACE_AFTER(loop, t, r)                                        \
    if ((loop)->trace) async__trace_slice((loop), (t), async__t0, (r));
#else
#define ASYNC__TRACE_BEFORE(loop, t)
#define ASYNC__TRACE_AFTER(loop, t, r)
#endif

#ifdef ASYNC__IO
#ifdef ASYNC__DEFS
static inline void async__io_init(async_loop *loop);
static inline int async__io_busy(const async_loop *loop);
static inline int async__io_poll(async_loop *loop, uint64_t deadline);
static inline void async__be_embed(async_loop *loop, uint64_t deadline);
static inline int async__io_idle(async_loop *loop, uint64_t deadline);
static inline void async__drain_inbox(async_loop *loop);
#endif
#define ASYNC__IO_BUSY(loop) async__io_busy(loop)
#define ASYNC__INBOX(loop) (ASYNC__LOAD_PTR(&(loop)->inbox) != NULL)
#else
#define ASYNC__IO_BUSY(loop) 0
#endif

#define ASYNC__CAT_(a, b) a##b
#define ASYNC__CAT(a, b) ASYNC__CAT_(a, b)

/* Split mode: the settings that change what files share (frame, task, loop
 * and pool layouts, the resume mechanism) are spelled into one symbol that
 * the implementation file defines and every other file references.  Files
 * built with other settings fail to link, and the undefined symbol the
 * linker names says which settings they were built with, e.g.
 * async_abi_0_6__labels1__introspection1__trace0__wheel__io_epoll_pool64. */
#ifdef ASYNC__SPLIT
#if defined(ASYNC_LABELS) && ASYNC_LABELS
#define ASYNC__ABI_RESUME labels1
#else
#define ASYNC__ABI_RESUME labels0
#endif
#ifdef ASYNC_NO_INTROSPECTION
#define ASYNC__ABI_INTRO introspection0
#else
#define ASYNC__ABI_INTRO introspection1
#endif
#ifdef ASYNC_TRACE
#define ASYNC__ABI_TRACE trace1
#else
#define ASYNC__ABI_TRACE trace0
#endif
#ifdef ASYNC_TIMER_HEAP
#define ASYNC__ABI_TIMERS heap
#else
#define ASYNC__ABI_TIMERS wheel
#endif
#if defined(ASYNC_NO_OS)
#define ASYNC__ABI_OS no_os
#elif defined(ASYNC__EPOLL)
#define ASYNC__ABI_OS ASYNC__CAT(io_epoll_pool, ASYNC_POOL_MAX)
#elif defined(ASYNC__IO)
#define ASYNC__ABI_OS ASYNC__CAT(io_poll_pool, ASYNC_POOL_MAX)
#else
#define ASYNC__ABI_OS no_io
#endif
#define ASYNC__ABI_NAME_(maj, min, r, i, t, tm, os)                          \
    async_abi_##maj##_##min##__##r##__##i##__##t##__##tm##__##os
#define ASYNC__ABI_NAME(maj, min, r, i, t, tm, os) ASYNC__ABI_NAME_(maj, min, r, i, t, tm, os)
#define ASYNC__ABI                                                            \
    ASYNC__ABI_NAME(ASYNC_VERSION_MAJOR, ASYNC_VERSION_MINOR, ASYNC__ABI_RESUME, \
                    ASYNC__ABI_INTRO, ASYNC__ABI_TRACE, ASYNC__ABI_TIMERS, ASYNC__ABI_OS)
extern const int ASYNC__ABI;
#ifdef ASYNC_IMPLEMENTATION
const int ASYNC__ABI = ASYNC_VERSION_NUM;
#elif defined(__GNUC__) || defined(__clang__)
/* A reference the compiler must keep (gcc and clang; elsewhere not checked). */
__attribute__((used)) static const int *const async__abi_ref = &ASYNC__ABI;
#endif
#endif

#if defined(__COUNTER__)
#define ASYNC__ID __COUNTER__
#else
#define ASYNC__ID __LINE__
#endif

/* ---- the coroutine mechanism: resume points, ASYNC_BEGIN/END, the wait macro */

/* Special resume points (a real one is the resume id + 1, always > 0). */
#define ASYNC__PC_DONE (-1)
#define ASYNC__PC_FINALLY (-2)
#define ASYNC__F_FIN 1 /* frame flag: the finally section has been entered */

/* What a node is, for nodes that are not tasks (tasks carry ASYNC__LIVE or
 * ASYNC__DEAD in the same byte), and where it is. */
enum { ASYNC__K_TIMEOUT = 1, ASYNC__K_WAITER, ASYNC__K_CALL };
enum { ASYNC__Q_FIFO = 0, ASYNC__Q_LIFO, ASYNC__Q_PRIORITY };
#define ASYNC__IS_TASK(n) ((n)->magic == ASYNC__LIVE)
enum {
    ASYNC__W_IDLE = 0,
    ASYNC__W_READY,
    ASYNC__W_SLEEPING, /* in the timers (tasks, armed timeouts, callbacks) */
    ASYNC__W_WAITING,  /* in a wait list */
    ASYNC__W_DONE,
    ASYNC__W_FIRED     /* a timeout that expired */
};
/* Task flags.  Shields (finally sections entered and shielded awaits in
 * progress) are counted in node.shield: interruptions from outside them
 * wait until they are gone. */
#define ASYNC__T_CANCEL 0x01u  /* cancellation requested */
#define ASYNC__T_GRANTED 0x02u /* the wait's object was handed over */
#define ASYNC__T_SCOPE 0x04u   /* some armed timeout has fired */
#define ASYNC__T_PEER_CANCELLED 0x08u /* granted by a task that ended cancelled */
#define ASYNC__T_BUDGET 0x10u  /* yielded at a wait because its budget was spent */
#define ASYNC__T_IO_WRITE 0x20u /* parked on an async_io's writers (describe) */
#define ASYNC__T_RELEASED 0x40u /* let go by its object: a barrier broke, a condition notified */
/* Timeout flags. */
#define ASYNC__TM_PAUSED 0x01u /* its generator is suspended at a yield */
#define ASYNC__LIVE 0xA5u
#define ASYNC__DEAD 0xD3u
#define ASYNC__L_RUNNING 0x100u

/* Site kinds: what a suspended task's wait list belongs to. */
enum {
    ASYNC__S_YIELD = 1, ASYNC__S_SLEEP, ASYNC__S_TASK, ASYNC__S_PUT,
    ASYNC__S_GET, ASYNC__S_JOIN, ASYNC__S_EVENT, ASYNC__S_SEM, ASYNC__S_IO,
    ASYNC__S_SELECT, ASYNC__S_THREAD, ASYNC__S_COMPLETED, ASYNC__S_GROUP,
    ASYNC__S_FUTURE, ASYNC__S_COND, ASYNC__S_BARRIER, ASYNC__S_WAIT, ASYNC__S_LGET
};

/* Internal wait outcomes, beside the (<= 0) status codes. */
#define ASYNC__AGAIN 1000  /* parked: suspend */
#define ASYNC__RESTART 1002 /* ASYNC__WAIT: (re)run the wait's start */
#define ASYNC__UNWIND 1001 /* interrupted: leave through finally */

#if defined(__has_attribute)
#define ASYNC__HAS_ATTRIBUTE(x) __has_attribute(x)
#else
#define ASYNC__HAS_ATTRIBUTE(x) 0
#endif

/* Backend-specific pieces: how a resume point is stored and jumped to. */
#if defined(ASYNC_LABELS) && ASYNC_LABELS
#if !defined(__GNUC__) && !defined(__TINYC__)
#error "async.h: ASYNC_LABELS needs labels-as-values (GCC, Clang or TCC)"
#endif
#define ASYNC__DISPATCH(pc)                                                   \
    ((pc) == 0 || (pc) == ASYNC__PC_DONE || (pc) == ASYNC__PC_FINALLY         \
         ? (int)(pc)                                                          \
         : 1)
/* Taking async__exit's address is for Clang, which rejects a computed goto
 * in a function that takes no label's address (a coroutine without a
 * suspension point); it costs nothing. */
#define ASYNC__RESUME_CASE                                                    \
    case 1:                                                                   \
        (void)(__extension__ && async__exit);                                 \
        goto *(void *)async__f->pc;
#define ASYNC__SET_PC(id)                                                     \
    (async__f->pc = (intptr_t) __extension__ && ASYNC__CAT(async__L, id))
#define ASYNC__CHECK_OWN_PC() ((void)async__begin_line)
#define ASYNC__LABEL(id) ASYNC__CAT(async__L, id):
#define ASYNC__LABEL_FT(id) ASYNC__CAT(async__L, id):
/* Computed goto is a GNU extension: silence -Wpedantic for the body only
 * (TCC has computed goto but neither _Pragma nor -Wpedantic). */
#if defined(__GNUC__)
#define ASYNC__DIAG_PUSH                                                      \
    _Pragma("GCC diagnostic push")                                           \
    _Pragma("GCC diagnostic ignored \"-Wpedantic\"")
#define ASYNC__DIAG_POP _Pragma("GCC diagnostic pop")
#else
#define ASYNC__DIAG_PUSH
#define ASYNC__DIAG_POP
#endif
#else
#define ASYNC__DISPATCH(pc) (pc)
/* A real resume point (pc > 0) that lands on `default` is a case of some
 * other switch: a suspension inside a switch statement of the user's. */
#define ASYNC__CHECK_OWN_PC()                                                 \
    do {                                                                      \
        if (async__f->pc > 0)                                                 \
            async__foreign_resume(async__t, __func__, __FILE__,               \
                                  async__begin_line);                         \
    } while (0)
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

/* Suspension points record where they are (one static record each). */
#ifndef ASYNC_NO_INTROSPECTION
#define ASYNC__SITE(kind, what)                                               \
    static const async_site async__site = {__FILE__, __func__, (what),        \
                                           __LINE__, (kind)};
#define ASYNC__AT() (async__t->site = &async__site)
#else
#define ASYNC__SITE(kind, what)
#define ASYNC__AT() ((void)0)
#endif

/* A coroutine returns only what ASYNC_BEGIN's machinery returns: 0
 * (suspended), 1 (finished), 2 (yielded a value).  Anything else comes from a
 * plain `return` in a body: an assertion (a task would otherwise be run again
 * and again from the same point, or a child counted as finished without its
 * cleanup). */
#define ASYNC__BAD_RETURN                                                     \
    "a coroutine returned with a plain `return` in its body: end it with "     \
    "ASYNC_RETURN(value) (its ASYNC_FINALLY runs) or let it reach ASYNC_END"
#define ASYNC__CHECK_RETURN(t, r)                                             \
    ASYNC_ASSERT_TASK((unsigned)(r) <= 2u, ASYNC__BAD_RETURN, (t))

/* The hot path: requeue and suspend; after resuming, only a pending
 * interruption costs more than one flag test. */
#define ASYNC__YIELD(id, what)                                                \
    do {                                                                      \
        ASYNC__SITE(ASYNC__S_YIELD, what)                                     \
        ASYNC__SET_PC(id);                                                    \
        ASYNC__AT();                                                          \
        async__push_ready(async__t->loop, async__t);                          \
        return 0;                                                             \
        ASYNC__LABEL(id)                                                      \
        if (async__t->node.flags & (ASYNC__T_CANCEL | ASYNC__T_SCOPE)) {      \
            async__f->status = (short)async__intr_status(async__t, async__f); \
            if (async__f->status == ASYNC__UNWIND) goto async__exit;          \
        } else                                                                \
            async__f->status = ASYNC_OK;                                      \
    } while (0)

/* Every other wait: `start` finishes at once (a status), parks the task
 * (ASYNC__AGAIN) or finds it interrupted (ASYNC__UNWIND); `resume` runs after
 * each wake-up and answers the same way (AGAIN: parked again).  A task whose
 * budget is spent yields before `start` (flag T_BUDGET: the resume is then
 * the start), which keeps one resume point per wait. */
#define ASYNC__WAIT(id, kind, what, start, resume)                            \
    do {                                                                      \
        ASYNC__SITE(kind, what)                                               \
        async__f->status = (short)(async__budget_spent(async__t)              \
                                       ? async__budget_yield(async__t)        \
                                       : ASYNC__RESTART);                     \
        for (;;) { /* one copy of `start`: the compiler inlines it */        \
            if (async__f->status == ASYNC__RESTART)                           \
                async__f->status = (short)(start);                            \
            if (async__f->status != ASYNC__AGAIN) break;                      \
            ASYNC__SET_PC(id);                                                \
            ASYNC__AT();                                                      \
            return 0;                                                         \
            ASYNC__LABEL(id)                                                  \
            async__f->status = (short)(async__budget_resumed(async__t)        \
                                           ? ASYNC__RESTART                   \
                                           : (resume));                       \
        }                                                                     \
        if (async__f->status == ASYNC__UNWIND) goto async__exit;              \
    } while (0)

/* Call a child until it finishes (values it yields are discarded). */
#define ASYNC__AWAIT_RAW(id, fn, child_state, shielded)                       \
    ASYNC__SET_PC(id);                                                        \
    if (shielded) async__shield_up(async__t);                                 \
    ASYNC__LABEL_FT(id)                                                       \
    while ((async__f->status = (short)(fn)(async__t, (child_state))) == 2) {  \
    }                                                                         \
    if (!async__f->status) return 0;                                          \
    ASYNC__CHECK_RETURN(async__t, async__f->status);                          \
    if (shielded) async__t->node.shield--;

#define ASYNC__AWAIT(id, fn, child_state, shielded)                           \
    do {                                                                      \
        async__frame_reset(async__frame_of(child_state));                     \
        ASYNC__AWAIT_RAW(id, fn, child_state, shielded)                       \
        async__f->status = (short)async__intr_status(async__t, async__f);     \
        if (async__f->status == ASYNC__UNWIND) goto async__exit;              \
    } while (0)

#define ASYNC__NEXT(id, fn, gen_state)                                        \
    do {                                                                      \
        ASYNC__SET_PC(id);                                                    \
        ASYNC__LABEL_FT(id)                                                   \
        async__f->status = (short)(fn)(async__t, (gen_state));                \
        if (!async__f->status) return 0;                                      \
        async__f->status = (short)async__next_status(                         \
            async__t, async__f, async__f->status);                            \
        if (async__f->status == ASYNC__UNWIND) goto async__exit;              \
    } while (0)

#define ASYNC__YIELD_VALUE(id, value)                                         \
    do {                                                                      \
        async__f->result = (intptr_t)(value);                                 \
        ASYNC__SET_PC(id);                                                    \
        async__gen_leave(async__t, async__f);                                 \
        return 2;                                                             \
        ASYNC__LABEL(id)                                                      \
        async__gen_enter(async__t, async__f);                                 \
        async__f->status = (short)async__intr_status(async__t, async__f);     \
        if (async__f->status == ASYNC__UNWIND) goto async__exit;              \
    } while (0)

static inline async_frame *async__frame_of(void *state) {
    return (async_frame *)state;
}
static inline void async__frame_reset(async_frame *f) {
    f->pc = 0;
    f->flags = 0;
    f->status = 0;
    f->result = 0;
}
static inline async_task *async__task_of(async__node *n) {
    return (async_task *)(void *)n;
}

/* ---- ready queue: FIFO, singly linked through link.l.next --------------- */

static inline void async__push_ready(async_loop *loop, async_task *t) {
    t->node.where = ASYNC__W_READY;
    t->node.link.l.next = NULL;
    loop->nready++;
    if (loop->tail)
        loop->tail->node.link.l.next = &t->node;
    else
        loop->head = t;
    loop->tail = t;
}

/* ---- cooperative budget ---------------------------------------------------
 * Each step of a task starts with ASYNC_BUDGET units; every wait takes one
 * (one that then suspends ends the step, so only waits that complete at
 * once really spend it).  With none left, the wait yields first. */
static inline int async__budget_spent(async_task *t) {
#if ASYNC_BUDGET > 0
    if (t->loop->budget == 0) return 1;
    t->loop->budget--;
#else
    (void)t;
#endif
    return 0;
}

static inline int async__budget_yield(async_task *t) {
    t->node.flags |= ASYNC__T_BUDGET;
    async__push_ready(t->loop, t);
    return ASYNC__AGAIN;
}

static inline int async__budget_resumed(async_task *t) {
    if (!(t->node.flags & ASYNC__T_BUDGET)) return 0;
    t->node.flags &= (uint8_t)~ASYNC__T_BUDGET;
    return 1;
}

/* What the macros call, defined below (in split mode, in the file that
 * defines ASYNC_IMPLEMENTATION). */
ASYNC_API int async__barrier_resume(async_task *t, async_frame *f, async_barrier *b);
ASYNC_API int async__barrier_start(async_task *t, async_frame *f, async_barrier *b,
                                   size_t *index);
ASYNC_API int async__cond_resume(async_task *t, async_frame *f, async_condition *c);
ASYNC_API int async__cond_start(async_task *t, async_frame *f, async_condition *c);
ASYNC_API void async__enter_finally(async_task *t, async_frame *f);
ASYNC_API void async__frame_done(async_task *t, async_frame *f);
ASYNC_API int async__future_resume(async_task *t, async_frame *f, async_future *fu);
ASYNC_API int async__future_start(async_task *t, async_frame *f, async_future *fu);
ASYNC_API void async__gather_spawn(async_gather *g, async_loop *loop, async_coro *c);
ASYNC_API void async__gen_enter(async_task *t, async_frame *f);
ASYNC_API void async__gen_leave(async_task *t, async_frame *f);
ASYNC_API int async__intr_status(async_task *t, async_frame *f);
ASYNC_API int async__iter_next(async_iter *it);
ASYNC_API async_iter *async__iter_start(async_iter *it, async_fn fn, void *gen_state);
ASYNC_API intptr_t async__iter_value(const async_iter *it);
ASYNC_API int async__lget_resume(async_task *t, async_frame *f, async_lqueue *q,
                                 async_qlink **item);
ASYNC_API int async__lget_start(async_task *t, async_frame *f, async_lqueue *q,
                                async_qlink **item);
ASYNC_API void async__lock_release(async_task *t, async_lock *l);
ASYNC_API int async__sem_resume(async_task *t, async_frame *f,
                                async_semaphore *s);
ASYNC_API int async__sem_start(async_task *t, async_frame *f,
                               async_semaphore *s);
ASYNC_API void async__shield_up(async_task *t);
ASYNC_API int async__sleep_resume(async_task *t, async_frame *f);
ASYNC_API int async__sleep_start(async_task *t, async_frame *f, int64_t ns,
                                 int absolute);
ASYNC_API int async__task_wait_resume(async_task *t, async_frame *f,
                                      async_task *other);
ASYNC_API int async__task_wait_start(async_task *t, async_frame *f,
                                     async_task *other);
ASYNC_API int async__waitset_resume(async_task *t, async_frame *f, async_wait *ws);
ASYNC_API int async__waitset_start(async_task *t, async_frame *f, async_wait *ws,
                                   async_waiter *waiters, async_task *const *tasks,
                                   size_t n, int when);
ASYNC_API uint64_t async__deadline(async_loop *loop, int64_t ns);
ASYNC_API int async__event_resume(async_task *t, async_frame *f,
                                  async_event *e);
ASYNC_API int async__event_start(async_task *t, async_frame *f,
                                 async_event *e);
ASYNC_API void async__gen_close(async_task *t, async_frame *g);
ASYNC_API int async__get_resume(async_task *t, async_frame *f,
                                async_queue *q, void *item);
ASYNC_API int async__get_start(async_task *t, async_frame *f, async_queue *q,
                               void *item);
ASYNC_API int async__join_resume(async_task *t, async_frame *f,
                                 async_queue *q);
ASYNC_API int async__join_start(async_task *t, async_frame *f, async_queue *q);
ASYNC_API int async__next_status(async_task *t, async_frame *f, int r);
ASYNC_API int async__put_resume(async_task *t, async_frame *f,
                                async_queue *q, const void *item);
ASYNC_API int async__put_start(async_task *t, async_frame *f, async_queue *q,
                               const void *item);
ASYNC_API void async__timeout_arm(async_task *t, async_frame *f,
                                  async_timeout *tmo, uint64_t deadline);
ASYNC_API void async__timeout_disarm(async_task *t, async_timeout *tmo);
#ifdef ASYNC__IO
ASYNC_API int async__sel_resume(async_task *t, async_frame *f, async_io_select *sel);
ASYNC_API int async__sel_start(async_task *t, async_frame *f, async_io_select *sel,
                               async_waiter *waiters, async_io *const *ios, size_t n,
                               unsigned events);
ASYNC_API int async__io_wait_resume(async_task *t, async_frame *f, async_io *io,
                                    unsigned events);
ASYNC_API int async__io_wait_start(async_task *t, async_frame *f, async_io *io,
                                   unsigned events);
ASYNC_API int async__job_resume(async_task *t, async_frame *f, async_job *job);
ASYNC_API int async__job_start(async_task *t, async_frame *f, async_pool *pool,
                               async_job *job, intptr_t (*fn)(void *), void *arg);
ASYNC_API void async__sock_setup(async_sock_op *op, async_io *io, void *buf, size_t len,
                                 const struct sockaddr *addr, unsigned addrlen,
                                 int64_t timeout_ns, async_io *out);
#endif

#ifdef ASYNC__DEFS /* the definitions: not in files that define only ASYNC_EXTERN */

/* ---- wait lists: circular, doubly linked; *owner points at the head ------ */

/* The links alone (the timer wheel's slots use them too). */
static inline void async__list_append(async__node **owner, async__node *n) {
    async__node *h = *owner;
    n->link.l.owner = owner;
    if (!h) {
        n->link.l.next = n->link.l.prev = n;
        *owner = n;
    } else {
        n->link.l.next = h;
        n->link.l.prev = h->link.l.prev;
        h->link.l.prev->link.l.next = n;
        h->link.l.prev = n;
    }
}

static inline void async__list_unlink(async__node *n) {
    async__node **owner = n->link.l.owner;
    if (n->link.l.next == n) {
        *owner = NULL;
    } else {
        n->link.l.prev->link.l.next = n->link.l.next;
        n->link.l.next->link.l.prev = n->link.l.prev;
        if (*owner == n) *owner = n->link.l.next;
    }
}

static inline void async__list_push(async__node **owner, async__node *n) {
    n->where = ASYNC__W_WAITING;
    async__list_append(owner, n);
}

static inline void async__list_remove(async__node *n) {
    ASYNC_ASSERT(n->where == ASYNC__W_WAITING && n->link.l.owner,
                 "a wait list is broken: a waiting task's (or waiter's) storage "
                 "was cleared, overwritten or reused before it was woken");
    async__list_unlink(n);
    n->where = ASYNC__W_IDLE;
}

static inline async__node *async__list_pop(async__node **owner) {
    async__node *n = *owner;
    if (n) async__list_remove(n);
    return n;
}

/* Wake one node taken off a wait list: a task goes to the ready queue
 * (GRANTED tells it the thing it waited for was handed over); a waiter
 * notifies whatever it stands for. */
static inline void async__wake(async_loop *loop, async__node *n, int granted) {
    if (n->magic == ASYNC__K_WAITER) {
        async_waiter *w = (async_waiter *)(void *)n;
        w->notify(w, loop);
    } else {
        ASYNC_ASSERT_TASK(ASYNC__IS_TASK(n),
                          "a wait list holds a task whose storage was "
                          "overwritten, freed or reused before it finished",
                          async__task_of(n));
        if (granted) n->flags |= ASYNC__T_GRANTED;
        async__push_ready(loop, async__task_of(n));
    }
}

static inline int async__wake_one(async_loop *loop, async__node **owner,
                                  int granted) {
    async__node *n = async__list_pop(owner);
    if (!n) return 0;
    async__wake(loop, n, granted);
    return 1;
}

static inline void async__wake_all(async_loop *loop, async__node **owner,
                                   int granted) {
    while (async__wake_one(loop, owner, granted)) {
    }
}

/* The loop of the tasks in a wait list (they all share one), or NULL. */
static inline async_loop *async__list_loop(async__node *head) {
    return head && ASYNC__IS_TASK(head) ? async__task_of(head)->loop : NULL;
}

/* Park the running task on a wait list. */
static inline int async__park(async_task *t, async__node **owner) {
    t->node.flags &= (uint8_t)~(ASYNC__T_GRANTED | ASYNC__T_PEER_CANCELLED | ASYNC__T_RELEASED);
    async__list_push(owner, &t->node);
    return ASYNC__AGAIN;
}

/* Take back the grant a wake-up carried, if any. */
static inline int async__take_grant(async_task *t) {
    int g = (t->node.flags & ASYNC__T_GRANTED) != 0;
    t->node.flags &= (uint8_t)~ASYNC__T_GRANTED;
    return g;
}

/* ---- text for async_task_describe and async_dump --------------------------
 * A bounded string builder that needs no stdio (freestanding builds too);
 * each primitive below describes its own waits with it (async__describe_*),
 * next to its code. */
typedef struct {
    char *buf;
    size_t size, len;
} async__fmt;

static inline void async__fmt_init(async__fmt *o, char *buf, size_t size) {
    o->buf = buf;
    o->size = buf ? size : 0;
    o->len = 0;
}
/* NUL-terminates what fitted; returns the length the whole text wanted. */
static inline size_t async__fmt_end(async__fmt *o) {
    if (o->size) o->buf[o->len < o->size ? o->len : o->size - 1] = '\0';
    return o->len;
}
static inline void async__put_c(async__fmt *o, char c) {
    if (o->len + 1 < o->size) o->buf[o->len] = c;
    o->len++;
}
static inline void async__put_s(async__fmt *o, const char *s) {
    while (*s) async__put_c(o, *s++);
}
static inline void async__put_u(async__fmt *o, uint64_t v) {
    char d[20];
    int n = 0;
    do {
        d[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    while (n) async__put_c(o, d[--n]);
}
static inline void async__put_p(async__fmt *o, const void *p) {
    uintptr_t v = (uintptr_t)p;
    char d[2 * sizeof v];
    int n = 0;
    async__put_s(o, "0x");
    do {
        d[n++] = "0123456789abcdef"[v & 15u];
        v >>= 4;
    } while (v);
    while (n) async__put_c(o, d[--n]);
}
/* ns as seconds with microseconds: "1.500000 s". */
static inline void async__put_ns(async__fmt *o, uint64_t ns) {
    uint64_t us = (ns % 1000000000u) / 1000u;
    int i;
    async__put_u(o, ns / 1000000000u);
    async__put_c(o, '.');
    for (i = 100000; i > 0; i /= 10) async__put_c(o, (char)('0' + (int)(us / (uint64_t)i % 10)));
    async__put_s(o, " s");
}
static inline void async__put_task_name(async__fmt *o, const async_task *t) {
    const char *name = async_task_name(t);
    if (name) {
        async__put_c(o, '"');
        async__put_s(o, name);
        async__put_c(o, '"');
    } else {
        async__put_s(o, "task ");
        async__put_p(o, t);
    }
}
static inline size_t async__list_len(const async__node *head) {
    const async__node *n = head;
    size_t k = 0;
    if (n) do {
            k++;
            n = n->link.l.next;
        } while (n != head);
    return k;
}
/* The object whose wait list `owner` (the list head's address) is. */
#define ASYNC__OWNER(owner, type, member)                                     \
    ((const type *)(const void *)((const char *)(owner) - offsetof(type, member)))

/* " (a of b" then tail, e.g. " (2 of 3 running)". */
static inline void async__put_of(async__fmt *o, uint64_t a, uint64_t b, const char *tail) {
    async__put_s(o, " (");
    async__put_u(o, a);
    async__put_s(o, " of ");
    async__put_u(o, b);
    async__put_s(o, tail);
}

/* ---- timers -------------------------------------------------------------------
 * Every deadline of the loop (sleeping tasks, armed timeouts, callbacks) is
 * a node in one structure with a small API of its own, so that another
 * structure can take its place behind the same calls and the same tests
 * (tests/test_heap.c drives it alone, without a loop):
 *   async__timers_init(tm)
 *   async__timers_insert(tm, n)  n->deadline set by the caller; stamps the
 *                                start order, n->where = SLEEPING
 *   async__timers_remove(tm, n)  n is in tm; n->where = IDLE
 *   async__timers_peek(tm)       the earliest node, or NULL: by deadline,
 *                                then start order (FIFO ties)
 *   async__timers_until(tm, t)   the same if its deadline is <= t, else NULL
 *                                (cheaper: looks no further than t)
 *   async__timers_pop(tm)        remove the earliest and return it
 *   async__timers_verify(...)    check every invariant below (for tests)
 *   tm->n                        how many are in
 * No allocation; nodes are intrusive.
 *
 * The structure: a hierarchical timing wheel (as in the Linux kernel's old
 * cascading timers and tokio) in front of a binary heap, exact to the
 * nanosecond.  Why: a server arms a timeout around every read and almost
 * always cancels it, and a million sleepers make a heap of depth 20 whose
 * every operation misses the cache at each level.  The wheel inserts and
 * cancels in O(1) and touches a node about once per level it falls through.
 *
 *   Wheel.  ASYNC__WHEEL_LEVELS levels of 64 slots; a slot of level L spans
 *   2^(S + 6L) ns (S = ASYNC__WHEEL_SHIFT).  The wheel stands at `horizon`,
 *   a multiple of 2^S.  A deadline d >= horizon goes to level L = the
 *   highest 6-bit group in which d >> S and horizon >> S differ, slot =
 *   that group of d.  So a slot of level L >= 1 is never the one the
 *   horizon is in, and the slots of every level are reached in order.
 *   A slot is an unsorted circular list (O(1) insert and unlink).
 *   Due list.  When nothing earlier is left, the wheel's first non-empty
 *   slot is taken: a level-0 slot is sorted (merge sort, one pass when
 *   already in order, as equal deadlines are) onto the due list and the
 *   horizon moves past it; a higher slot is spread over the levels below.
 *   Heap.  Deadlines before the horizon (started after their slot was
 *   taken) and beyond the wheel's reach; O(log n), exactly as before.
 *   The earliest timer is the earlier of the heap's root and the due list's
 *   head, once that is before `low`, a lower bound of the wheel's deadlines.
 *
 * Invariants (async__timers_verify checks them; the tests call it after
 * random operation sequences, the model test after every step):
 *  1. Heap shape: the nheap nodes form a complete binary tree.  Number the
 *     nodes breadth-first from 1 (the root); node k's children are 2k and
 *     2k+1, so the path from the root to node k is spelled by the bits of k
 *     below its highest set bit, read from the top (0 = left, 1 = right).
 *     root->parent is NULL; a node's children point back at it.
 *  2. Heap order: no node is before its parent under async__timer_before,
 *     which orders by deadline and breaks ties by the start sequence number,
 *     so timers with equal deadlines fire in the order they were started.
 *  3. Due list: circular, sorted under async__timer_before, every deadline
 *     before the horizon; owner is &tm->due.
 *  4. Wheel: every node of slot (L, i) has the deadline that the placement
 *     rule above sends there from today's horizon, and owner &slot[L][i];
 *     used[L] bit i is set exactly when the slot is not empty; low <= every
 *     slot deadline; the horizon is a multiple of 2^S.
 *  5. Counts: n = nheap + nwheel + the due list's length.
 * Which structure holds a node: its third link (parent, or owner) points
 * into tm only for list nodes.  The sequence number is 32 bits compared
 * with wrap-around, which keeps FIFO exact for any two equal-deadline timers
 * started fewer than 2^31 timer starts apart.
 * Define ASYNC_TIMER_HEAP for the heap alone (3 KiB less per loop on a
 * 64-bit target, O(log n) timers).
 * -------------------------------------------------------------------------- */

static inline int async__timer_before(const async__node *a, const async__node *b) {
    if (a->deadline != b->deadline) return a->deadline < b->deadline;
    return (int32_t)(a->seq - b->seq) < 0;
}

/* Index of the highest set bit of x (x != 0). */
static inline int async__msb64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return 63 - __builtin_clzll((unsigned long long)x);
#else
    int bit = 0;
    while (x >>= 1) bit++;
    return bit;
#endif
}

/* ---- the heap ---- */

/* Exchange child c with its parent p in the tree (links only). */
static inline void async__heap_swap(async__timers *tm, async__node *p,
                                    async__node *c) {
    async__node *gp = p->link.h.parent;
    async__node *cl = c->link.h.left, *cr = c->link.h.right, *sib;
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
        tm->root = c;
    else if (gp->link.h.left == p)
        gp->link.h.left = c;
    else
        gp->link.h.right = c;
}

/* The link that holds (or will hold) node number k; *parent gets its parent. */
static inline async__node **async__heap_slot(async__timers *tm, size_t k,
                                             async__node **parent) {
    async__node *node;
    int bit;
    if (k == 1) {
        *parent = NULL;
        return &tm->root;
    }
    bit = async__msb64((uint64_t)k);
    node = tm->root;
    while (--bit > 0 && node)
        node = ((k >> bit) & 1) ? node->link.h.right : node->link.h.left;
    ASYNC_ASSERT(node, "the timer heap is broken: a sleeping task's or an armed "
                       "timeout's storage was overwritten, freed or reused");
    *parent = node;
    return (k & 1) ? &node->link.h.right : &node->link.h.left;
}

static inline void async__heap_up(async__timers *tm, async__node *n) {
    while (n->link.h.parent && async__timer_before(n, n->link.h.parent))
        async__heap_swap(tm, n->link.h.parent, n);
}

static inline void async__heap_down(async__timers *tm, async__node *n) {
    for (;;) {
        async__node *m = n, *l = n->link.h.left, *r = n->link.h.right;
        if (l && async__timer_before(l, m)) m = l;
        if (r && async__timer_before(r, m)) m = r;
        if (m == n) return;
        async__heap_swap(tm, n, m);
    }
}

static inline void async__heap_insert(async__timers *tm, async__node *n) {
    async__node *parent;
    async__node **slot = async__heap_slot(tm, ++tm->nheap, &parent);
    n->link.h.left = n->link.h.right = NULL;
    n->link.h.parent = parent;
    *slot = n;
    async__heap_up(tm, n);
}

static inline void async__heap_remove(async__timers *tm, async__node *n) {
    async__node *parent, *last;
    async__node **slot = async__heap_slot(tm, tm->nheap--, &parent);
    last = *slot;
    ASYNC_ASSERT(last, "the timer heap is broken: a sleeping task's or an armed "
                       "timeout's storage was overwritten, freed or reused");
    *slot = NULL;
    if (last == n) return;
    /* The last node takes n's place, then moves up or down. */
    last->link.h.left = n->link.h.left;
    last->link.h.right = n->link.h.right;
    last->link.h.parent = n->link.h.parent;
    if (last->link.h.left) last->link.h.left->link.h.parent = last;
    if (last->link.h.right) last->link.h.right->link.h.parent = last;
    if (!n->link.h.parent)
        tm->root = last;
    else if (n->link.h.parent->link.h.left == n)
        n->link.h.parent->link.h.left = last;
    else
        n->link.h.parent->link.h.right = last;
    async__heap_down(tm, last);
    async__heap_up(tm, last);
}

#ifndef ASYNC_TIMER_HEAP
/* ---- the wheel and the due list ---- */

/* Slots and the due list are circular lists with an owner, as wait lists
 * are (async__list_append, async__list_unlink), leaving `where` be. */

/* Is n on a list of tm's (a slot or the due list), rather than in the heap?
 * A heap node's third link is its parent, a node or NULL, never inside tm. */
static inline int async__timers_listed(const async__timers *tm, const async__node *n) {
    uintptr_t o = (uintptr_t)n->link.l.owner, t = (uintptr_t)tm;
    return o - t < sizeof *tm;
}

/* The level the placement rule gives deadline d (>= horizon);
 * ASYNC__WHEEL_LEVELS if the wheel does not reach it. */
static inline int async__wheel_level(const async__timers *tm, uint64_t d) {
    uint64_t x = (d >> ASYNC__WHEEL_SHIFT) ^ (tm->horizon >> ASYNC__WHEEL_SHIFT);
    if (d >> 63) return ASYNC__WHEEL_LEVELS; /* keeps horizon + a slot from wrapping */
    return x < 64 ? 0 : async__msb64(x) / 6;
}

static inline void async__wheel_put(async__timers *tm, async__node *n, int level) {
    int sh = ASYNC__WHEEL_SHIFT + 6 * level;
    unsigned i = (unsigned)(n->deadline >> sh) & 63u;
    uint64_t start = n->deadline >> sh << sh;
    async__list_append(&tm->slot[level * 64 + (int)i], n);
    tm->used[level] |= (uint64_t)1 << i;
    if (start < tm->low) tm->low = start;
}

/* Merge two sorted NULL-terminated lists (through next); a wins ties. */
static inline async__node *async__tlist_merge(async__node *a, async__node *b) {
    async__node *head = NULL, *tail = NULL, *e;
    while (a && b) {
        if (async__timer_before(b, a)) {
            e = b;
            b = b->link.l.next;
        } else {
            e = a;
            a = a->link.l.next;
        }
        if (tail)
            tail->link.l.next = e;
        else
            head = e;
        tail = e;
    }
    e = a ? a : b;
    if (tail)
        tail->link.l.next = e;
    else
        head = e;
    return head;
}

/* Merge sort of a NULL-terminated list (through next): bin i holds a sorted
 * run of 2^i nodes, merged like a binary counter, so each node is visited
 * once per level and never walked over. */
static inline async__node *async__tlist_sort(async__node *list) {
    async__node *bin[64], *run;
    int i, top = 0;
    while (list) {
        run = list;
        list = list->link.l.next;
        run->link.l.next = NULL;
        for (i = 0; i < top && bin[i]; i++) {
            run = async__tlist_merge(bin[i], run); /* the older run first */
            bin[i] = NULL;
        }
        if (i == top) top++;
        bin[i] = run;
    }
    run = NULL;
    for (i = 0; i < top; i++)
        if (bin[i]) run = run ? async__tlist_merge(bin[i], run) : bin[i];
    return run;
}

/* Level-0 slot `list` (circular), whose deadlines all follow the due
 * list's, joins the due list in order. */
static inline void async__wheel_expand(async__timers *tm, async__node *list) {
    async__node *n = list, *last = list->link.l.prev, *d;
    /* Each node costs a cache miss on its first touch here: one walk while
     * the slot is in order (equal deadlines are: FIFO), else sort and then
     * walk the nodes the sort has just brought in. */
    do {
        if (n != list && async__timer_before(n, n->link.l.prev)) break;
        n->link.l.owner = &tm->due;
        tm->nwheel--;
        n = n->link.l.next;
    } while (n != list);
    if (n != list) { /* out of order: sort, then relink prev */
        last->link.l.next = NULL;
        list = async__tlist_sort(list);
        n = list;
        for (;;) {
            if (n->link.l.owner != &tm->due) {
                n->link.l.owner = &tm->due;
                tm->nwheel--;
            }
            if (!n->link.l.next) break;
            n->link.l.next->link.l.prev = n;
            n = n->link.l.next;
        }
        last = n;
        last->link.l.next = list;
        list->link.l.prev = last;
    }
    d = tm->due;
    if (!d) {
        tm->due = list;
    } else { /* splice [list..last] after the due list's tail */
        async__node *tail = d->link.l.prev;
        tail->link.l.next = list;
        list->link.l.prev = tail;
        last->link.l.next = d;
        d->link.l.prev = last;
    }
}

/* Put every node of slot list `list` (circular) where the placement rule
 * sends it from today's horizon. */
static inline void async__wheel_spread(async__timers *tm, async__node *list) {
    async__node *n = list, *next;
    list->link.l.prev->link.l.next = NULL;
    for (; n; n = next) {
        next = n->link.l.next;
        async__wheel_put(tm, n, async__wheel_level(tm, n->deadline));
    }
}

/* Take the wheel's first non-empty slot if it starts at or before `limit`
 * and return 1; otherwise set low to its start and return 0. */
static inline int async__wheel_advance(async__timers *tm, uint64_t limit) {
    int level;
    for (level = 0; level < ASYNC__WHEEL_LEVELS; level++) {
        int sh = ASYNC__WHEEL_SHIFT + 6 * level;
        unsigned cur = (unsigned)(tm->horizon >> sh) & 63u, i;
        uint64_t bits = tm->used[level] >> cur, start;
        async__node *list;
        if (!bits) continue;
        i = cur + (unsigned)async__msb64(bits & (~bits + 1));
        start = (tm->horizon >> (sh + 6) << (sh + 6)) | ((uint64_t)i << sh);
        tm->low = start;
        if (start > limit) return 0;
        list = tm->slot[level * 64 + (int)i];
        tm->slot[level * 64 + (int)i] = NULL;
        tm->used[level] &= ~((uint64_t)1 << i);
        if (level > 0) { /* the lower levels are empty: move there */
            tm->horizon = start;
            async__wheel_spread(tm, list);
            return 1;
        }
        tm->horizon = start + ((uint64_t)1 << ASYNC__WHEEL_SHIFT);
        async__wheel_expand(tm, list);
        /* Stepping past slot 63 enters the next slot of a higher level:
         * spread it (and any further up that the step entered). */
        for (level = ASYNC__WHEEL_LEVELS - 1; level > 0; level--) {
            sh = ASYNC__WHEEL_SHIFT + 6 * level;
            cur = (unsigned)(tm->horizon >> sh) & 63u;
            if (!(tm->used[level] >> cur & 1)) continue;
            list = tm->slot[level * 64 + (int)cur];
            tm->slot[level * 64 + (int)cur] = NULL;
            tm->used[level] &= ~((uint64_t)1 << cur);
            async__wheel_spread(tm, list);
        }
        tm->low = tm->horizon;
        return 1;
    }
    ASYNC_ASSERT(tm->nwheel == 0, "the timer wheel is broken: a sleeping task's or an "
                                  "armed timeout's storage was overwritten, freed or reused");
    tm->low = UINT64_MAX;
    return 0;
}
#endif /* ASYNC_TIMER_HEAP */

static inline void async__timers_init(async__timers *tm) {
    tm->root = NULL;
    tm->n = tm->nheap = 0;
    tm->seq = 0;
#ifndef ASYNC_TIMER_HEAP
    tm->nwheel = 0;
    tm->horizon = 0;
    tm->low = UINT64_MAX;
    tm->due = NULL;
    memset(tm->used, 0, sizeof tm->used);
    memset(tm->slot, 0, sizeof tm->slot);
#endif
}

static inline void async__timers_insert(async__timers *tm, async__node *n) {
    n->where = ASYNC__W_SLEEPING;
    n->seq = tm->seq++;
    tm->n++;
#ifndef ASYNC_TIMER_HEAP
    if (n->deadline >= tm->horizon) {
        int level = async__wheel_level(tm, n->deadline);
        if (level < ASYNC__WHEEL_LEVELS) {
            async__wheel_put(tm, n, level);
            tm->nwheel++;
            return;
        }
    }
#endif
    async__heap_insert(tm, n);
}

static inline void async__timers_remove(async__timers *tm, async__node *n) {
    tm->n--;
    n->where = ASYNC__W_IDLE;
#ifndef ASYNC_TIMER_HEAP
    if (async__timers_listed(tm, n)) {
        async__node **owner = n->link.l.owner;
        async__list_unlink(n);
        if (owner != &tm->due) {
            size_t k = (size_t)(owner - tm->slot);
            tm->nwheel--;
            if (!*owner) tm->used[k / 64] &= ~((uint64_t)1 << (k % 64));
        }
        return;
    }
#endif
    async__heap_remove(tm, n);
}

static inline async__node *async__timers_until(async__timers *tm, uint64_t limit) {
    for (;;) {
        async__node *m = tm->root;
#ifndef ASYNC_TIMER_HEAP
        async__node *d = tm->due;
        if (!m || (d && async__timer_before(d, m))) m = d;
        if (tm->nwheel && (!m || m->deadline >= tm->low)) {
            /* a slot may hold an earlier one: look as far as needed */
            uint64_t upto = m && m->deadline < limit ? m->deadline : limit;
            if (tm->low <= upto) {
                async__wheel_advance(tm, upto);
                continue;
            }
            if (!m || m->deadline > limit) return NULL;
        }
#endif
        return m && m->deadline <= limit ? m : NULL;
    }
}

static inline async__node *async__timers_peek(async__timers *tm) {
    return async__timers_until(tm, UINT64_MAX);
}

static inline async__node *async__timers_pop(async__timers *tm) {
    async__node *n = async__timers_peek(tm);
    if (n) async__timers_remove(tm, n);
    return n;
}

/* Is n the timer that comes first without looking into the wheel (a cheap
 * check by address, for storage reused while still scheduled)? */
static inline int async__timers_head(const async__timers *tm, const async__node *n) {
#ifndef ASYNC_TIMER_HEAP
    if (tm->due == n) return 1;
#endif
    return tm->root == n;
}

/* Check invariants 1-5; collect the nodes into out[0..max) (out may be
 * NULL) and their number into *count.  Returns NULL, or what is broken. */
static inline const char *async__timers_verify(const async__timers *tm,
                                               const async__node **out,
                                               size_t max, size_t *count) {
    const async__node *stack[64], *n;
    size_t num[64], cnt = 0;
    int sp = 0;
    *count = 0;
    /* heap: walk depth first; node numbers spell the shape */
    if ((tm->root != NULL) != (tm->nheap > 0)) return "heap: root and nheap disagree";
    if (tm->root) {
        if (tm->root->link.h.parent) return "heap: the root has a parent";
        stack[sp] = tm->root;
        num[sp++] = 1;
    }
    while (sp) {
        const async__node *c[2];
        size_t k;
        int i;
        n = stack[--sp];
        k = num[sp];
        if (k > tm->nheap || cnt >= tm->n) return "heap: more nodes than nheap (shape)";
        if (n->where != ASYNC__W_SLEEPING) return "heap: a node is not SLEEPING";
        if (out && cnt < max) out[cnt] = n;
        cnt++;
        c[0] = n->link.h.left;
        c[1] = n->link.h.right;
        for (i = 0; i < 2; i++) {
            size_t ck = 2 * k + (size_t)i;
            if ((c[i] != NULL) != (ck <= tm->nheap)) return "heap: not a complete tree";
            if (!c[i]) continue;
            if (c[i]->link.h.parent != n) return "heap: a parent link is wrong";
            if (async__timer_before(c[i], n)) return "heap: a node is before its parent";
            if (sp >= 64) return "heap: deeper than 64";
            stack[sp] = c[i];
            num[sp++] = ck;
        }
    }
    if (cnt != tm->nheap) return "heap: fewer nodes than nheap";
#ifndef ASYNC_TIMER_HEAP
    {
        size_t nwheel = 0;
        int s;
        if (tm->horizon & (((uint64_t)1 << ASYNC__WHEEL_SHIFT) - 1))
            return "wheel: the horizon is not a multiple of a level-0 slot";
        if ((n = tm->due) != NULL) {
            do {
                if (n->where != ASYNC__W_SLEEPING) return "due list: a node is not SLEEPING";
                if (n->link.l.owner != &tm->due) return "due list: a node's owner is wrong";
                if (n->link.l.next->link.l.prev != n) return "due list: a prev link is wrong";
                if (n->deadline >= tm->horizon) return "due list: a deadline is not before the horizon";
                if (n != tm->due && async__timer_before(n, n->link.l.prev)) return "due list: not sorted";
                if (cnt >= tm->n) return "due list: more nodes than n";
                if (out && cnt < max) out[cnt] = n;
                cnt++;
                n = n->link.l.next;
            } while (n != tm->due);
        }
        for (s = 0; s < ASYNC__WHEEL_LEVELS * 64; s++) {
            int level = s / 64;
            unsigned i = (unsigned)s % 64u;
            if ((tm->slot[s] != NULL) != (int)(tm->used[level] >> i & 1)) return "wheel: a used bit is wrong";
            if (!(n = tm->slot[s])) continue;
            do {
                if (n->where != ASYNC__W_SLEEPING) return "wheel: a node is not SLEEPING";
                if (n->link.l.owner != &tm->slot[s]) return "wheel: a node's owner is wrong";
                if (n->link.l.next->link.l.prev != n) return "wheel: a prev link is wrong";
                if (n->deadline < tm->horizon) return "wheel: a deadline is before the horizon";
                if (n->deadline < tm->low) return "wheel: a deadline is before low";
                if (async__wheel_level(tm, n->deadline) != level ||
                    ((n->deadline >> (ASYNC__WHEEL_SHIFT + 6 * level)) & 63u) != i)
                    return "wheel: a node is in the wrong slot";
                if (cnt >= tm->n) return "wheel: more nodes than n";
                if (out && cnt < max) out[cnt] = n;
                cnt++;
                nwheel++;
                n = n->link.l.next;
            } while (n != tm->slot[s]);
        }
        if (nwheel != tm->nwheel) return "wheel: nwheel is wrong";
    }
#endif
    if (cnt != tm->n) return "n is not the number of nodes";
    *count = cnt;
    return NULL;
}

/* ---- clock and idle wait ------------------------------------------------- */

#if !defined(ASYNC_NO_OS) && defined(_WIN32)
/* Windows: the performance counter (QueryPerformanceCounter: monotonic, well
 * under 1 us); idle in a high-resolution waitable timer (Windows 10 1803 and
 * later), else in a plain one, which wakes on the system tick (1-15.6 ms
 * late).  That is the idle wait of builds without I/O; with it, the loop
 * waits in WSAPoll (milliseconds, rounded up; ASYNC_PRECISE spins the
 * rest). */
#ifndef CREATE_WAITABLE_TIMER_HIGH_RESOLUTION
#define CREATE_WAITABLE_TIMER_HIGH_RESOLUTION 0x00000002
#endif
static inline uint64_t async__os_clock(void *ctx) {
    LARGE_INTEGER c, f;
    (void)ctx;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (uint64_t)(c.QuadPart / f.QuadPart) * 1000000000u +
           (uint64_t)(c.QuadPart % f.QuadPart) * 1000000000u / (uint64_t)f.QuadPart;
}

static inline void async__os_idle(void *ctx, uint64_t deadline) {
    uint64_t now = async__os_clock(NULL), left;
    LARGE_INTEGER due;
    HANDLE t;
    (void)ctx;
    if (now >= deadline) return;
    left = deadline - now;
    if (left > 86400000000000u) left = 86400000000000u; /* a day; the loop asks again */
    due.QuadPart = -(LONGLONG)((left + 99u) / 100u);   /* relative, in 100 ns */
    t = CreateWaitableTimerExW(NULL, NULL, CREATE_WAITABLE_TIMER_HIGH_RESOLUTION, TIMER_ALL_ACCESS);
    if (!t) t = CreateWaitableTimerExW(NULL, NULL, 0, TIMER_ALL_ACCESS);
    if (t && SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE))
        WaitForSingleObject(t, INFINITE);
    else
        Sleep((DWORD)((left + 999999u) / 1000000u));
    if (t) CloseHandle(t);
}
#elif !defined(ASYNC_NO_OS)
#if defined(CLOCK_MONOTONIC)
typedef struct timespec async__timespec;
#define ASYNC__CLOCK_GETTIME clock_gettime
#define ASYNC__MONOTONIC CLOCK_MONOTONIC
/* clock_nanosleep is POSIX.1-2001: an older level (`-std=c99 -pthread`
 * makes glibc choose 199506L) declares the clock but not it; nanosleep
 * then sleeps the time left, as on macOS. */
#if defined(ASYNC__LINUX) && defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200112L
#define ASYNC__CLOCK_NANOSLEEP clock_nanosleep /* absolute deadlines */
#define ASYNC__ABSTIME TIMER_ABSTIME
#endif
#elif defined(__linux__) && (defined(__LP64__) || defined(_LP64) || defined(__i386__))
/* A strict ISO mode (-std=c99 without _POSIX_C_SOURCE) hides the POSIX clock
 * functions.  They are in the C library all the same, with this stable Linux
 * ABI (64-bit, and i386, where these symbols keep a 32-bit time_t, which a
 * monotonic clock never outgrows), so declare them under the names the ABI
 * gives them. */
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
#if !defined(ASYNC__CLOCK_NANOSLEEP)
    {   /* macOS has no clock_nanosleep: sleep the time left */
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

ASYNC_API int async_loop_init(async_loop *loop, unsigned flags) {
    if (!loop) return ASYNC_EINVAL;
    loop->head = loop->tail = NULL;
    loop->nready = 0;
    async__timers_init(&loop->timers);
    loop->ntasks = 0;
    loop->nhandles = 0;
    loop->current = NULL;
    loop->now = 0;
    loop->epoch = 0;
    loop->ctx = NULL;
    loop->tasks = NULL;
#ifdef ASYNC_TRACE
    loop->trace = NULL;
    loop->trace_t0 = 0;
    loop->trace_events = 0;
#endif
#ifdef ASYNC_NO_OS
    loop->clock = NULL;
    loop->idle = NULL;
#else
    loop->clock = async__os_clock;
    loop->idle = async__os_idle;
#endif
    loop->flags = flags & (ASYNC_VIRTUAL | ASYNC_PRECISE | ASYNC_CLEANUP_ON_DEADLOCK);
#ifndef ASYNC_NO_OS
    if (!(loop->flags & ASYNC_VIRTUAL)) loop->epoch = async__os_clock(NULL);
#endif
#ifdef ASYNC__IO
    async__io_init(loop);
#endif
    return ASYNC_OK;
}

ASYNC_API int async_loop_set_clock(async_loop *loop, async_clock_fn clock,
                                   async_idle_fn idle, void *ctx) {
    if (!loop || !clock || !idle) return ASYNC_EINVAL;
    loop->clock = clock;
    loop->idle = idle;
    loop->ctx = ctx;
    loop->epoch = 0; /* your clock, your time base */
    return ASYNC_OK;
}

ASYNC_API uint64_t async_now(async_loop *loop) {
    if (!(loop->flags & ASYNC_VIRTUAL) && loop->clock)
        loop->now = loop->clock(loop->ctx) - loop->epoch;
    return loop->now;
}

ASYNC_API uint64_t async_clock_ns(async_loop *loop) {
    if (!(loop->flags & ASYNC_VIRTUAL) && loop->clock) return loop->clock(loop->ctx);
    return loop->now;
}

ASYNC_API double async_time(async_loop *loop) {
    return (double)async_now(loop) / 1e9;
}

ASYNC_API size_t async_loop_pending(const async_loop *loop) {
    return loop->ntasks;
}

ASYNC_API int64_t async_seconds_to_ns(double seconds) {
    if (!(seconds > 0)) return 0; /* negative, zero and NaN */
    if (seconds >= 9.2e9) return INT64_MAX;
    /* Rounded, not truncated: the double nearest 0.15 is a hair under it,
     * and where doubles are computed with excess precision (x87: i386 without
     * SSE) the product stays under 150000000, so truncating sleeps 1 ns short. */
    return (int64_t)(seconds * 1e9 + 0.5);
}

ASYNC_API int64_t async_ms_to_ns(int64_t ms) {
    if (ms <= 0) return 0;
    if (ms >= INT64_MAX / 1000000) return INT64_MAX;
    return ms * 1000000;
}

/* t + ns, saturating at the clock's limit; negative ns count as 0. */
static inline uint64_t async__add_ns(uint64_t t, int64_t ns) {
    if (ns <= 0) return t;
    return (uint64_t)ns > UINT64_MAX - t ? UINT64_MAX : t + (uint64_t)ns;
}
ASYNC_API uint64_t async__deadline(async_loop *loop, int64_t ns) {
    return async__add_ns(async_now(loop), ns);
}

/* ---- tasks ----------------------------------------------------------------- */

/* Is `task` still linked where the loop can reach it?  Catches a cleared or
 * reused storage that is still the head or tail of a queue or running. */
static inline int async__scheduled_in(const async_loop *loop, const async_task *task) {
    return loop->head == task || loop->tail == task || loop->current == task ||
           loop->tasks == task || async__timers_head(&loop->timers, &task->node);
}

ASYNC_API int async_spawn(async_loop *loop, async_task *task, async_fn fn,
                          void *state) {
    if (!loop || !task || !fn || !state) return ASYNC_EINVAL;
    /* The checks compare addresses only: the storage itself may be a fresh
     * local or malloc'ed garbage, which must not be read (issue: valgrind
     * reports and -Werror=maybe-uninitialized on natural programs).  A
     * pending task elsewhere is caught when the loop next meets it. */
    ASYNC_ASSERT_TASK(loop->current != task,
                      "async_spawn: the task is running (a task cannot spawn "
                      "itself again before it is done)", task);
    ASYNC_ASSERT_TASK(!async__scheduled_in(loop, task),
                      "async_spawn: the task is already scheduled and not done: "
                      "this storage still holds a scheduled task (spawned again, "
                      "or cleared or reused, before that task finished)", task);
    async__frame_reset(async__frame_of(state));
    task->fn = fn;
    task->state = state;
    task->loop = loop;
    task->waiters = NULL;
    task->scopes = NULL;
    task->node.flags = 0;
    task->node.shield = 0;
    task->node.magic = ASYNC__LIVE;
    loop->ntasks++;
#ifndef ASYNC_NO_INTROSPECTION
    task->name = NULL;
    task->site = NULL;
#endif
    if (!loop->tasks) {
        task->next = task->prev = task;
        loop->tasks = task;
    } else { /* at the end: the list is in spawn order */
        task->next = loop->tasks;
        task->prev = loop->tasks->prev;
        task->prev->next = task;
        loop->tasks->prev = task;
    }
    async__push_ready(loop, task);
    return ASYNC_OK;
}

ASYNC_API int async_spawn_named(async_loop *loop, async_task *task,
                                async_fn fn, void *state, const char *name) {
    int rc = async_spawn(loop, task, fn, state);
    if (rc == ASYNC_OK) async_task_set_name(task, name);
    return rc;
}

ASYNC_API void async_task_set_name(async_task *task, const char *name) {
#ifndef ASYNC_NO_INTROSPECTION
    task->name = name;
#else
    (void)task;
    (void)name;
#endif
}

ASYNC_API const char *async_task_name(const async_task *task) {
#ifndef ASYNC_NO_INTROSPECTION
    if (task && (task->node.magic == ASYNC__LIVE || task->node.magic == ASYNC__DEAD))
        return task->name;
#else
    (void)task;
#endif
    return NULL;
}

#define ASYNC__SPAWNED(t) ((t)->node.magic == ASYNC__LIVE || (t)->node.magic == ASYNC__DEAD)

ASYNC_API int async_task_state(const async_task *task) {
    ASYNC_ASSERT(ASYNC__SPAWNED(task), "async_task_state: task was never spawned");
    if (task->node.magic == ASYNC__LIVE) return ASYNC_PENDING;
    return (task->node.flags & ASYNC__T_CANCEL) ? ASYNC_CANCELLED : ASYNC_DONE;
}

ASYNC_API int async_task_done(const async_task *task) {
    return async_task_state(task) != ASYNC_PENDING;
}

ASYNC_API intptr_t async_task_result(const async_task *task) {
    ASYNC_ASSERT(ASYNC__SPAWNED(task), "async_task_result: task was never spawned");
    if (task->node.magic != ASYNC__DEAD || (task->node.flags & ASYNC__T_CANCEL))
        return 0;
    return async__frame_of(task->state)->result;
}

ASYNC_API const char *async_strerror(int code) {
    switch (code) {
    case ASYNC_OK: return "success";
    case ASYNC_EINVAL: return "invalid argument";
    case ASYNC_EDEADLK: return "tasks remain that nothing can wake (deadlock)";
    case ASYNC_ECANCELED: return "cancelled";
    case ASYNC_ENOCLOCK: return "real-time loop has no clock";
    case ASYNC_ETIMEDOUT: return "timed out";
    case ASYNC_ECLOSED: return "queue closed";
    case ASYNC_EAGAIN: return "would have to wait";
    case ASYNC_EXHAUSTED: return "generator exhausted";
    case ASYNC_ENOSPC: return "no room left";
    case ASYNC_EBROKEN: return "barrier broken";
    default: break;
    }
#ifndef ASYNC_NO_OS
    if (code < 0 && code > -4096) return strerror(-code);
#endif
    return "unknown error";
}

static inline int async__intr(async_task *t, const async_frame *f);

/* Take a suspended task out of whatever holds it and make it ready, so it
 * sees a cancellation or an expired timeout, unless a shield (a finally
 * section or a shielded await) holds the interruption off: then it stays
 * where it is, keeping its place in the heap or wait list. */
static inline void async__interrupt(async_task *t) {
    if (!async__intr(t, NULL)) return;
    if (t->node.where == ASYNC__W_SLEEPING) {
        async__timers_remove(&t->loop->timers, &t->node);
        async__push_ready(t->loop, t);
    } else if (t->node.where == ASYNC__W_WAITING) {
        async__list_remove(&t->node);
        async__push_ready(t->loop, t);
    }
}

ASYNC_API int async_cancel(async_task *task) {
    ASYNC_ASSERT(ASYNC__SPAWNED(task), "async_cancel: task was never spawned");
    if (task->node.magic != ASYNC__LIVE) return 0;
    if (task->node.flags & ASYNC__T_CANCEL) return 1;
    task->node.flags |= ASYNC__T_CANCEL;
    async__interrupt(task);
    return 1;
}

/* Should frame f stop what it waits for?  0: no; ASYNC__UNWIND: leave through
 * finally (a cancellation, or a timeout armed by an outer frame);
 * ASYNC_ETIMEDOUT: a timeout armed by f itself expired.  Interruptions from
 * outside the current shield depth wait until the shields are gone. */
static inline int async__intr(async_task *t, const async_frame *f) {
    unsigned shield = t->node.shield;
    async_timeout *s, *outer = NULL;
    if ((t->node.flags & ASYNC__T_CANCEL) && !shield) return ASYNC__UNWIND;
    if (!(t->node.flags & ASYNC__T_SCOPE)) return 0;
    for (s = t->scopes; s; s = s->next)
        if (s->node.where == ASYNC__W_FIRED && !(s->node.flags & ASYNC__TM_PAUSED) &&
            s->level == shield)
            outer = s;
    if (!outer) return 0;
    return outer->frame == f ? ASYNC_ETIMEDOUT : ASYNC__UNWIND;
}

/* The status a finished non-parking wait reports: OK unless interrupted. */
static ASYNC__COLD int async__intr_cold(async_task *t, const async_frame *f) {
    return async__intr(t, f);
}
ASYNC_API int async__intr_status(async_task *t, async_frame *f) {
    if (!(t->node.flags & (ASYNC__T_CANCEL | ASYNC__T_SCOPE))) return ASYNC_OK;
    return async__intr_cold(t, f);
}

/* One more shield in force: a finally section entered or a shielded await
 * begun.  The count is checked before it could wrap. */
ASYNC_API void async__shield_up(async_task *t) {
    ASYNC_ASSERT_TASK(t->node.shield < ASYNC_SHIELD_MAX,
                      "finally sections and shielded awaits in progress nested "
                      "deeper than ASYNC_SHIELD_MAX (255) in one task", t);
    t->node.shield++;
}

ASYNC_API void async__enter_finally(async_task *t, async_frame *f) {
    if (f->flags & ASYNC__F_FIN) return; /* a done coroutine called again */
    async__shield_up(t);
    f->flags |= ASYNC__F_FIN;
}

ASYNC_API void async__timeout_disarm(async_task *t, async_timeout *tmo);

/* Disarm every timeout frame f armed (those of a generator it drove may sit
 * among the outer frames' ones). */
static ASYNC__COLD void async__disarm_frame(async_task *t, const async_frame *f) {
    async_timeout **p = &t->scopes;
    while (*p)
        if ((*p)->frame == f)
            async__timeout_disarm(t, *p);
        else
            p = &(*p)->next;
}

/* The frame is finishing: drop its shield and any timeout it left armed. */
ASYNC_API void async__frame_done(async_task *t, async_frame *f) {
    if (f->pc == ASYNC__PC_DONE) return;
    f->pc = ASYNC__PC_DONE;
    t->node.shield--;
    if (t->scopes) async__disarm_frame(t, f); /* out of line: it would cost
                                                 every coroutine registers */
}

/* Fired timeouts that count: those of running code (not of a generator
 * suspended at a yield). */
static inline void async__scope_recount(async_task *t) {
    async_timeout *s;
    t->node.flags &= (uint8_t)~ASYNC__T_SCOPE;
    for (s = t->scopes; s; s = s->next)
        if (s->node.where == ASYNC__W_FIRED && !(s->node.flags & ASYNC__TM_PAUSED))
            t->node.flags |= ASYNC__T_SCOPE;
}

/* A generator hands a value to its consumer and is suspended until the next
 * ASYNC_NEXT: the timeouts it armed cover nothing meanwhile (they keep
 * running; one that expires takes effect when it resumes), and a finally
 * section it yields from shields nothing.  Shield levels of its timeouts are
 * kept relative to the depth it runs at, since the consumer may resume it
 * from another. */
ASYNC_API void async__gen_leave(async_task *t, async_frame *f) {
    async_timeout *s;
    unsigned base;
    if (f->flags & ASYNC__F_FIN) t->node.shield--;
    base = t->node.shield;
    for (s = t->scopes; s; s = s->next)
        if (s->frame == f) {
            s->node.flags |= ASYNC__TM_PAUSED;
            s->level -= base;
        }
    if (t->node.flags & ASYNC__T_SCOPE) async__scope_recount(t);
}

ASYNC_API void async__gen_enter(async_task *t, async_frame *f) {
    async_timeout *s;
    unsigned base = t->node.shield, paused = 0;
    for (s = t->scopes; s; s = s->next)
        if (s->frame == f) {
            s->node.flags &= (uint8_t)~ASYNC__TM_PAUSED;
            s->level += base;
            paused |= s->node.where == ASYNC__W_FIRED;
        }
    if (f->flags & ASYNC__F_FIN) async__shield_up(t);
    if (paused) t->node.flags |= ASYNC__T_SCOPE;
}

/* A task in ASYNC_AWAIT_TASK: " on <the task>". */
static inline void async__describe_task(async__fmt *o, const async_task *t) {
    async__node *const *owner = t->node.link.l.owner;
    async__put_s(o, " on ");
    async__put_task_name(o, ASYNC__OWNER(owner, async_task, waiters));
}

/* ---- sleeping ---------------------------------------------------------------- */

ASYNC_API int async__sleep_start(async_task *t, async_frame *f, int64_t ns,
                                 int absolute) {
    async_loop *loop = t->loop;
    uint64_t now;
    int r = async__intr_status(t, f);
    if (r != ASYNC_OK) return r;
    now = async_now(loop);
    t->node.deadline = absolute ? (uint64_t)ns : async__add_ns(now, ns);
    if (t->node.deadline <= now) {
        async__push_ready(loop, t); /* nothing to wait for: a yield */
        t->node.deadline = 0;
    } else {
        async__timers_insert(&loop->timers, &t->node);
    }
    return ASYNC__AGAIN;
}

ASYNC_API int async__sleep_resume(async_task *t, async_frame *f) {
    int r = async__intr_status(t, f);
    if (r != ASYNC_OK) return r;
    /* Woken early by an interruption this frame is shielded from: sleep on. */
    if (t->node.deadline > async_now(t->loop)) {
        async__timers_insert(&t->loop->timers, &t->node);
        return ASYNC__AGAIN;
    }
    return ASYNC_OK;
}

/* ---- awaiting tasks ------------------------------------------------------------ */

static inline int async__task_outcome(const async_task *other) {
    return (other->node.flags & ASYNC__T_CANCEL) ? ASYNC_ECANCELED : ASYNC_OK;
}

ASYNC_API int async__task_wait_start(async_task *t, async_frame *f,
                                     async_task *other) {
    int r;
    ASYNC_ASSERT_TASK(other != t, "ASYNC_AWAIT_TASK: a task cannot await itself", t);
    ASYNC_ASSERT_TASK(ASYNC__SPAWNED(other),
                      "ASYNC_AWAIT_TASK: the awaited task was never spawned", t);
    r = async__intr_status(t, f);
    if (r != ASYNC_OK) return r;
    if (other->node.magic != ASYNC__LIVE) return async__task_outcome(other);
    ASYNC_ASSERT_TASK(other->loop == t->loop,
                      "ASYNC_AWAIT_TASK: the awaited task runs on another loop", t);
    return async__park(t, &other->waiters);
}

ASYNC_API int async__task_wait_resume(async_task *t, async_frame *f,
                                      async_task *other) {
    int r = async__intr_status(t, f);
    int cancelled = (t->node.flags & ASYNC__T_PEER_CANCELLED) != 0;
    t->node.flags &= (uint8_t)~ASYNC__T_PEER_CANCELLED;
    /* Woken by the finish: that is the outcome, even if the storage has
     * been spawned again since. */
    if (async__take_grant(t) && r == ASYNC_OK) return cancelled ? ASYNC_ECANCELED : ASYNC_OK;
    if (r != ASYNC_OK) return r;
    if (other->node.magic != ASYNC__LIVE) return async__task_outcome(other);
    return async__park(t, &other->waiters);
}

/* ---- timeouts ---------------------------------------------------------------- */

ASYNC_API int async_timeout_expired(const async_timeout *tmo) {
    return tmo->expired;
}

ASYNC_API void async__timeout_arm(async_task *t, async_frame *f,
                                  async_timeout *tmo, uint64_t deadline) {
    async_timeout *s;
    for (s = t->scopes; s; s = s->next)
        ASYNC_ASSERT_TASK(s != tmo, "ASYNC_TIMEOUT_ARM: this timeout is already armed", t);
    tmo->node.magic = ASYNC__K_TIMEOUT;
    tmo->node.flags = 0;
    tmo->node.shield = 0;
    tmo->task = t;
    tmo->frame = f;
    tmo->level = t->node.shield;
    tmo->expired = 0;
    tmo->next = t->scopes;
    t->scopes = tmo;
    tmo->node.deadline = deadline;
    async__timers_insert(&t->loop->timers, &tmo->node);
}

ASYNC_API void async__timeout_disarm(async_task *t, async_timeout *tmo) {
    async_timeout **p = &t->scopes;
    while (*p && *p != tmo) p = &(*p)->next;
    if (!*p) return; /* not armed: a harmless no-op */
    *p = tmo->next;
    if (tmo->node.where == ASYNC__W_SLEEPING) async__timers_remove(&t->loop->timers, &tmo->node);
    tmo->node.where = ASYNC__W_IDLE;
    tmo->node.flags = 0;
    async__scope_recount(t);
}

static inline void async__timeout_fire(async_timeout *tmo) {
    tmo->node.where = ASYNC__W_FIRED;
    tmo->expired = 1;
    if (tmo->node.flags & ASYNC__TM_PAUSED) return; /* takes effect on resume */
    tmo->task->node.flags |= ASYNC__T_SCOPE;
    async__interrupt(tmo->task);
}

/* ---- running: the loop pass ------------------------------------------------- */

static inline void async__finish(async_loop *loop, async_task *t) {
    async__node *n;
    /* Timeouts of a generator abandoned at a yield: nothing else owns them. */
    while (t->scopes) async__timeout_disarm(t, t->scopes);
    t->node.where = ASYNC__W_DONE;
    t->node.magic = ASYNC__DEAD;
    loop->ntasks--;
    if (t->next == t) {
        loop->tasks = NULL;
    } else {
        t->prev->next = t->next;
        t->next->prev = t->prev;
        if (loop->tasks == t) loop->tasks = t->next;
    }
    /* Each waiter is told how this run ended, with the wake-up itself: the
     * storage may be spawned again before the waiter runs. */
    while ((n = async__list_pop(&t->waiters)) != NULL) {
        if (n->magic != ASYNC__K_WAITER && (t->node.flags & ASYNC__T_CANCEL))
            n->flags |= ASYNC__T_PEER_CANCELLED;
        async__wake(loop, n, 1);
    }
}

/* Move expired timers out, earliest first. */
static inline void async__handle_fire(async_loop *loop, async_handle *h);
static inline void async__fire_timers(async_loop *loop) {
    uint64_t now = async_now(loop);
    async__node *n;
    while ((n = async__timers_until(&loop->timers, now)) != NULL) {
        async__timers_remove(&loop->timers, n);
        if (n->magic == ASYNC__LIVE) /* a sleeping task: the common case first */
            async__push_ready(loop, async__task_of(n));
        else if (n->magic == ASYNC__K_TIMEOUT)
            async__timeout_fire((async_timeout *)(void *)n);
        else if (n->magic == ASYNC__K_CALL)
            async__handle_fire(loop, (async_handle *)(void *)n);
        else
            ASYNC_ASSERT_TASK(0,
                              "the loop met a sleeping task whose storage was "
                              "overwritten, freed or reused before it finished",
                              async__task_of(n));
    }
}

/* One pass: run the tasks that are ready now.  Tasks made ready during the
 * pass (yields, wake-ups, spawns) wait for the next pass, so a task that
 * yields forever cannot starve timers. */
static inline void async__run_ready(async_loop *loop) {
    async_task *last = loop->tail, *t;
    if (!last) return;
    /* up to last, which is in the queue until it runs (tasks leave the ready
     * queue only here): the test of head is for static analysers */
    while ((t = loop->head) != NULL) {
        int r;
        loop->head = async__task_of(t->node.link.l.next);
        loop->nready--;
        if (!loop->head) {
            loop->tail = NULL;
            /* Exact, whatever the storage now holds: a task cleared and
             * spawned again in the middle of the queue cuts the rest off. */
            ASYNC_ASSERT(loop->nready == 0,
                         "tasks were cut out of the ready queue: the storage of "
                         "a scheduled task was cleared or reused (e.g. zeroed "
                         "and spawned again) before that task finished");
        }
        ASYNC_ASSERT_TASK(t->node.magic == ASYNC__LIVE,
                          "the loop met a scheduled task whose storage was "
                          "overwritten, freed or reused before it finished", t);
        loop->current = t; /* its place stays READY: nothing to undo */
        if ((t->node.flags & ASYNC__T_CANCEL) && async__frame_of(t->state)->pc == 0) {
            /* Cancelled before its first step: like asyncio, none of its
             * body runs (and so no cleanup: it entered none). */
            async_frame *f = async__frame_of(t->state);
            f->pc = ASYNC__PC_DONE;
            f->flags |= ASYNC__F_FIN;
            r = 1;
        } else {
            ASYNC__TRACE_BEFORE(loop, t)
            /* 0 = off: nothing here counts, and in split mode files built
             * with a budget find one that never runs out. */
            loop->budget = ASYNC_BUDGET > 0 ? (unsigned)ASYNC_BUDGET : ~0u;
            r = t->fn(t, t->state);
            ASYNC__TRACE_AFTER(loop, t, r)
        }
        if (r) {
            if (r == 2) /* a generator run as a task: its values go nowhere */
                async__push_ready(loop, t);
            else {
                ASYNC__CHECK_RETURN(t, r); /* without checks: it ends there */
                async__finish(loop, t);
            }
        }
        if (t == last) break;
    }
    loop->current = NULL;
}

/* Cancel every pending task (between passes: nothing is running). */
static inline void async__cancel_all(async_loop *loop) {
    async_task *t = loop->tasks;
    if (!t) return;
    do {
        async_cancel(t);
        t = t->next;
    } while (t != loop->tasks);
}

/* Say who waits on what, then let every task clean up (all of them:
 * nothing can run any more). */
static ASYNC__COLD int async__deadlock_cleanup(async_loop *loop) {
#ifndef ASYNC_NO_OS
    async_dump(loop, stderr);
#endif
    async__cancel_all(loop);
    return 1;
}

/* What every pass does, async_run's and async_step's alike, once the OS
 * has been looked at: fire the due timers and callbacks, then run the tasks
 * that are ready (those made ready meanwhile wait for the next pass). */
static inline void async__pass(async_loop *loop) {
    if (loop->timers.n) async__fire_timers(loop);
    async__run_ready(loop);
}

/* Run until `until` is done, or (NULL) every task, and every scheduled
 * callback too when `callbacks` is set (async_loop_shutdown waits for the
 * tasks only). */
static inline int async__run(async_loop *loop, async_task *until, int callbacks) {
    int rc = ASYNC_OK, deadlocked = 0;
    if (!loop) return ASYNC_EINVAL;
    ASYNC_ASSERT_TASK(!(loop->flags & ASYNC__L_RUNNING),
                      "async_run: the loop is already running (called from "
                      "inside one of its own tasks)", loop->current);
    if (!(loop->flags & ASYNC_VIRTUAL) && !loop->clock) return ASYNC_ENOCLOCK;
    loop->flags |= ASYNC__L_RUNNING;
    for (;;) {
        if (until ? until->node.magic != ASYNC__LIVE
                  : loop->ntasks == 0 && (loop->nhandles == 0 || !callbacks)) {
#ifdef ASYNC__IO
            if (!until && ASYNC__INBOX(loop)) { /* a call may spawn more */
                async__drain_inbox(loop);
                continue;
            }
#endif
            break;
        }
        if (!loop->head) {
            uint64_t deadline = loop->timers.n ? async__timers_peek(&loop->timers)->deadline : UINT64_MAX;
            if (!loop->timers.n && !ASYNC__IO_BUSY(loop)) {
                if ((loop->flags & ASYNC_CLEANUP_ON_DEADLOCK) && !deadlocked) {
                    deadlocked = async__deadlock_cleanup(loop);
                    until = NULL; /* every task is cancelled: wait for all */
                    continue;
                }
                rc = ASYNC_EDEADLK;
                break;
            }
            if (loop->flags & ASYNC_VIRTUAL) {
#ifdef ASYNC__IO
                /* I/O takes real time: look, and block only if no timer */
                if (ASYNC__IO_BUSY(loop)) async__io_poll(loop, loop->timers.n ? 0 : UINT64_MAX);
#endif
                if (!loop->head && loop->timers.n && deadline > loop->now) loop->now = deadline;
            } else if (deadline > async_now(loop)) {
#ifdef ASYNC__IO
                if (loop->idle != async__os_idle || async__io_idle(loop, deadline) < 0)
#endif
                    loop->idle(loop->ctx, async__add_ns(deadline, (int64_t)loop->epoch));
            }
        }
#ifdef ASYNC__IO
        else if (loop->nio) {
            async__io_poll(loop, 0); /* a busy loop still sees I/O every pass */
        } else if (ASYNC__INBOX(loop)) {
            async__drain_inbox(loop); /* ...and calls from other threads */
        }
#endif
        async__pass(loop);
    }
    loop->flags &= ~ASYNC__L_RUNNING;
    return deadlocked ? ASYNC_EDEADLK : rc;
}

ASYNC_API int async_run(async_loop *loop) { return async__run(loop, NULL, 1); }

ASYNC_API int async_loop_shutdown(async_loop *loop) {
    if (!loop) return ASYNC_EINVAL;
    ASYNC_ASSERT_TASK(!(loop->flags & ASYNC__L_RUNNING),
                      "async_loop_shutdown: the loop is running (called from "
                      "inside one of its own tasks)", loop->current);
    async__cancel_all(loop);
    return async__run(loop, NULL, 0);
}

ASYNC_API uint64_t async_next_deadline(async_loop *loop) {
    if (loop->head) return 0;
    return loop->timers.n ? async__timers_peek(&loop->timers)->deadline : UINT64_MAX;
}

ASYNC_API int async_step(async_loop *loop) {
    ASYNC_ASSERT(!(loop->flags & ASYNC__L_RUNNING),
                 "async_step: the loop is already running (called from inside "
                 "one of its own tasks)");
    loop->flags |= ASYNC__L_RUNNING;
#ifdef ASYNC__IO
    if (loop->wakefd >= 0) async__io_poll(loop, 0);
#endif
    if ((loop->flags & ASYNC_VIRTUAL) && !loop->head && loop->timers.n &&
        async__timers_peek(&loop->timers)->deadline > loop->now)
        loop->now = async__timers_peek(&loop->timers)->deadline;
    async__pass(loop);
#ifdef ASYNC__IO
    /* keep the backend fd honest: it turns readable at the next deadline */
    if (loop->wakefd >= 0 && loop->timers.n) async__be_embed(loop, async__timers_peek(&loop->timers)->deadline);
#endif
    loop->flags &= ~ASYNC__L_RUNNING;
    return (int)loop->ntasks;
}

ASYNC_API int async_run_until(async_loop *loop, async_task *task) {
    if (!task) return ASYNC_EINVAL;
    ASYNC_ASSERT(ASYNC__SPAWNED(task), "async_run_until: task was never spawned");
    ASYNC_ASSERT(task->node.magic != ASYNC__LIVE || task->loop == loop,
                 "async_run_until: task belongs to another loop");
    return async__run(loop, task, 1);
}

#ifndef ASYNC_NO_OS
/* ---- async_main and signals ---------------------------------------------------
 * The handler only records the signal and wakes the loop (with I/O: a call
 * through the lock-free inbox, async-signal-safe; without: the loop's idle
 * sleep returns early with EINTR and the idle hook below looks); the loop's
 * thread does the cancelling. */
typedef struct async__main_ctl {
    async_loop *loop;
    async_task *task;
    volatile sig_atomic_t signo;  /* the first SIGINT/SIGTERM, or 0 */
    int seen;                     /* the loop acted on it */
    int installed[2];             /* our handler is in place for SIGINT, SIGTERM */
#ifdef ASYNC__IO
    async_call call;
#else
    async_idle_fn idle;
    void *ctx;
#endif
} async__main_ctl;

static inline async__main_ctl **async__main_slot(void) {
    static async__main_ctl *async__signal_target; /* the one global: see async_main */
    return &async__signal_target;
}

static inline void async__main_act(async__main_ctl *m) {
    if (m->seen || !m->signo) return;
    m->seen = 1;
    if (m->task->node.magic == ASYNC__LIVE) async_cancel(m->task);
}

#ifdef ASYNC__IO
static inline void async__main_call(async_loop *loop, void *arg) {
    (void)loop;
    async__main_act((async__main_ctl *)arg);
}
#else
static inline void async__main_idle(void *ctx, uint64_t deadline) {
    async__main_ctl *m = (async__main_ctl *)ctx;
    m->idle(m->ctx, deadline);
    async__main_act(m);
}
#endif

static inline void async__main_on_signal(int sig) {
    async__main_ctl *m = *async__main_slot();
    int saved = errno;
    if (m && !m->signo) {
        m->signo = sig;
#ifdef ASYNC__IO
        async_call_soon_threadsafe(m->loop, &m->call, async__main_call, m);
#endif
    }
    errno = saved;
}

/* Install the handler where the disposition is the default one; it resets
 * itself to the default when it runs (a second signal acts as usual). */
static inline void async__main_signals(async__main_ctl *m, int on) {
    static const int sigs[2] = {SIGINT, SIGTERM};
    int i;
    for (i = 0; i < 2; i++) {
#ifdef SA_RESETHAND
        struct sigaction sa, old;
        if (on) {
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = async__main_on_signal;
            sa.sa_flags = SA_RESETHAND;
            sigemptyset(&sa.sa_mask);
            if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
                sigaction(sigs[i], &sa, NULL) == 0)
                m->installed[i] = 1;
        } else if (m->installed[i] && sigaction(sigs[i], NULL, &old) == 0 &&
                   old.sa_handler == async__main_on_signal) {
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = SIG_DFL;
            sigemptyset(&sa.sa_mask);
            sigaction(sigs[i], &sa, NULL);
        }
#else /* ISO C signal(): one-shot on the systems that lack sigaction */
        if (on) {
            void (*old)(int) = signal(sigs[i], async__main_on_signal);
            if (old == SIG_DFL)
                m->installed[i] = 1;
            else if (old != SIG_ERR)
                signal(sigs[i], old);
        } else if (m->installed[i] && !m->signo) {
            signal(sigs[i], SIG_DFL);
        }
#endif
    }
}
#endif /* ASYNC_NO_OS */

ASYNC_API int async_main(async_fn fn, void *state, unsigned flags) {
    async_loop loop;
    async_task task;
    int rc = async_loop_init(&loop, flags | ASYNC_CLEANUP_ON_DEADLOCK);
#ifndef ASYNC_NO_OS
    async__main_ctl ctl, **slot = async__main_slot(), *outer = *slot;
#endif
    task.node.magic = 0; /* fresh storage: not a pending task */
    if (rc == ASYNC_OK) rc = async_spawn(&loop, &task, fn, state);
#ifndef ASYNC_NO_OS
    memset(&ctl, 0, sizeof ctl);
    ctl.loop = &loop;
    ctl.task = &task;
    /* Only the outermost async_main of the process takes the signals. */
    if (rc == ASYNC_OK && !outer) {
#ifdef ASYNC__IO
        if (async_loop_prepare(&loop) == ASYNC_OK) {
            *slot = &ctl;
            async__main_signals(&ctl, 1);
        }
#else
        ctl.idle = loop.idle;
        ctl.ctx = loop.ctx;
        loop.idle = async__main_idle;
        loop.ctx = &ctl;
        *slot = &ctl;
        async__main_signals(&ctl, 1);
#endif
    }
#endif
    if (rc == ASYNC_OK) rc = async_run_until(&loop, &task);
    if (rc == ASYNC_OK && loop.ntasks) rc = async_loop_shutdown(&loop);
#ifndef ASYNC_NO_OS
    if (*slot == &ctl) {
        /* Known window: a signal delivered to another thread between its
         * read of the slot and our clearing it may still post its call
         * while the loop closes (the close waits for callers in flight;
         * one that has read the slot but not yet entered is not seen). */
        async__main_signals(&ctl, 0);
        *slot = NULL;
        if (ctl.signo && (rc == ASYNC_OK || rc == ASYNC_EDEADLK)) rc = 128 + (int)ctl.signo;
    }
#endif
    async_loop_close(&loop);
    return rc;
}

/* ---- gather -------------------------------------------------------------- */

ASYNC_API void async_gather_init(async_gather *g, async_task *const *tasks,
                                 size_t n, intptr_t *results) {
    g->tasks = tasks;
    g->n = n;
    g->i = 0;
    g->results = results;
    g->failed = -1;
    g->error = 0;
    g->coros = NULL;
}

static inline int async__task_failed(const async_task *t);

/* Wait for the first failure (or the end), cancel the rest, and wait for
 * every task in the shielded finally section, as async_gather_fn does. */
ASYNC_API int async_gather_fail_fast_fn(async_task *task, void *state) {
    async_gather *g = (async_gather *)state;
    intptr_t cancelled = 0;
    size_t i;
    ASYNC_BEGIN(task, g);
    ASYNC_WAIT_TASKS(&g->ws, g->ws.w, g->tasks, g->n, ASYNC_FIRST_EXCEPTION);
    ASYNC_FINALLY;
    if (g->ws.first_failed) {
        for (i = 0; i < g->n; i++)
            if (g->tasks[i] == g->ws.first_failed) g->failed = (long)i;
        g->error = async__frame_of(g->ws.first_failed->state)->result;
    }
    for (i = 0; i < g->n; i++) async_cancel(g->tasks[i]); /* done ones: no-op */
    for (g->i = 0; g->i < g->n; g->i++) ASYNC_AWAIT_TASK(g->tasks[g->i]);
    for (i = 0; i < g->n; i++) {
        if (g->results) g->results[i] = async_task_result(g->tasks[i]);
        cancelled += async_task_state(g->tasks[i]) == ASYNC_CANCELLED;
    }
    g->frame.result = cancelled;
    ASYNC_END;
}

ASYNC_API void async_coro_init(async_coro *c, async_fn fn, void *state) {
    c->task.node.magic = 0; /* fresh storage: not a pending task */
    c->fn = fn;
    c->state = state;
}

ASYNC_API void async__gather_spawn(async_gather *g, async_loop *loop, async_coro *c) {
    size_t i;
    g->coros = c;
    for (i = 0; i < g->n; i++) async_spawn(loop, &c[i].task, c[i].fn, c[i].state);
}

/* The i-th task: from the caller's array, or inside the coroutines. */
static inline async_task *async__gather_task(const async_gather *g, size_t i) {
    return g->tasks ? g->tasks[i] : &g->coros[i].task;
}

ASYNC_API int async_gather_fn(async_task *task, void *state) {
    async_gather *g = (async_gather *)state;
    intptr_t cancelled = 0;
    size_t i;
    ASYNC_BEGIN(task, g);
    for (g->i = 0; g->i < g->n; g->i++) ASYNC_AWAIT_TASK(async__gather_task(g, g->i));
    ASYNC_FINALLY;
    /* Interrupted (cancelled, or a timeout of the caller's): like asyncio,
     * cancel what is still running, and return only once every one has
     * finished (the finally section is shielded, so these waits are not
     * cut short): the caller may free their state as soon as we return. */
    for (i = g->i; i < g->n; i++) async_cancel(async__gather_task(g, i));
    for (; g->i < g->n; g->i++) ASYNC_AWAIT_TASK(async__gather_task(g, g->i));
    for (i = 0; i < g->n; i++) {
        if (g->results) g->results[i] = async_task_result(async__gather_task(g, i));
        cancelled += async_task_state(async__gather_task(g, i)) == ASYNC_CANCELLED;
    }
    g->frame.result = cancelled;
    ASYNC_END;
}

/* ---- generators ------------------------------------------------------------ */

ASYNC_API void async_gen_init(void *gen_state) {
    async__frame_reset(async__frame_of(gen_state));
}

/* The consumer's view of what ASYNC_NEXT's call returned. */
ASYNC_API int async__next_status(async_task *t, async_frame *f, int r) {
    int i;
    ASYNC__CHECK_RETURN(t, r);
    i = async__intr_status(t, f);
    if (i != ASYNC_OK) return i;
    return r == 2 ? ASYNC_OK : ASYNC_EXHAUSTED;
}

ASYNC_API void async__gen_close(async_task *t, async_frame *g) {
    if (g->pc == 0) { /* never started: nothing to clean up */
        g->pc = ASYNC__PC_DONE;
        g->flags |= ASYNC__F_FIN;
    } else if (g->pc != ASYNC__PC_DONE && !(g->flags & ASYNC__F_FIN)) {
        /* suspended at a yield in its body: it runs again, in its finally */
        async__gen_enter(t, g);
        g->pc = ASYNC__PC_FINALLY;
    } /* else done, or at a yield in its finally: it resumes there */
}

ASYNC_API void async_collect_init(async_collect *c, async_fn fn,
                                  void *gen_state, intptr_t *out,
                                  size_t cap,
                                  int (*keep)(intptr_t, void *), void *ctx) {
    c->gen = fn;
    c->gen_state = gen_state;
    c->out = out;
    c->cap = cap;
    c->n = 0;
    c->keep = keep;
    c->ctx = ctx;
}

ASYNC_API int async_collect_fn(async_task *task, void *state) {
    async_collect *c = (async_collect *)state;
    ASYNC_BEGIN(task, c);
    async_gen_init(c->gen_state);
    for (;;) {
        ASYNC_NEXT(c->gen, c->gen_state);
        if (ASYNC_STATUS() != ASYNC_OK) break;
        if (!c->keep || c->keep(ASYNC_RESULT(c->gen_state), c->ctx)) {
            if (c->n == c->cap) {
                ASYNC_GEN_CLOSE(c->gen, c->gen_state);
                c->frame.status = ASYNC_ENOSPC;
                break;
            }
            c->out[c->n++] = ASYNC_RESULT(c->gen_state);
        }
    }
    if (ASYNC_STATUS() == ASYNC_EXHAUSTED) c->frame.status = ASYNC_OK;
    c->frame.result = (intptr_t)c->n;
    ASYNC_END;
}

/* ---- as_completed -------------------------------------------------------------- */

static inline void async__ac_notify(async_waiter *w, async_loop *loop) {
    async_as_completed *ac = (async_as_completed *)w->ctx;
    async__list_push(&ac->done, &w->node);
    async__wake_one(loop, &ac->consumer, 1);
}

ASYNC_API void async_as_completed_init(async_as_completed *ac,
                                       async_task *const *tasks, size_t n,
                                       async_waiter *waiters) {
    ac->tasks = tasks;
    ac->n = n;
    ac->i = 0;
    ac->reported = 0;
    ac->w = waiters;
    ac->done = NULL;
    ac->consumer = NULL;
}

static inline int async__ac_start(async_task *t, async_frame *f,
                                  async_as_completed *ac) {
    int r = async__intr_status(t, f);
    if (r != ASYNC_OK) return r;
    return ac->done ? ASYNC_OK : async__park(t, &ac->consumer);
}

ASYNC_API int async_as_completed_fn(async_task *task, void *state) {
    async_as_completed *ac = (async_as_completed *)state;
    async_waiter *w;
    size_t i;
    ASYNC_BEGIN(task, ac);
    for (i = 0; i < ac->n; i++) {
        w = &ac->w[i];
        w->node.magic = ASYNC__K_WAITER;
        w->notify = async__ac_notify;
        w->ctx = ac;
        w->task = ac->tasks[i];
        if (async_task_done(w->task))
            async__list_push(&ac->done, &w->node);
        else
            async__list_push(&w->task->waiters, &w->node);
    }
    while (ac->reported < ac->n) {
        ASYNC__WAIT(ASYNC__ID, ASYNC__S_COMPLETED, "ASYNC_AS_COMPLETED",
                    async__ac_start(async__t, async__f, ac),
                    async__ac_start(async__t, async__f, ac));
        if (ASYNC_STATUS() != ASYNC_OK) break;
        w = (async_waiter *)(void *)async__list_pop(&ac->done);
        ac->reported++;
        ASYNC_YIELD_VALUE((intptr_t)w->task);
    }
    ASYNC_FINALLY;
    for (i = 0; i < ac->n; i++) /* stop watching the tasks not reported */
        if (ac->w[i].node.where == ASYNC__W_WAITING) async__list_remove(&ac->w[i].node);
    ASYNC_END;
}

static inline void async__describe_completed(async__fmt *o, const async_task *t) {
    async__node *const *owner = t->node.link.l.owner;
    const async_as_completed *ac = ASYNC__OWNER(owner, async_as_completed, consumer);
    async__put_s(o, " on as_completed");
    async__put_of(o, ac->reported, ac->n, " reported)");
}

/* ---- queues -------------------------------------------------------------------- */

/* Queues, events and semaphores carry a mark derived from their address:
 * destroying one checks that nothing still depends on it (waiters, or an
 * item, slot or permit handed to a woken task that has not run yet), and
 * waiting on a destroyed one is caught.  Initialising never reads the
 * object, so that fresh locals, malloc'ed and garbage storage are fine (and
 * compilers and valgrind see no read of uninitialised memory); it follows
 * that init cannot tell storage that still holds an object in use: destroy
 * that first. */
#define ASYNC__OBJ_LIVE(obj) ((unsigned)(uintptr_t)(obj) ^ 0x5a17c0deu)
#define ASYNC__OBJ_DEAD(obj) ((unsigned)(uintptr_t)(obj) ^ 0xdead0b1eu)
#define ASYNC__CHECK_UNUSED(obj, first_waiter, msg)                           \
    ASYNC_ASSERT_TASK((obj)->live != ASYNC__OBJ_LIVE(obj) || !(first_waiter), \
                      msg, async__list_task(first_waiter))
#define ASYNC__CHECK_NOT_HELD(obj, held, msg)                                 \
    ASYNC_ASSERT((obj)->live != ASYNC__OBJ_LIVE(obj) || !(held), msg)
/* *_destroy: no task may still wait on `list`; then the object is out of
 * use (a later wait on it is caught). */
#define ASYNC__RETIRE(obj, list, msg)                                         \
    do {                                                                      \
        ASYNC__CHECK_UNUSED((obj), (obj)->list, msg);                         \
        (obj)->live = ASYNC__OBJ_DEAD(obj);                                   \
        (obj)->list = NULL;                                                   \
    } while (0)
static inline const async_task *async__list_task(const async__node *n) {
    return n && ASYNC__IS_TASK(n) ? (const async_task *)(const void *)n : NULL;
}

ASYNC_API int async_queue_init(async_queue *q, void *buf, size_t capacity,
                               size_t elem_size) {
    if (!q || !buf || !capacity || !elem_size) return ASYNC_EINVAL;
    q->live = ASYNC__OBJ_LIVE(q);
    q->buf = (unsigned char *)buf;
    q->cap = capacity;
    q->size = elem_size;
    q->head = q->count = 0;
    q->held_items = q->held_slots = q->unfinished = 0;
    q->getters = q->putters = q->joiners = NULL;
    q->closed = 0;
    q->order = ASYNC__Q_FIFO;
    q->cmp = NULL;
    q->seq = 0;
    return ASYNC_OK;
}

ASYNC_API int async_lifo_queue_init(async_queue *q, void *buf, size_t capacity,
                                    size_t elem_size) {
    int rc = async_queue_init(q, buf, capacity, elem_size);
    if (rc == ASYNC_OK) q->order = ASYNC__Q_LIFO;
    return rc;
}

ASYNC_API int async_priority_queue_init(async_queue *q, void *buf, size_t capacity,
                                        size_t elem_size,
                                        int (*cmp)(const void *a, const void *b)) {
    int rc;
    if (!cmp) return ASYNC_EINVAL;
    rc = async_queue_init(q, buf, capacity, elem_size);
    if (rc != ASYNC_OK) return rc;
    q->order = ASYNC__Q_PRIORITY;
    q->cmp = cmp;
    return ASYNC_OK;
}

/* ---- the priority queue's heap: slot i holds an item, then its put number
 * (8 bytes, copied with memcpy: the buffer has no alignment promise).
 * Invariant: no slot comes before its parent (cmp, then put number), so
 * slot 0 is the next to take. */
static inline unsigned char *async__pq_slot(const async_queue *q, size_t i) {
    return q->buf + i * (q->size + 8u);
}
static inline int async__pq_before(const async_queue *q, size_t a, size_t b) {
    unsigned char *x = async__pq_slot(q, a), *y = async__pq_slot(q, b);
    uint64_t sx, sy;
    int c = q->cmp(x, y);
    if (c) return c < 0;
    memcpy(&sx, x + q->size, 8);
    memcpy(&sy, y + q->size, 8);
    return sx < sy;
}
static inline void async__pq_swap(const async_queue *q, size_t a, size_t b) {
    unsigned char *x = async__pq_slot(q, a), *y = async__pq_slot(q, b);
    size_t i, n = q->size + 8u;
    for (i = 0; i < n; i++) {
        unsigned char c = x[i];
        x[i] = y[i];
        y[i] = c;
    }
}
static inline void async__pq_store(async_queue *q, const void *item) {
    size_t i = q->count;
    memcpy(async__pq_slot(q, i), item, q->size);
    memcpy(async__pq_slot(q, i) + q->size, &q->seq, 8);
    q->seq++;
    while (i > 0 && async__pq_before(q, i, (i - 1) / 2)) {
        async__pq_swap(q, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}
static inline void async__pq_take(async_queue *q, void *item) {
    size_t i = 0, n = q->count - 1;
    memcpy(item, async__pq_slot(q, 0), q->size);
    if (n > 0) memcpy(async__pq_slot(q, 0), async__pq_slot(q, n), q->size + 8u);
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && async__pq_before(q, l, m)) m = l;
        if (l + 1 < n && async__pq_before(q, l + 1, m)) m = l + 1;
        if (m == i) break;
        async__pq_swap(q, i, m);
        i = m;
    }
}

ASYNC_API size_t async_queue_size(const async_queue *q) { return q->count; }

ASYNC_API void async_queue_destroy(async_queue *q) {
    ASYNC__CHECK_UNUSED(q, q->getters ? q->getters : q->putters ? q->putters : q->joiners,
                        "async_queue_destroy: tasks still wait on the queue "
                        "(they would never wake)");
    ASYNC__CHECK_NOT_HELD(q, q->held_items + q->held_slots,
                          "async_queue_destroy: a woken task has not yet taken "
                          "the item (or slot) handed to it; it will read the "
                          "queue when it runs");
    q->live = ASYNC__OBJ_DEAD(q);
    q->getters = q->putters = q->joiners = NULL;
}

/* A woken getter / putter gets an item / slot set aside for it. */
static inline void async__queue_hand_item(async_loop *loop, async_queue *q) {
    if (q->count > q->held_items && q->getters) {
        q->held_items++;
        async__wake_one(loop, &q->getters, 1);
    }
}
static inline void async__queue_hand_slot(async_loop *loop, async_queue *q) {
    if (q->count + q->held_slots < q->cap && q->putters) {
        q->held_slots++;
        async__wake_one(loop, &q->putters, 1);
    }
}

static inline void async__queue_store(async_queue *q, const void *item) {
    if (q->order == ASYNC__Q_PRIORITY)
        async__pq_store(q, item);
    else
        memcpy(q->buf + ((q->head + q->count) % q->cap) * q->size, item, q->size);
    q->count++;
    q->unfinished++;
}

static inline void async__queue_take(async_queue *q, void *item) {
    if (q->order == ASYNC__Q_PRIORITY) {
        async__pq_take(q, item);
    } else if (q->order == ASYNC__Q_LIFO) {
        memcpy(item, q->buf + ((q->head + q->count - 1) % q->cap) * q->size, q->size);
    } else {
        memcpy(item, q->buf + q->head * q->size, q->size);
        q->head = (q->head + 1) % q->cap;
    }
    q->count--;
}

/* The loop of whoever touches the queue: its waiters share one loop. */
static inline async_loop *async__queue_loop(async_queue *q) {
    return async__list_loop(q->getters ? q->getters : q->putters ? q->putters : q->joiners);
}

ASYNC_API int async_queue_try_put(async_queue *q, const void *item) {
    async_loop *loop = async__queue_loop(q);
    if (q->closed) return ASYNC_ECLOSED;
    if (q->count + q->held_slots >= q->cap) return ASYNC_EAGAIN;
    async__queue_store(q, item);
    if (loop) async__queue_hand_item(loop, q);
    return ASYNC_OK;
}

ASYNC_API int async_queue_try_get(async_queue *q, void *item) {
    async_loop *loop = async__queue_loop(q);
    if (q->count <= q->held_items) return q->closed ? ASYNC_ECLOSED : ASYNC_EAGAIN;
    async__queue_take(q, item);
    if (loop) async__queue_hand_slot(loop, q);
    return ASYNC_OK;
}

ASYNC_API int async__put_start(async_task *t, async_frame *f, async_queue *q,
                               const void *item) {
    int r = async__intr_status(t, f);
    ASYNC_ASSERT_TASK(q->live != ASYNC__OBJ_DEAD(q),
                      "ASYNC_QUEUE_PUT: the queue was destroyed", t);
    if (r != ASYNC_OK) return r;
    if (q->closed) return ASYNC_ECLOSED;
    if (q->count + q->held_slots < q->cap && !q->putters) {
        async__queue_store(q, item);
        async__queue_hand_item(t->loop, q);
        return ASYNC_OK;
    }
    return async__park(t, &q->putters);
}

ASYNC_API int async__put_resume(async_task *t, async_frame *f,
                                async_queue *q, const void *item) {
    int r = async__intr_status(t, f);
    if (async__take_grant(t)) {
        ASYNC_ASSERT_TASK(q->held_slots > 0,
                          "ASYNC_QUEUE_PUT: the queue was initialised again (or "
                          "its storage reused) while a slot was handed to this "
                          "task; destroy a queue before reusing it", t);
        q->held_slots--;
        if (r != ASYNC_OK || q->closed) { /* pass the slot on */
            async__queue_hand_slot(t->loop, q);
            return r != ASYNC_OK ? r : ASYNC_ECLOSED;
        }
        async__queue_store(q, item);
        async__queue_hand_item(t->loop, q);
        return ASYNC_OK;
    }
    if (r != ASYNC_OK) return r;
    if (q->closed) return ASYNC_ECLOSED;
    return async__park(t, &q->putters);
}

ASYNC_API int async__get_start(async_task *t, async_frame *f, async_queue *q,
                               void *item) {
    int r = async__intr_status(t, f);
    ASYNC_ASSERT_TASK(q->live != ASYNC__OBJ_DEAD(q),
                      "ASYNC_QUEUE_GET: the queue was destroyed", t);
    if (r != ASYNC_OK) return r;
    if (q->count > q->held_items && !q->getters) {
        async__queue_take(q, item);
        async__queue_hand_slot(t->loop, q);
        return ASYNC_OK;
    }
    if (q->closed && q->count <= q->held_items) return ASYNC_ECLOSED;
    return async__park(t, &q->getters);
}

ASYNC_API int async__get_resume(async_task *t, async_frame *f,
                                async_queue *q, void *item) {
    int r = async__intr_status(t, f);
    if (async__take_grant(t)) {
        ASYNC_ASSERT_TASK(q->held_items > 0,
                          "ASYNC_QUEUE_GET: the queue was initialised again (or "
                          "its storage reused) while an item was handed to this "
                          "task; destroy a queue before reusing it", t);
        q->held_items--;
        if (r != ASYNC_OK) { /* pass the item on */
            async__queue_hand_item(t->loop, q);
            return r;
        }
        async__queue_take(q, item);
        async__queue_hand_slot(t->loop, q);
        return ASYNC_OK;
    }
    if (r != ASYNC_OK) return r;
    if (q->count > q->held_items) { /* woken by close: drain */
        async__queue_take(q, item);
        async__queue_hand_slot(t->loop, q);
        return ASYNC_OK;
    }
    if (q->closed) return ASYNC_ECLOSED;
    return async__park(t, &q->getters);
}

ASYNC_API void async_queue_task_done(async_queue *q) {
    async_loop *loop;
    ASYNC_ASSERT(q->unfinished > 0,
                 "async_queue_task_done: called more times than items were put");
    if (--q->unfinished) return;
    loop = async__list_loop(q->joiners);
    if (loop) async__wake_all(loop, &q->joiners, 1);
}

ASYNC_API int async__join_start(async_task *t, async_frame *f, async_queue *q) {
    int r = async__intr_status(t, f);
    ASYNC_ASSERT_TASK(q->live != ASYNC__OBJ_DEAD(q),
                      "ASYNC_QUEUE_JOIN: the queue was destroyed", t);
    if (r != ASYNC_OK) return r;
    return q->unfinished ? async__park(t, &q->joiners) : ASYNC_OK;
}

ASYNC_API int async__join_resume(async_task *t, async_frame *f,
                                 async_queue *q) {
    int r = async__intr_status(t, f);
    async__take_grant(t);
    if (r != ASYNC_OK) return r;
    return q->unfinished ? async__park(t, &q->joiners) : ASYNC_OK;
}

ASYNC_API void async_queue_close(async_queue *q) {
    async_loop *loop = async__queue_loop(q);
    q->closed = 1;
    if (!loop) return;
    async__wake_all(loop, &q->getters, 0);
    async__wake_all(loop, &q->putters, 0);
}

/* A task in a put, get or join: the queue and its counts. */
static inline void async__describe_queue(async__fmt *o, const async_task *t, int kind) {
    async__node *const *owner = t->node.link.l.owner;
    const async_queue *q = kind == ASYNC__S_PUT   ? ASYNC__OWNER(owner, async_queue, putters)
                           : kind == ASYNC__S_GET ? ASYNC__OWNER(owner, async_queue, getters)
                                                  : ASYNC__OWNER(owner, async_queue, joiners);
    async__put_s(o, " on queue ");
    async__put_p(o, q);
    async__put_of(o, q->count, q->cap, " items, ");
    async__put_u(o, async__list_len(q->getters));
    async__put_s(o, " getters, ");
    async__put_u(o, async__list_len(q->putters));
    async__put_s(o, " putters");
    if (kind == ASYNC__S_JOIN) {
        async__put_s(o, ", ");
        async__put_u(o, q->unfinished);
        async__put_s(o, " not done");
    }
    if (q->closed) async__put_s(o, ", closed");
    async__put_c(o, ')');
}

/* ---- events ---------------------------------------------------------------------- */

ASYNC_API void async_event_init(async_event *e) {
    e->live = ASYNC__OBJ_LIVE(e);
    e->set = 0;
    e->waiters = NULL;
}
ASYNC_API void async_event_destroy(async_event *e) {
    ASYNC__RETIRE(e, waiters,
                  "async_event_destroy: tasks still wait on the event "
                  "(they would never wake)");
}
ASYNC_API void async_event_set(async_event *e) {
    async_loop *loop = async__list_loop(e->waiters);
    e->set = 1;
    if (loop) async__wake_all(loop, &e->waiters, 1);
}
ASYNC_API void async_event_clear(async_event *e) { e->set = 0; }
ASYNC_API int async_event_is_set(const async_event *e) { return e->set; }

ASYNC_API int async__event_start(async_task *t, async_frame *f,
                                 async_event *e) {
    int r = async__intr_status(t, f);
    ASYNC_ASSERT_TASK(e->live != ASYNC__OBJ_DEAD(e),
                      "ASYNC_EVENT_WAIT: the event was destroyed", t);
    if (r != ASYNC_OK) return r;
    return e->set ? ASYNC_OK : async__park(t, &e->waiters);
}

ASYNC_API int async__event_resume(async_task *t, async_frame *f,
                                  async_event *e) {
    int r = async__intr_status(t, f);
    if (async__take_grant(t) && r == ASYNC_OK) return ASYNC_OK;
    if (r != ASYNC_OK) return r;
    return e->set ? ASYNC_OK : async__park(t, &e->waiters);
}

static inline void async__describe_event(async__fmt *o, const async_task *t) {
    async__node *const *owner = t->node.link.l.owner;
    const async_event *e = ASYNC__OWNER(owner, async_event, waiters);
    async__put_s(o, " on event ");
    async__put_p(o, e);
    async__put_s(o, e->set ? " (set)" : " (not set)");
}

/* ---- semaphores and locks ------------------------------------------------------ */

ASYNC_API int async_semaphore_init(async_semaphore *s, long value) {
    if (!s || value < 0) return ASYNC_EINVAL;
    s->live = ASYNC__OBJ_LIVE(s);
    s->value = value;
    s->held = 0;
    s->waiters = NULL;
    return ASYNC_OK;
}
ASYNC_API void async_semaphore_destroy(async_semaphore *s) {
    ASYNC__CHECK_UNUSED(s, s->waiters,
                        "async_semaphore_destroy: tasks still wait on the "
                        "semaphore (or lock) (they would never wake)");
    ASYNC__CHECK_NOT_HELD(s, s->held,
                          "async_semaphore_destroy: a woken task has not yet "
                          "taken the permit handed to it");
    s->live = ASYNC__OBJ_DEAD(s);
    s->waiters = NULL;
}

ASYNC_API int async_semaphore_try_acquire(async_semaphore *s) {
    if (s->value > 0 && !s->waiters) {
        s->value--;
        return ASYNC_OK;
    }
    return ASYNC_EAGAIN;
}

/* Hand the permit to the longest waiter, or keep it. */
ASYNC_API void async_semaphore_release(async_semaphore *s) {
    async_loop *loop = async__list_loop(s->waiters);
    if (loop && async__wake_one(loop, &s->waiters, 1))
        s->held++;
    else
        s->value++;
}

ASYNC_API int async__sem_start(async_task *t, async_frame *f,
                               async_semaphore *s) {
    int r = async__intr_status(t, f);
    ASYNC_ASSERT_TASK(s->live != ASYNC__OBJ_DEAD(s),
                      "ASYNC_SEM_ACQUIRE: the semaphore was destroyed", t);
    if (r != ASYNC_OK) return r;
    if (async_semaphore_try_acquire(s) == ASYNC_OK) return ASYNC_OK;
    return async__park(t, &s->waiters);
}

ASYNC_API int async__sem_resume(async_task *t, async_frame *f,
                                async_semaphore *s) {
    int r = async__intr_status(t, f);
    if (async__take_grant(t)) {
        ASYNC_ASSERT_TASK(s->held > 0,
                          "ASYNC_SEM_ACQUIRE: the semaphore (or lock) was "
                          "initialised again (or its storage reused) while a "
                          "permit was handed to this task", t);
        s->held--;
        if (r == ASYNC__UNWIND) { /* cancelled holding it: pass it on */
            async_semaphore_release(s);
            return r;
        }
        return ASYNC_OK; /* got it; a timeout shows at the next wait */
    }
    if (r != ASYNC_OK) return r;
    return async__park(t, &s->waiters);
}

ASYNC_API void async_lock_init(async_lock *l) {
    async_semaphore_init(&l->sem, 1);
    l->owner = NULL;
}
ASYNC_API int async_lock_locked(const async_lock *l) { return l->sem.value == 0; }
ASYNC_API void async_lock_destroy(async_lock *l) { async_semaphore_destroy(&l->sem); }

ASYNC_API void async__lock_release(async_task *t, async_lock *l) {
    ASYNC_ASSERT_TASK(l->owner == t,
                      "ASYNC_LOCK_RELEASE: the lock is not held by this task", t);
    l->owner = NULL;
    async_semaphore_release(&l->sem); /* straight to the next waiter */
}

static inline void async__describe_sem(async__fmt *o, const async_task *t) {
    async__node *const *owner = t->node.link.l.owner;
    const async_semaphore *s = ASYNC__OWNER(owner, async_semaphore, waiters);
    async__put_s(o, " on semaphore ");
    async__put_p(o, s);
    async__put_s(o, " (value ");
    async__put_u(o, (uint64_t)s->value);
    async__put_s(o, ", ");
    async__put_u(o, async__list_len(s->waiters));
    async__put_s(o, " waiting)");
}

/* ---- task groups ------------------------------------------------------------- */

ASYNC_API int async_group_init(async_group *g, async_waiter *waiters,
                               size_t capacity) {
    if (!g || (!waiters && capacity)) return ASYNC_EINVAL;
    g->w = waiters;
    g->cap = capacity;
    g->n = g->pending = 0;
    g->error = 0;
    g->failed = NULL;
    g->waiter = NULL;
    return ASYNC_OK;
}

/* Cancel the members still running: those whose waiter is still linked
 * to them.  A member that ended may have had its storage spawned again
 * (into another group, say): that task is not ours to cancel. */
static inline void async__group_cancel_all(async_group *g) {
    size_t i;
    for (i = 0; i < g->n; i++)
        if (g->w[i].node.where == ASYNC__W_WAITING) async_cancel(g->w[i].task);
}

static inline void async__group_notify(async_waiter *w, async_loop *loop) {
    async_group *g = (async_group *)w->ctx;
    g->pending--;
    if (!g->failed && !(w->task->node.flags & ASYNC__T_CANCEL) &&
        async__frame_of(w->task->state)->result < 0) {
        g->failed = w->task;
        g->error = async__frame_of(w->task->state)->result;
        async__group_cancel_all(g);
    }
    if (!g->pending) async__wake_all(loop, &g->waiter, 1);
}

ASYNC_API int async_group_spawn(async_group *g, async_loop *loop,
                                async_task *task, async_fn fn, void *state) {
    async_waiter *w;
    int rc;
    if (!g) return ASYNC_EINVAL;
    if (g->n == g->cap) return ASYNC_ENOSPC;
    rc = async_spawn(loop, task, fn, state);
    if (rc != ASYNC_OK) return rc;
    w = &g->w[g->n++];
    w->node.magic = ASYNC__K_WAITER;
    w->notify = async__group_notify;
    w->ctx = g;
    w->task = task;
    async__list_push(&task->waiters, &w->node);
    g->pending++;
    if (g->failed) async_cancel(task); /* joined a group that already failed */
    return ASYNC_OK;
}

static inline int async__group_start(async_task *t, async_frame *f,
                                     async_group *g) {
    int r = async__intr_status(t, f);
    if (r != ASYNC_OK) return r;
    return g->pending ? async__park(t, &g->waiter) : ASYNC_OK;
}

ASYNC_API int async_group_wait_fn(async_task *task, void *state) {
    async_group *g = (async_group *)state;
    ASYNC_BEGIN(task, g);
    ASYNC__WAIT(ASYNC__ID, ASYNC__S_GROUP, "ASYNC_GROUP_WAIT",
                async__group_start(async__t, async__f, g),
                async__group_start(async__t, async__f, g));
    ASYNC_FINALLY;
    /* Cancelled or timed out: cancel the members and, like asyncio's
     * TaskGroup, wait until every one has finished its cleanup (shielded
     * here), since the caller may free their state when this returns. */
    if (g->pending) async__group_cancel_all(g);
    while (g->pending)
        ASYNC__WAIT(ASYNC__ID, ASYNC__S_GROUP, "ASYNC_GROUP_WAIT",
                    async__group_start(async__t, async__f, g),
                    async__group_start(async__t, async__f, g));
    if (g->failed) g->frame.status = ASYNC_ECANCELED;
    ASYNC_END;
}

static inline void async__describe_group(async__fmt *o, const async_task *t) {
    async__node *const *owner = t->node.link.l.owner;
    const async_group *g = ASYNC__OWNER(owner, async_group, waiter);
    async__put_s(o, " on task group ");
    async__put_p(o, g);
    async__put_of(o, g->pending, g->n, " running)");
}

/* ---- unbounded queues ------------------------------------------------------------ */

ASYNC_API int async_lqueue_init(async_lqueue *q) {
    if (!q) return ASYNC_EINVAL;
    q->head = q->tail = NULL;
    q->count = q->held = 0;
    q->getters = NULL;
    q->closed = 0;
    q->live = ASYNC__OBJ_LIVE(q);
    return ASYNC_OK;
}

ASYNC_API void async_lqueue_destroy(async_lqueue *q) {
    ASYNC__CHECK_NOT_HELD(q, q->held,
                          "async_lqueue_destroy: a woken task has not yet taken "
                          "the item handed to it");
    ASYNC__RETIRE(q, getters,
                  "async_lqueue_destroy: tasks still wait on the queue "
                  "(they would never wake)");
}

ASYNC_API size_t async_lqueue_size(const async_lqueue *q) { return q->count; }

static inline async_qlink *async__lq_take(async_lqueue *q) {
    async_qlink *l = q->head;
    q->head = l->next;
    if (!q->head) q->tail = NULL;
    q->count--;
    l->next = NULL;
    return l;
}

static inline void async__lq_hand(async_lqueue *q) {
    async_loop *loop = async__list_loop(q->getters);
    if (loop && q->count > q->held) {
        q->held++;
        async__wake_one(loop, &q->getters, 1);
    }
}

ASYNC_API int async_lqueue_put(async_lqueue *q, async_qlink *item) {
    ASYNC_ASSERT(q->live == ASYNC__OBJ_LIVE(q),
                 "async_lqueue_put: the queue was never initialised or was destroyed");
    if (q->closed) return ASYNC_ECLOSED;
    item->next = NULL;
    if (q->tail)
        q->tail->next = item;
    else
        q->head = item;
    q->tail = item;
    q->count++;
    async__lq_hand(q);
    return ASYNC_OK;
}

ASYNC_API int async_lqueue_try_get(async_lqueue *q, async_qlink **item) {
    if (q->count <= q->held) return q->closed ? ASYNC_ECLOSED : ASYNC_EAGAIN;
    *item = async__lq_take(q);
    return ASYNC_OK;
}

ASYNC_API void async_lqueue_close(async_lqueue *q) {
    async_loop *loop = async__list_loop(q->getters);
    q->closed = 1;
    if (loop) async__wake_all(loop, &q->getters, 0);
}

ASYNC_API int async__lget_start(async_task *t, async_frame *f, async_lqueue *q,
                                async_qlink **item) {
    int r = async__intr_status(t, f);
    ASYNC_ASSERT_TASK(q->live == ASYNC__OBJ_LIVE(q),
                      "ASYNC_LQUEUE_GET: the queue was never initialised or was destroyed", t);
    if (r != ASYNC_OK) return r;
    if (q->count > q->held && !q->getters) {
        *item = async__lq_take(q);
        return ASYNC_OK;
    }
    if (q->closed && q->count <= q->held) return ASYNC_ECLOSED;
    return async__park(t, &q->getters);
}

ASYNC_API int async__lget_resume(async_task *t, async_frame *f, async_lqueue *q,
                                 async_qlink **item) {
    int r = async__intr_status(t, f);
    if (async__take_grant(t)) {
        ASYNC_ASSERT_TASK(q->held > 0,
                          "ASYNC_LQUEUE_GET: the queue was initialised again while "
                          "an item was handed to this task", t);
        q->held--;
        if (r != ASYNC_OK) { /* pass the item on */
            async__lq_hand(q);
            return r;
        }
        *item = async__lq_take(q);
        return ASYNC_OK;
    }
    if (r != ASYNC_OK) return r;
    if (q->count > q->held) { /* woken by close: drain */
        *item = async__lq_take(q);
        return ASYNC_OK;
    }
    if (q->closed) return ASYNC_ECLOSED;
    return async__park(t, &q->getters);
}

static inline void async__describe_lqueue(async__fmt *o, const async_task *t) {
    async__node *const *owner = t->node.link.l.owner;
    const async_lqueue *q = ASYNC__OWNER(owner, async_lqueue, getters);
    async__put_s(o, " on unbounded queue ");
    async__put_p(o, q);
    async__put_s(o, " (");
    async__put_u(o, q->count);
    async__put_s(o, " items)");
}

/* ---- loop callbacks ------------------------------------------------------------ */

ASYNC_API int async_call_at(async_loop *loop, async_handle *h, uint64_t when_ns,
                            void (*fn)(async_loop *, void *), void *arg) {
    if (!loop || !h || !fn) return ASYNC_EINVAL;
    /* h may be fresh storage: not read.  The first timers are checked by address. */
    ASYNC_ASSERT(!async__timers_head(&loop->timers, &h->node),
                 "async_call_*: the handle is still scheduled (cancel it first)");
    h->node.magic = ASYNC__K_CALL;
    h->node.deadline = when_ns;
    h->fn = fn;
    h->arg = arg;
    h->loop = loop;
    loop->nhandles++;
    async__timers_insert(&loop->timers, &h->node);
    return ASYNC_OK;
}

ASYNC_API int async_call_soon(async_loop *loop, async_handle *h,
                              void (*fn)(async_loop *, void *), void *arg) {
    return async_call_at(loop, h, loop ? loop->now : 0, fn, arg);
}

ASYNC_API int async_call_later(async_loop *loop, async_handle *h, double seconds,
                               void (*fn)(async_loop *, void *), void *arg) {
    if (!loop) return ASYNC_EINVAL;
    return async_call_at(loop, h, async__add_ns(async_now(loop), async_seconds_to_ns(seconds)),
                         fn, arg);
}

ASYNC_API int async_handle_pending(const async_handle *h) {
    return h->node.magic == ASYNC__K_CALL && h->node.where == ASYNC__W_SLEEPING;
}

ASYNC_API int async_handle_cancel(async_handle *h) {
    if (!async_handle_pending(h)) return 0;
    async__timers_remove(&h->loop->timers, &h->node);
    h->loop->nhandles--;
    return 1;
}

/* Its time has come (from the timer walk: nothing else is in progress). */
static inline void async__handle_fire(async_loop *loop, async_handle *h) {
    loop->nhandles--;
    h->fn(loop, h->arg);
}

/* ---- done callbacks ---------------------------------------------------------------- */

static inline void async__done_cb_notify(async_waiter *w, async_loop *loop) {
    async_done_callback *cb = (async_done_callback *)(void *)w;
    async_call_soon(loop, &cb->h, cb->h.fn, cb->h.arg);
}

/* Watch `list` (a future's or a task's), or schedule at once if done. */
static inline int async__done_cb_add(async_loop *loop, async__node **list, int done,
                                     async_task *task, async_done_callback *cb,
                                     void (*fn)(async_loop *, void *), void *arg) {
    if (!cb || !fn) return ASYNC_EINVAL;
    cb->h.node.magic = 0;
    cb->h.fn = fn;
    cb->h.arg = arg;
    cb->w.node.magic = ASYNC__K_WAITER;
    cb->w.node.where = ASYNC__W_IDLE;
    cb->w.notify = async__done_cb_notify;
    cb->w.ctx = cb;
    cb->w.task = task;
    if (done) return async_call_soon(loop, &cb->h, fn, arg);
    async__list_push(list, &cb->w.node);
    return ASYNC_OK;
}

ASYNC_API int async_task_add_done_callback(async_task *task, async_done_callback *cb,
                                           void (*fn)(async_loop *, void *), void *arg) {
    if (!task) return ASYNC_EINVAL;
    ASYNC_ASSERT(ASYNC__SPAWNED(task),
                 "async_task_add_done_callback: the task was never spawned");
    return async__done_cb_add(task->loop, &task->waiters, task->node.magic != ASYNC__LIVE,
                              task, cb, fn, arg);
}

ASYNC_API int async_done_callback_remove(async_done_callback *cb) {
    if (cb->w.node.where == ASYNC__W_WAITING) {
        async__list_remove(&cb->w.node);
        return 1;
    }
    return async_handle_cancel(&cb->h);
}

/* ---- futures ----------------------------------------------------------------------- */

ASYNC_API int async_future_init(async_future *f, async_loop *loop) {
    if (!f || !loop) return ASYNC_EINVAL;
    f->loop = loop;
    f->waiters = NULL;
    f->result = 0;
    f->state = ASYNC_PENDING;
    f->error = 0;
    f->live = ASYNC__OBJ_LIVE(f);
    return ASYNC_OK;
}

ASYNC_API void async_future_destroy(async_future *f) {
    ASYNC__RETIRE(f, waiters,
                  "async_future_destroy: tasks or done callbacks still "
                  "wait on the future (they would never wake)");
}

static inline int async__future_complete(async_future *f, int state, intptr_t result,
                                         int error) {
    ASYNC_ASSERT(f->live == ASYNC__OBJ_LIVE(f),
                 "a future was completed before async_future_init (or after destroy)");
    if (f->state != ASYNC_PENDING) return ASYNC_EINVAL;
    f->state = state;
    f->result = result;
    f->error = error;
    async__wake_all(f->loop, &f->waiters, 1);
    return ASYNC_OK;
}

ASYNC_API int async_future_set_result(async_future *f, intptr_t value) {
    return async__future_complete(f, ASYNC_DONE, value, 0);
}
ASYNC_API int async_future_set_error(async_future *f, int code) {
    if (code >= 0 || code < -32767) return ASYNC_EINVAL; /* ASYNC_STATUS() is a short */
    return async__future_complete(f, ASYNC_DONE, 0, code);
}
ASYNC_API int async_future_cancel(async_future *f) {
    return async__future_complete(f, ASYNC_CANCELLED, 0, 0) == ASYNC_OK;
}
ASYNC_API int async_future_done(const async_future *f) { return f->state != ASYNC_PENDING; }
ASYNC_API intptr_t async_future_result(const async_future *f) { return f->result; }
ASYNC_API int async_future_status(const async_future *f) {
    if (f->state == ASYNC_PENDING) return ASYNC_EAGAIN;
    if (f->state == ASYNC_CANCELLED) return ASYNC_ECANCELED;
    return f->error;
}

ASYNC_API int async_future_add_done_callback(async_future *f, async_done_callback *cb,
                                             void (*fn)(async_loop *, void *),
                                             void *arg) {
    if (!f) return ASYNC_EINVAL;
    return async__done_cb_add(f->loop, &f->waiters, f->state != ASYNC_PENDING, NULL, cb, fn,
                              arg);
}

ASYNC_API int async__future_start(async_task *t, async_frame *f, async_future *fu) {
    int r = async__intr_status(t, f);
    ASYNC_ASSERT_TASK(fu->live == ASYNC__OBJ_LIVE(fu),
                      "ASYNC_FUTURE_AWAIT: the future was never initialised or was destroyed",
                      t);
    if (r != ASYNC_OK) return r;
    return fu->state != ASYNC_PENDING ? async_future_status(fu) : async__park(t, &fu->waiters);
}

ASYNC_API int async__future_resume(async_task *t, async_frame *f, async_future *fu) {
    async__take_grant(t);
    return async__future_start(t, f, fu);
}

#ifdef ASYNC__IO
static inline void async__future_deliver(async_loop *loop, void *arg) {
    async_future *f = (async_future *)arg;
    (void)loop;
    if (f->ts_error)
        async_future_set_error(f, f->ts_error);
    else
        async_future_set_result(f, f->ts_result);
}
ASYNC_API int async_future_set_result_threadsafe(async_future *f, intptr_t value) {
    f->ts_result = value;
    f->ts_error = 0;
    return async_call_soon_threadsafe(f->loop, &f->call, async__future_deliver, f);
}
ASYNC_API int async_future_set_error_threadsafe(async_future *f, int code) {
    if (code >= 0 || code < -32767) return ASYNC_EINVAL;
    f->ts_result = 0;
    f->ts_error = code;
    return async_call_soon_threadsafe(f->loop, &f->call, async__future_deliver, f);
}
#endif

static inline void async__describe_future(async__fmt *o, const async_task *t) {
    async__node *const *owner = t->node.link.l.owner;
    async__put_s(o, " on future ");
    async__put_p(o, ASYNC__OWNER(owner, async_future, waiters));
}

/* ---- conditions ------------------------------------------------------------------ */

ASYNC_API int async_condition_init(async_condition *c, async_lock *lock) {
    if (!c || !lock) return ASYNC_EINVAL;
    c->lock = lock;
    c->waiters = NULL;
    c->live = ASYNC__OBJ_LIVE(c);
    return ASYNC_OK;
}

ASYNC_API void async_condition_destroy(async_condition *c) {
    ASYNC__RETIRE(c, waiters,
                  "async_condition_destroy: tasks still wait on the "
                  "condition (they would never wake)");
}

/* A notified waiter queues for the lock without running: the lock's next
 * release hands it over (or now, if the lock is free).  It is marked
 * notified: if it is interrupted before its wait returns, the notification
 * passes on (async__cond_resume). */
ASYNC_API void async_condition_notify(async_condition *c, size_t n) {
    async_semaphore *s = &c->lock->sem;
    async_loop *loop = async__list_loop(c->waiters);
    while (n-- > 0) {
        async__node *w = async__list_pop(&c->waiters);
        if (!w) break;
        w->flags |= ASYNC__T_RELEASED;
        if (s->value > 0 && !s->waiters) {
            s->value--;
            s->held++;
            async__wake(loop, w, 1);
        } else {
            async__list_push(&s->waiters, w);
        }
    }
}

ASYNC_API void async_condition_notify_all(async_condition *c) {
    async_condition_notify(c, (size_t)-1);
}

ASYNC_API int async__cond_start(async_task *t, async_frame *f, async_condition *c) {
    int r = async__intr_status(t, f);
    ASYNC_ASSERT_TASK(c->live == ASYNC__OBJ_LIVE(c),
                      "ASYNC_COND_WAIT: the condition was never initialised or was destroyed",
                      t);
    ASYNC_ASSERT_TASK(c->lock->owner == t,
                      "ASYNC_COND_WAIT: the task does not hold the condition's lock", t);
    if (r != ASYNC_OK) return r;
    async__lock_release(t, c->lock);
    return async__park(t, &c->waiters);
}

/* Woken with the lock handed over: done.  Woken otherwise (cancelled, timed
 * out): take the lock back first, waiting for it whatever else happens, so
 * the caller always holds it when the wait returns.  A task notified but
 * interrupted hands its notification on to the next waiter, so that none is
 * lost (as asyncio does since Python 3.13). */
ASYNC_API int async__cond_resume(async_task *t, async_frame *f, async_condition *c) {
    async_semaphore *s = &c->lock->sem;
    int notified = (t->node.flags & ASYNC__T_RELEASED) != 0, r;
    if (async__take_grant(t)) {
        ASYNC_ASSERT_TASK(s->held > 0,
                          "ASYNC_COND_WAIT: the lock was initialised again while "
                          "handed to this task", t);
        s->held--;
    } else if (async_semaphore_try_acquire(s) != ASYNC_OK) {
        /* queue for the lock, still marked notified (async__park would
         * clear that; no grant is pending here) */
        async__list_push(&s->waiters, &t->node);
        return ASYNC__AGAIN;
    }
    c->lock->owner = t;
    t->node.flags &= (uint8_t)~ASYNC__T_RELEASED;
    r = async__intr_status(t, f);
    if (notified && r != ASYNC_OK) async_condition_notify(c, 1);
    return r;
}

/* A task in ASYNC_COND_WAIT is on the condition's list, or (notified) on
 * its lock's. */
static inline void async__describe_cond(async__fmt *o, const async_task *t) {
    (void)t;
    async__put_s(o, " for a notify or for the lock");
}

/* ---- barriers ------------------------------------------------------------------- */

ASYNC_API int async_barrier_init(async_barrier *b, size_t parties) {
    if (!b || parties < 1) return ASYNC_EINVAL;
    b->parties = parties;
    b->count = 0;
    b->broken = 0;
    b->waiters = NULL;
    b->live = ASYNC__OBJ_LIVE(b);
    return ASYNC_OK;
}

ASYNC_API void async_barrier_destroy(async_barrier *b) {
    ASYNC__RETIRE(b, waiters,
                  "async_barrier_destroy: tasks still wait at the barrier "
                  "(they would never wake)");
}

/* Wake every waiter without the grant: they report ASYNC_EBROKEN.  They
 * leave the count now; marked, so that one interrupted before it runs does
 * not leave it again (it would take a party off the next round). */
static inline void async__barrier_break(async_barrier *b) {
    async_loop *loop = async__list_loop(b->waiters);
    b->count = 0;
    while (loop && b->waiters) {
        b->waiters->flags |= ASYNC__T_RELEASED;
        async__wake_one(loop, &b->waiters, 0);
    }
}

ASYNC_API void async_barrier_abort(async_barrier *b) {
    b->broken = 1;
    async__barrier_break(b);
}
ASYNC_API void async_barrier_reset(async_barrier *b) {
    async__barrier_break(b);
    b->broken = 0;
}
ASYNC_API size_t async_barrier_waiting(const async_barrier *b) { return b->count; }
ASYNC_API int async_barrier_broken(const async_barrier *b) { return b->broken; }

ASYNC_API int async__barrier_start(async_task *t, async_frame *f, async_barrier *b,
                                   size_t *index) {
    int r = async__intr_status(t, f);
    ASYNC_ASSERT_TASK(b->live == ASYNC__OBJ_LIVE(b),
                      "ASYNC_BARRIER_WAIT: the barrier was never initialised or was destroyed",
                      t);
    if (r != ASYNC_OK) return r;
    if (b->broken) return ASYNC_EBROKEN;
    if (index) *index = b->count;
    if (++b->count < b->parties) return async__park(t, &b->waiters);
    b->count = 0; /* the last one: everybody goes */
    if (b->waiters) async__wake_all(t->loop, &b->waiters, 1);
    return ASYNC_OK;
}

ASYNC_API int async__barrier_resume(async_task *t, async_frame *f, async_barrier *b) {
    int r = async__intr_status(t, f);
    if (async__take_grant(t)) /* passed; an interruption shows at the next wait */
        return r == ASYNC__UNWIND ? r : ASYNC_OK;
    if (t->node.flags & ASYNC__T_RELEASED) /* aborted or reset: uncounted already */
        t->node.flags &= (uint8_t)~ASYNC__T_RELEASED;
    else if (r != ASYNC_OK && b->count > 0) /* cut short: leave the barrier */
        b->count--;
    return r != ASYNC_OK ? r : ASYNC_EBROKEN;
}

static inline void async__describe_barrier(async__fmt *o, const async_task *t) {
    async__node *const *owner = t->node.link.l.owner;
    const async_barrier *b = ASYNC__OWNER(owner, async_barrier, waiters);
    async__put_s(o, " at barrier ");
    async__put_p(o, b);
    async__put_of(o, b->count, b->parties, " there)");
}

/* ---- asyncio.wait ------------------------------------------------------------------ */

static inline int async__task_failed(const async_task *t) {
    return t->node.magic != ASYNC__LIVE && !(t->node.flags & ASYNC__T_CANCEL) &&
           async__frame_of(t->state)->result < 0;
}

static inline int async__waitset_met(const async_wait *ws) {
    if (ws->when == ASYNC_FIRST_COMPLETED) return ws->done > 0 || ws->n == 0;
    if (ws->when == ASYNC_FIRST_EXCEPTION && ws->first_failed) return 1;
    return ws->done == ws->n;
}

/* One of the tasks is done. */
static inline void async__waitset_count(async_wait *ws, async_task *t) {
    ws->done++;
    if (!ws->first_failed && async__task_failed(t)) ws->first_failed = t;
}

static inline void async__waitset_notify(async_waiter *w, async_loop *loop) {
    async_wait *ws = (async_wait *)w->ctx;
    async__waitset_count(ws, w->task);
    if (async__waitset_met(ws)) async__wake_all(loop, &ws->waiter, 1);
}

/* Count what is done; if that is not enough, watch the others and park. */
static inline int async__waitset_park(async_task *t, async_wait *ws) {
    size_t i;
    ws->done = 0;
    ws->first_failed = NULL;
    for (i = 0; i < ws->n; i++) {
        ASYNC_ASSERT_TASK(ASYNC__SPAWNED(ws->tasks[i]),
                          "ASYNC_WAIT_TASKS: one of the tasks was never spawned", t);
        if (ws->tasks[i]->node.magic != ASYNC__LIVE) async__waitset_count(ws, ws->tasks[i]);
    }
    if (async__waitset_met(ws)) return ASYNC_OK;
    for (i = 0; i < ws->n; i++) {
        async_waiter *w = &ws->w[i];
        w->node.magic = ASYNC__K_WAITER;
        w->node.where = ASYNC__W_IDLE;
        if (ws->tasks[i]->node.magic != ASYNC__LIVE) continue;
        w->notify = async__waitset_notify;
        w->ctx = ws;
        w->task = ws->tasks[i];
        async__list_push(&ws->tasks[i]->waiters, &w->node);
    }
    return async__park(t, &ws->waiter);
}

ASYNC_API int async__waitset_start(async_task *t, async_frame *f, async_wait *ws,
                                   async_waiter *waiters, async_task *const *tasks,
                                   size_t n, int when) {
    int r = async__intr_status(t, f);
    if (r != ASYNC_OK) return r;
    ASYNC_ASSERT_TASK(when >= ASYNC_FIRST_COMPLETED && when <= ASYNC_ALL_COMPLETED,
                      "ASYNC_WAIT_TASKS: `when` must be ASYNC_FIRST_COMPLETED, "
                      "ASYNC_FIRST_EXCEPTION or ASYNC_ALL_COMPLETED", t);
    ws->tasks = tasks;
    ws->w = waiters;
    ws->n = n;
    ws->when = when;
    ws->waiter = NULL;
    return async__waitset_park(t, ws);
}

ASYNC_API int async__waitset_resume(async_task *t, async_frame *f, async_wait *ws) {
    size_t i;
    int r;
    async__take_grant(t);
    for (i = 0; i < ws->n; i++) /* stop watching the others */
        if (ws->w[i].node.where == ASYNC__W_WAITING) async__list_remove(&ws->w[i].node);
    r = async__intr_status(t, f);
    if (r != ASYNC_OK) return r;
    return async__waitset_park(t, ws); /* met: OK; else (woken early) wait on */
}

static inline void async__describe_wait(async__fmt *o, const async_task *t) {
    async__node *const *owner = t->node.link.l.owner;
    const async_wait *ws = ASYNC__OWNER(owner, async_wait, waiter);
    async__put_s(o, " on ");
    async__put_u(o, ws->n);
    async__put_s(o, " tasks (");
    async__put_u(o, ws->done);
    async__put_s(o, " done)");
}

/* ---- generators without a loop ---------------------------------------------------- */

ASYNC_API async_iter *async__iter_start(async_iter *it, async_fn fn, void *gen_state) {
    async_loop_init(&it->loop, ASYNC_VIRTUAL);
    it->task.node.magic = 0; /* fresh storage */
    async_spawn(&it->loop, &it->task, fn, gen_state);
    return it;
}

/* One step of the generator: 1 with a value, 0 when it has ended. */
ASYNC_API int async__iter_next(async_iter *it) {
    if (it->task.node.magic != ASYNC__LIVE) return 0;
    async__run_ready(&it->loop);
    if (it->task.node.magic != ASYNC__LIVE) return 0;
    ASYNC_ASSERT_TASK(it->task.node.where == ASYNC__W_READY,
                      "ASYNC_FOR_EACH: the generator waited (slept or awaited): "
                      "without a loop nothing can wake it; drive it from a task "
                      "with ASYNC_NEXT", &it->task);
    return 1;
}

ASYNC_API intptr_t async__iter_value(const async_iter *it) {
    return async__frame_of(it->task.state)->result;
}

/* ==========================================================================
 * I/O implementation
 * ========================================================================== */
#ifdef ASYNC__IO

/* ---- OS calls: POSIX, or Winsock -------------------------------------------------
 * The few places where Windows differs go through these.  On Windows a
 * handle is a socket (SOCKET) passed as an int: socket handles are kernel
 * handles, which are 32-bit significant (so Microsoft documents for 64-bit
 * Windows), and an int holds them all.  Winsock reports errors through
 * WSAGetLastError(); they are mapped to the errno names POSIX uses, so that
 * every platform returns the same -ECONNREFUSED, -EBADF, ... */
#ifdef ASYNC__WIN
#define ASYNC__OSFD(fd) ((SOCKET)(uintptr_t)(unsigned)(fd))
typedef int async__socklen;
static inline int async__wsa_errno(int wsa) {
    switch (wsa) {
    case 0: return 0;
    case WSAEWOULDBLOCK: return EAGAIN;
    case WSAEINPROGRESS: return EINPROGRESS;
    case WSAEALREADY: return EALREADY;
    case WSAENOTSOCK: case WSAEBADF: case WSANOTINITIALISED: return EBADF;
    case WSAEINTR: return EINTR;
    case WSAEINVAL: return EINVAL;
    case WSAEFAULT: return EFAULT;
    case WSAEACCES: return EACCES;
    case WSAEMFILE: return EMFILE;
    case WSAENOBUFS: return ENOBUFS;
    case WSAEMSGSIZE: return EMSGSIZE;
    case WSAEAFNOSUPPORT: case WSAEPFNOSUPPORT: return EAFNOSUPPORT;
    case WSAEADDRINUSE: return EADDRINUSE;
    case WSAEADDRNOTAVAIL: return EADDRNOTAVAIL;
    case WSAENETDOWN: return ENETDOWN;
    case WSAENETUNREACH: return ENETUNREACH;
    case WSAENETRESET: return ENETRESET;
    case WSAECONNABORTED: return ECONNABORTED;
    case WSAECONNRESET: return ECONNRESET;
    case WSAEISCONN: return EISCONN;
    case WSAENOTCONN: return ENOTCONN;
    case WSAESHUTDOWN: return EPIPE;
    case WSAETIMEDOUT: return ETIMEDOUT;
    case WSAECONNREFUSED: return ECONNREFUSED;
    case WSAEHOSTUNREACH: case WSAEHOSTDOWN: return EHOSTUNREACH;
    default: return EIO;
    }
}
static inline int async__os_error(void) { return async__wsa_errno(WSAGetLastError()); }
/* Handles async.h makes are not inherited by child processes, like
 * close-on-exec sockets elsewhere. */
static inline int async__os_own(SOCKET s) {
    if (s == INVALID_SOCKET) return -1;
    SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    return (int)(unsigned)(uintptr_t)s;
}
/* A non-blocking connect that has not finished yet is WSAEWOULDBLOCK here. */
static inline int async__os_connect(int fd, const struct sockaddr *a, unsigned len) {
    int e;
    if (ASYNC_SYSCALL(connect)(ASYNC__OSFD(fd), a, (int)len) == 0) return 0;
    e = async__os_error();
    return -(e == EAGAIN ? EINPROGRESS : e);
}
/* How a connect ended: 0 or -errno. */
static inline int async__os_connect_result(int fd) {
    int err = 0, len = sizeof err;
    if (ASYNC_SYSCALL(getsockopt)(ASYNC__OSFD(fd), SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0)
        return -async__os_error();
    return -async__wsa_errno(err);
}
static inline int async__os_poll(struct pollfd *p, unsigned long n, int timeout) {
    return WSAPoll(p, n, timeout);
}
static inline int async__os_close(int fd) {
    return closesocket(ASYNC__OSFD(fd)) == 0 ? 0 : -1;
}
static inline intptr_t async__os_read(int fd, void *buf, size_t n) {
    return recv(ASYNC__OSFD(fd), (char *)buf, n > 0x7fffffff ? 0x7fffffff : (int)n, 0);
}
#else
#define ASYNC__OSFD(fd) (fd)
typedef socklen_t async__socklen;
static inline int async__os_error(void) { return errno; }
static inline int async__os_poll(struct pollfd *p, unsigned long n, int timeout) {
    return ASYNC_SYSCALL(poll)(p, (nfds_t)n, timeout);
}
static inline int async__os_close(int fd) { return ASYNC_SYSCALL(close)(fd); }
static inline intptr_t async__os_read(int fd, void *buf, size_t n) {
    return ASYNC_SYSCALL(read)(fd, buf, n);
}
/* Sockets async.h makes are close-on-exec, like Python's. */
static inline int async__os_own(int fd) {
    if (fd >= 0) ASYNC_SYSCALL(fcntl)(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}
static inline int async__os_connect(int fd, const struct sockaddr *a, unsigned len) {
    return ASYNC_SYSCALL(connect)(fd, a, (socklen_t)len) == 0 ? 0 : -errno;
}
static inline int async__os_connect_result(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (ASYNC_SYSCALL(getsockopt)(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
    return -err;
}
#endif

/* ---- backends ----------------------------------------------------------------
 * One readiness mechanism per build, each in its own block, behind the same
 * few functions (the shape of Redis's ae_epoll.c / ae_select.c); the shared
 * code below them never looks inside:
 *   async__be_open(loop)     make the OS resources: the wake fd (wakefd for
 *                            reading, wakefd_w for writing) and the
 *                            backend's own.  ASYNC_OK, or -errno with
 *                            nothing left open.
 *   async__be_close(loop)    free them (the wake fd is already drained).
 *   async__be_watch(io)      start watching io->fd: -errno, ASYNC_ENOSPC.
 *   async__be_unwatch(io)    stop.  (No "modify": epoll watches both
 *                            directions edge-triggered from the start, poll
 *                            derives interest from the waiting tasks at
 *                            every wait.)
 *   async__be_wait(loop, deadline)  wait until a watched fd is ready, the
 *                            wake fd is written, or loop time `deadline`
 *                            (0: just look; UINT64_MAX: no limit); report
 *                            each ready fd with async__io_ready; return 1
 *                            if the wake fd fired (the caller then runs the
 *                            inbox, after the walk), else 0.
 *   async__be_wake(loop)     from any thread: end a wait in progress.
 *   async__be_fd(loop)       the fd a host's loop polls (async_backend_fd).
 *   async__be_embed(loop, deadline)  after an async_step: make be_fd turn
 *                            readable at `deadline` too, if the backend can.
 */

/* An fd became ready: remember it, wake who waits for it. */
static inline void async__io_ready(async_io *io, unsigned ready) {
    io->ready |= ready;
    if (ready & ASYNC_READ) async__wake_all(io->loop, &io->readers, 1);
    if (ready & ASYNC_WRITE) async__wake_all(io->loop, &io->writers, 1);
}

#ifdef ASYNC__EPOLL
/* ---- backend: epoll (Linux) -----------------------------------------------------
 * iofd is the epoll set; in it, a timerfd (loop deadlines to the
 * nanosecond, ASYNC_PRECISE included) and an eventfd (wakefd = wakefd_w)
 * carry the address of their field in the loop, an async_io its own. */

static inline void async__be_close(async_loop *loop) {
    if (loop->iofd >= 0) ASYNC_SYSCALL(close)(loop->iofd);
    if (loop->timerfd >= 0) ASYNC_SYSCALL(close)(loop->timerfd);
    if (loop->wakefd >= 0) ASYNC_SYSCALL(close)(loop->wakefd);
    loop->iofd = loop->timerfd = loop->wakefd = loop->wakefd_w = -1;
    loop->armed = 0;
}

static inline int async__be_open(async_loop *loop) {
    struct epoll_event ev;
    int e;
    loop->iofd = ASYNC_SYSCALL(epoll_create1)(EPOLL_CLOEXEC);
    loop->timerfd = ASYNC_SYSCALL(timerfd_create)(ASYNC__MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    loop->wakefd = loop->wakefd_w = ASYNC_SYSCALL(eventfd)(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->iofd < 0 || loop->timerfd < 0 || loop->wakefd < 0) goto fail;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = &loop->timerfd;
    if (ASYNC_SYSCALL(epoll_ctl)(loop->iofd, EPOLL_CTL_ADD, loop->timerfd, &ev) < 0) goto fail;
    ev.data.ptr = &loop->wakefd;
    if (ASYNC_SYSCALL(epoll_ctl)(loop->iofd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0) goto fail;
    return ASYNC_OK;
fail:
    e = errno ? -errno : ASYNC_EINVAL;
    async__be_close(loop);
    return e;
}

static inline int async__be_watch(async_io *io) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = io;
    return ASYNC_SYSCALL(epoll_ctl)(io->loop->iofd, EPOLL_CTL_ADD, io->fd, &ev) < 0 ? -errno
                                                                                   : ASYNC_OK;
}

static inline void async__be_unwatch(async_io *io) {
    ASYNC_SYSCALL(epoll_ctl)(io->loop->iofd, EPOLL_CTL_DEL, io->fd, NULL);
}

/* Set the timerfd to fire at loop time `deadline`, `early` ns before it
 * (on the OS clock: loop time plus the epoch).  0, or -1 if it failed. */
static inline int async__timerfd_arm(async_loop *loop, uint64_t deadline, uint64_t early) {
    struct itimerspec its;
    uint64_t d = async__add_ns(deadline, (int64_t)loop->epoch);
    if (d > early) d -= early;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = (time_t)(d / 1000000000u);
    its.it_value.tv_nsec = (long)(d % 1000000000u);
    if (ASYNC_SYSCALL(timerfd_settime)(loop->timerfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) return -1;
    loop->armed = deadline;
    return 0;
}

static inline int async__be_wait(async_loop *loop, uint64_t deadline) {
    struct epoll_event ev[ASYNC_EPOLL_EVENTS];
    int n, i, calls = 0, timeout = deadline ? -1 : 0;
    if (deadline && deadline != UINT64_MAX && deadline != loop->armed &&
        async__timerfd_arm(loop, deadline, (loop->flags & ASYNC_PRECISE) ? ASYNC_SPIN_NS : 0) < 0)
        timeout = 1; /* could not arm: wake soon and look again */
    n = ASYNC_SYSCALL(epoll_wait)(loop->iofd, ev, ASYNC_EPOLL_EVENTS, timeout);
    for (i = 0; i < n; i++) {
        void *tag = ev[i].data.ptr;
        if (tag == &loop->timerfd) {
            uint64_t expirations;
            if (ASYNC_SYSCALL(read)(loop->timerfd, &expirations, sizeof expirations) < 0) {
            }
            loop->armed = 0;
        } else if (tag == &loop->wakefd) {
            calls = 1;
        } else {
            unsigned e = ev[i].events, r = 0;
            if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) r |= ASYNC_READ;
            if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) r |= ASYNC_WRITE;
            async__io_ready((async_io *)tag, r);
        }
    }
    return calls;
}

static inline void async__be_wake(async_loop *loop) {
    uint64_t one = 1;
    ssize_t r;
    do
        r = ASYNC_SYSCALL(write)(loop->wakefd_w, &one, sizeof one);
    while (r < 0 && errno == EINTR);
}

static inline int async__be_fd(async_loop *loop) { return loop->iofd; }

static inline void async__be_embed(async_loop *loop, uint64_t deadline) {
    if (deadline != loop->armed) async__timerfd_arm(loop, deadline, 0);
}

#else
/* ---- backend: poll (POSIX) or WSAPoll (Windows) -------------------------------------
 * The open handles are a list in the loop (ios, nios: at most
 * ASYNC_POLL_MAX); each wait polls those with waiting tasks, and a pipe
 * (wakefd, wakefd_w) for wake-ups, or on Windows, where WSAPoll takes
 * sockets only, a pair of UDP sockets connected to each other.
 * Deadlines to the millisecond, rounded up (ASYNC_PRECISE spins the rest). */

#ifdef ASYNC__WIN
/* The wake-up pair: two UDP sockets on loopback, each connected to the
 * other (so nothing else gets in).  The loop reads wakefd, non-blocking;
 * other threads write to wakefd_w, which stays blocking: a non-blocking
 * datagram send may fail with WSAEWOULDBLOCK while the reader's queue is
 * empty (wine does, when threads send at once), and a lost wake-up would
 * leave a call in the inbox with the loop asleep. */
static inline void async__be_close(async_loop *loop) {
    if (loop->wakefd >= 0) {
        closesocket(ASYNC__OSFD(loop->wakefd));
        closesocket(ASYNC__OSFD(loop->wakefd_w));
        WSACleanup(); /* one per WSAStartup: Winsock counts them */
    }
    loop->wakefd = loop->wakefd_w = -1;
}

/* A UDP socket bound to loopback on a port Windows picks; *a: its address. */
static inline SOCKET async__udp_loopback(struct sockaddr_in *a) {
    int len = sizeof *a;
    SOCKET s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s == INVALID_SOCKET) return s;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)a, sizeof *a) != 0 ||
        getsockname(s, (struct sockaddr *)a, &len) != 0) {
        closesocket(s);
        return INVALID_SOCKET;
    }
    return s;
}

static inline int async__be_open(async_loop *loop) {
    WSADATA wsa;
    struct sockaddr_in ra, wa;
    int e;
    u_long on = 1;
    SOCKET r, w = INVALID_SOCKET;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) return ASYNC_EINVAL;
    r = async__udp_loopback(&ra);
    if (r != INVALID_SOCKET) w = async__udp_loopback(&wa);
    if (w == INVALID_SOCKET || connect(r, (struct sockaddr *)&wa, sizeof wa) != 0 ||
        connect(w, (struct sockaddr *)&ra, sizeof ra) != 0 || ioctlsocket(r, FIONBIO, &on) != 0) {
        e = -async__os_error();
        if (r != INVALID_SOCKET) closesocket(r);
        if (w != INVALID_SOCKET) closesocket(w);
        WSACleanup();
        return e;
    }
    loop->wakefd = async__os_own(r); /* not inherited */
    loop->wakefd_w = async__os_own(w);
    return ASYNC_OK;
}
#else
static inline void async__be_close(async_loop *loop) {
    if (loop->wakefd_w >= 0) ASYNC_SYSCALL(close)(loop->wakefd_w);
    if (loop->wakefd >= 0) ASYNC_SYSCALL(close)(loop->wakefd);
    loop->wakefd = loop->wakefd_w = -1;
}

/* The loop's own pipe: non-blocking and close-on-exec. */
static inline int async__own_fd(int fd) {
    int fl = ASYNC_SYSCALL(fcntl)(fd, F_GETFL);
    if (fl < 0 || ASYNC_SYSCALL(fcntl)(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    ASYNC_SYSCALL(fcntl)(fd, F_SETFD, FD_CLOEXEC);
    return ASYNC_OK;
}

static inline int async__be_open(async_loop *loop) {
    int p[2], e;
    if (ASYNC_SYSCALL(pipe)(p) < 0) return errno ? -errno : ASYNC_EINVAL;
    loop->wakefd = p[0];
    loop->wakefd_w = p[1];
    if (async__own_fd(p[0]) == ASYNC_OK && async__own_fd(p[1]) == ASYNC_OK) return ASYNC_OK;
    /* Nothing can have used the pipe yet: close it as it is (a drain
     * could block, it may not be non-blocking). */
    e = errno ? -errno : ASYNC_EINVAL;
    async__be_close(loop);
    return e;
}
#endif

static inline int async__be_watch(async_io *io) {
    async_loop *loop = io->loop;
    if (loop->nios >= ASYNC_POLL_MAX) return ASYNC_ENOSPC;
    io->prev = NULL;
    io->next = loop->ios;
    if (loop->ios) loop->ios->prev = io;
    loop->ios = io;
    loop->nios++;
    return ASYNC_OK;
}

static inline void async__be_unwatch(async_io *io) {
    async_loop *loop = io->loop;
    if (io->prev) io->prev->next = io->next; else loop->ios = io->next;
    if (io->next) io->next->prev = io->prev;
    loop->nios--;
}

static inline int async__be_wait(async_loop *loop, uint64_t deadline) {
    struct pollfd pfd[ASYNC_POLL_MAX + 1];
    async_io *io, *seen[ASYNC_POLL_MAX];
    int n = 0, i, timeout = -1;
    pfd[n].fd = ASYNC__OSFD(loop->wakefd);
    pfd[n++].events = POLLIN;
    for (io = loop->ios; io && n <= ASYNC_POLL_MAX; io = io->next) {
        short want = (short)((io->readers ? POLLIN : 0) | (io->writers ? POLLOUT : 0));
        if (!want) continue;
        seen[n - 1] = io;
        pfd[n].fd = ASYNC__OSFD(io->fd);
        pfd[n++].events = want;
    }
    if (!deadline) {
        timeout = 0;
    } else if (deadline != UINT64_MAX) {
        uint64_t now = async_now(loop);
        uint64_t ms = deadline > now ? (deadline - now + 999999u) / 1000000u : 0;
        timeout = ms > 86400000u ? 86400000 : (int)ms;
    }
    if (async__os_poll(pfd, (unsigned long)n, timeout) <= 0) return 0;
    for (i = 1; i < n; i++) {
        short e = pfd[i].revents;
        unsigned r = 0;
        if (!e) continue;
        if (e & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) r |= ASYNC_READ;
        if (e & (POLLOUT | POLLHUP | POLLERR | POLLNVAL)) r |= ASYNC_WRITE;
        async__io_ready(seen[i - 1], r);
    }
    return pfd[0].revents != 0;
}

static inline void async__be_wake(async_loop *loop) {
    char one = 1;
#ifdef ASYNC__WIN
    int tries = 0; /* a blocking send: only a shortage of buffers can fail */
    while (send(ASYNC__OSFD(loop->wakefd_w), &one, 1, 0) != 1 && ++tries < 1000) Sleep(1);
#else
    ssize_t r;
    do
        r = ASYNC_SYSCALL(write)(loop->wakefd_w, &one, 1);
    while (r < 0 && errno == EINTR);
#endif
}

/* Only calls from other threads make it readable: the host also polls the
 * loop's fds, or steps every few milliseconds (see async_backend_fd). */
static inline int async__be_fd(async_loop *loop) { return loop->wakefd; }

static inline void async__be_embed(async_loop *loop, uint64_t deadline) {
    (void)loop;
    (void)deadline;
}
#endif

/* ---- the loop's side of I/O (every backend) ------------------------------------ */

ASYNC_API int async_loop_prepare(async_loop *loop) {
    if (!loop) return ASYNC_EINVAL;
    if (loop->wakefd >= 0) return ASYNC_OK;
    return async__be_open(loop);
}

ASYNC_API void async_loop_close(async_loop *loop) {
    if (!loop) return;
#ifdef ASYNC_TRACE
    async_trace_stop(loop);
#endif
    if (loop->wakefd < 0) return;
    /* Jobs still on workers will write to the wake fd: wait for them, then
     * for any thread still inside call_soon_threadsafe, and run what they
     * sent, so that nothing is dropped and no thread writes to a closed (or
     * reused) fd. */
    while (loop->jobs) {
        struct pollfd p;
        p.fd = ASYNC__OSFD(loop->wakefd);
        p.events = POLLIN;
        p.revents = 0;
        if (ASYNC__LOAD_PTR(&loop->inbox) == NULL) async__os_poll(&p, 1, -1);
        async__drain_inbox(loop);
    }
    while (ASYNC__LOAD_INT(&loop->calling)) {
    }
    async__drain_inbox(loop);
    async__be_close(loop);
}

static inline void async__io_init(async_loop *loop) {
    loop->iofd = loop->timerfd = loop->wakefd = loop->wakefd_w = -1;
    loop->armed = 0;
    loop->nio = 0;
    loop->jobs = 0;
    loop->calling = 0;
    loop->keepalive = 0;
    loop->ios = NULL;
    loop->nios = 0;
    loop->inbox = NULL;
}

/* Is there something outside the ready queue and the heap that can still
 * wake a task? */
static inline int async__io_busy(const async_loop *loop) {
    return loop->nio > 0 || loop->keepalive > 0 || ASYNC__LOAD_PTR(&loop->inbox) != NULL;
}

ASYNC_API int async_call_soon_threadsafe(async_loop *loop, async_call *call,
                                         void (*fn)(async_loop *, void *),
                                         void *arg) {
    async_call *head;
    if (!loop || !call || !fn || loop->wakefd < 0) return ASYNC_EINVAL;
    call->fn = fn;
    call->arg = arg;
    /* `calling` covers the push and the write: async_loop_close waits for
     * it to drop to 0 before it closes the wake fd. */
    ASYNC__ADD_INT(&loop->calling, 1);
    head = (async_call *)ASYNC__LOAD_PTR(&loop->inbox);
    do
        call->next = head;
    while (!ASYNC__CAS_PTR(&loop->inbox, &head, call));
    /* Only the call that finds the inbox empty wakes the loop: the loop
     * clears the wake-up before it takes the inbox, so every call already
     * there when a wake-up is consumed goes with that take, and a later one
     * finds the inbox empty again and wakes it anew. */
    if (!head) async__be_wake(loop);
    ASYNC__ADD_INT(&loop->calling, -1);
    return ASYNC_OK;
}

ASYNC_API void async_loop_keepalive(async_loop *loop, int delta) {
    loop->keepalive += delta;
}

/* Run what other threads sent, oldest first.  Called only where no walk
 * over the loop's structures is live (after an event batch has been
 * handled, between passes), since the calls may close handles, spawn or
 * cancel. */
static inline void async__drain_inbox(async_loop *loop) {
    async_call *c, *fifo = NULL;
    char buf[64];
    /* Clear the wake-up first: a call pushed after the exchange below writes
     * again, so none is left behind without a wake-up. */
    while (async__os_read(loop->wakefd, buf, sizeof buf) > 0) {
    }
    c = (async_call *)ASYNC__XCHG_PTR(&loop->inbox, NULL);
    while (c) { /* the stack is newest first: reverse it */
        async_call *next = c->next;
        c->next = fifo;
        fifo = c;
        c = next;
    }
    while (fifo) {
        async_call *next = fifo->next;
        fifo->fn(loop, fifo->arg);
        fifo = next;
    }
}

/* Wait for I/O until `deadline` (0: just look; UINT64_MAX: no timer).
 * Returns -1 if the loop has no I/O resources (then the caller idles). */
static inline int async__io_poll(async_loop *loop, uint64_t deadline) {
    if (loop->wakefd < 0 && async_loop_prepare(loop) != ASYNC_OK) return -1;
    /* the inbox after the walk: a call may close a handle it reported */
    if (async__be_wait(loop, deadline)) async__drain_inbox(loop);
    return 0;
}

/* Idle until `deadline` with I/O; in precise mode, spin the last stretch. */
static inline int async__io_idle(async_loop *loop, uint64_t deadline) {
    if (async__io_poll(loop, deadline) < 0) return -1;
    if ((loop->flags & ASYNC_PRECISE) && deadline != UINT64_MAX && !loop->head)
        while (async_now(loop) < deadline && deadline - loop->now <= ASYNC_SPIN_NS) {
        }
    return 0;
}

/* ---- handles -------------------------------------------------------------------- */

static inline int async__io_unwatch(async_io *io) {
    async_loop *loop;
    if (!io || !io->open) return -EBADF;
    loop = io->loop;
    io->open = 0;
    async__be_unwatch(io);
    async__wake_all(loop, &io->readers, 0);
    async__wake_all(loop, &io->writers, 0);
    return ASYNC_OK;
}

#ifdef ASYNC__WIN
/* Windows: sockets only (WSAPoll watches nothing else).  Winsock cannot
 * tell whether a socket is blocking, so detach makes it blocking again,
 * the mode every new socket starts in. */
ASYNC_API int async_io_open(async_loop *loop, async_io *io, int fd) {
    int rc, type = 0, len = sizeof type;
    u_long on = 1;
    if (!loop || !io) return ASYNC_EINVAL;
    if (fd < 0) return -EBADF;
    if ((rc = async_loop_prepare(loop)) != ASYNC_OK) return rc;
    /* Look before touching: not a socket (or closed) is -EBADF. */
    if (getsockopt(ASYNC__OSFD(fd), SOL_SOCKET, SO_TYPE, (char *)&type, &len) != 0) return -EBADF;
    if (ioctlsocket(ASYNC__OSFD(fd), FIONBIO, &on) != 0) return -async__os_error();
    io->loop = loop;
    io->fd = fd;
    io->ready = 0;
    io->blocking = 1;
    io->socket = 1;
    io->readers = io->writers = NULL;
    if ((rc = async__be_watch(io)) != ASYNC_OK) {
        on = 0;
        ioctlsocket(ASYNC__OSFD(fd), FIONBIO, &on);
        return rc;
    }
    io->open = 1;
    return ASYNC_OK;
}

ASYNC_API int async_io_detach(async_io *io) {
    int rc = async__io_unwatch(io);
    u_long off = 0;
    if (rc == ASYNC_OK) ioctlsocket(ASYNC__OSFD(io->fd), FIONBIO, &off);
    return rc;
}

ASYNC_API int async_io_close(async_io *io) {
    int rc = async__io_unwatch(io);
    if (rc == ASYNC_OK && async__os_close(io->fd) != 0) rc = -async__os_error();
    if (io) io->fd = -1;
    return rc;
}

ASYNC_API intptr_t async_io_read(async_io *io, void *buf, size_t n) {
    intptr_t r;
    if (!io->open) return -EBADF;
    r = async__os_read(io->fd, buf, n);
    if (r >= 0) return r;
    r = async__os_error();
    if (r == EAGAIN) io->ready &= ~ASYNC_READ;
    return -r;
}

ASYNC_API intptr_t async_io_write(async_io *io, const void *buf, size_t n) {
    intptr_t r;
    if (!io->open) return -EBADF;
    r = send(ASYNC__OSFD(io->fd), (const char *)buf, n > 0x7fffffff ? 0x7fffffff : (int)n, 0);
    if (r >= 0) return r;
    r = async__os_error();
    if (r == EAGAIN) io->ready &= ~ASYNC_WRITE;
    return -r;
}
#else
ASYNC_API int async_io_open(async_loop *loop, async_io *io, int fd) {
    struct stat st;
    int rc, fl, type = 0;
    socklen_t len = sizeof type;
    if (!loop || !io) return ASYNC_EINVAL;
    if (fd < 0) return -EBADF;
    /* Look before touching: nothing about the fd changes on failure. */
    if (ASYNC_SYSCALL(fstat)(fd, &st) < 0) return -errno;
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode)) return -EPERM;
    if ((rc = async_loop_prepare(loop)) != ASYNC_OK) return rc;
    if ((fl = ASYNC_SYSCALL(fcntl)(fd, F_GETFL)) < 0) return -errno;
    if (!(fl & O_NONBLOCK) && ASYNC_SYSCALL(fcntl)(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    io->loop = loop;
    io->fd = fd;
    io->ready = 0;
    io->blocking = !(fl & O_NONBLOCK);
    io->socket = ASYNC_SYSCALL(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
    io->readers = io->writers = NULL;
    if ((rc = async__be_watch(io)) != ASYNC_OK) {
        if (io->blocking) ASYNC_SYSCALL(fcntl)(fd, F_SETFL, fl);
        return rc;
    }
    io->open = 1;
    return ASYNC_OK;
}

ASYNC_API int async_io_detach(async_io *io) {
    int rc = async__io_unwatch(io), fl;
    if (rc == ASYNC_OK && io->blocking && (fl = ASYNC_SYSCALL(fcntl)(io->fd, F_GETFL)) >= 0)
        ASYNC_SYSCALL(fcntl)(io->fd, F_SETFL, fl & ~O_NONBLOCK);
    return rc;
}

ASYNC_API int async_io_close(async_io *io) {
    int rc = async__io_unwatch(io);
    /* EINTR: the fd is gone all the same (Linux, and what POSIX 2024
     * requires): closing again could close someone else's new fd. */
    if (rc == ASYNC_OK && ASYNC_SYSCALL(close)(io->fd) < 0 && errno != EINTR) rc = -errno;
    if (io) io->fd = -1;
    return rc;
}

ASYNC_API intptr_t async_io_read(async_io *io, void *buf, size_t n) {
    ssize_t r;
    if (!io->open) return -EBADF;
    do
        r = ASYNC_SYSCALL(read)(io->fd, buf, n);
    while (r < 0 && errno == EINTR);
    if (r >= 0) return (intptr_t)r;
    if (errno == EAGAIN || errno == EWOULDBLOCK) io->ready &= ~ASYNC_READ;
    return -errno;
}

/* write() to a pipe or tty without SIGPIPE: hold the signal for the call
 * and consume the one it raised (a pending one from elsewhere is left). */
static inline ssize_t async__write_nosigpipe(int fd, const void *buf, size_t n) {
    ssize_t r;
#if defined(SIG_BLOCK) && defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 199506L
    sigset_t pipe_only, old, pending;
    int e;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &pipe_only, &old) != 0 || sigismember(&old, SIGPIPE)) {
        do /* already held (or the mask is out of reach): just write */
            r = ASYNC_SYSCALL(write)(fd, buf, n);
        while (r < 0 && errno == EINTR);
        return r;
    }
    sigemptyset(&pending);
    sigpending(&pending);
    do
        r = ASYNC_SYSCALL(write)(fd, buf, n);
    while (r < 0 && errno == EINTR);
    e = errno;
    if (r < 0 && e == EPIPE && !sigismember(&pending, SIGPIPE)) {
        int sig; /* the write raised it, so sigwait returns at once */
        sigemptyset(&pending);
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE)) sigwait(&pipe_only, &sig);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
#else
    /* Strict ISO build: no signal mask API.  A reader that has gone shows
     * as POLLERR; one that goes between the two calls still raises it. */
    struct pollfd p;
    p.fd = fd;
    p.events = POLLOUT;
    p.revents = 0;
    if (ASYNC_SYSCALL(poll)(&p, 1, 0) == 1 && (p.revents & POLLERR)) {
        errno = EPIPE;
        return -1;
    }
    do
        r = ASYNC_SYSCALL(write)(fd, buf, n);
    while (r < 0 && errno == EINTR);
#endif
    return r;
}

ASYNC_API intptr_t async_io_write(async_io *io, const void *buf, size_t n) {
    ssize_t r;
    if (!io->open) return -EBADF;
#ifdef ASYNC__LINUX
    if (io->socket) {
        do
            r = ASYNC_SYSCALL(send)(io->fd, buf, n, MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
    } else
#endif
        r = async__write_nosigpipe(io->fd, buf, n);
    if (r >= 0) return (intptr_t)r;
    if (errno == EAGAIN || errno == EWOULDBLOCK) io->ready &= ~ASYNC_WRITE;
    return -errno;
}
#endif

/* Is io ready for `events` now?  The loop's flag says it was ready when the
 * loop last looked; a read or write the loop did not see (the user's own
 * recv, a library's) may have used that up, so a set flag is confirmed
 * with a poll() of this fd, and cleared if it was stale. */
static inline int async__io_ready_now(async_io *io, unsigned events) {
    struct pollfd p;
    int n;
    if (!(io->ready & events)) return 0;
    p.fd = ASYNC__OSFD(io->fd);
    p.events = (short)(((events & ASYNC_READ) ? POLLIN : 0) | ((events & ASYNC_WRITE) ? POLLOUT : 0));
    p.revents = 0;
    do
        n = async__os_poll(&p, 1, 0);
    while (n < 0 && async__os_error() == EINTR);
    if (n != 0) return 1; /* ready, hung up, or poll failed: let the caller see */
    io->ready &= ~events;
    return 0;
}

/* Not ready: wait for the loop's event.  Out of line: this path ends in a
 * system call anyway, and it keeps the ready path small enough to inline. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int async__io_park(async_task *t, async_io *io, unsigned events) {
    t->loop->nio++;
    if (events & ASYNC_READ) /* noted for async_task_describe */
        t->node.flags &= (uint8_t)~ASYNC__T_IO_WRITE;
    else
        t->node.flags |= ASYNC__T_IO_WRITE;
    return async__park(t, (events & ASYNC_READ) ? &io->readers : &io->writers);
}

ASYNC_API int async__io_wait_start(async_task *t, async_frame *f, async_io *io,
                                   unsigned events) {
    int r = async__intr_status(t, f);
    if (r != ASYNC_OK) return r;
    if (!io->open) return -EBADF;
    if (async__io_ready_now(io, events)) return ASYNC_OK;
    return async__io_park(t, io, events);
}

ASYNC_API int async__io_wait_resume(async_task *t, async_frame *f, async_io *io,
                                    unsigned events) {
    t->loop->nio--;
    return async__io_wait_start(t, f, io, events);
}

/* The wait noted its direction: the list is the fd's readers or writers. */
static inline void async__describe_io(async__fmt *o, const async_task *t) {
    async__node *const *owner = t->node.link.l.owner;
    int w = (t->node.flags & ASYNC__T_IO_WRITE) != 0;
    const async_io *io = w ? ASYNC__OWNER(owner, async_io, writers)
                           : ASYNC__OWNER(owner, async_io, readers);
    async__put_s(o, " on fd ");
    async__put_u(o, (uint64_t)(unsigned)io->fd);
    async__put_s(o, w ? " writable" : " readable");
}

/* ---- waiting on many fds ----------------------------------------------------------- */

static inline void async__sel_notify(async_waiter *w, async_loop *loop) {
    async_io_select *sel = (async_io_select *)w->ctx;
    if (sel->index < 0) sel->index = (long)(w - sel->w);
    async__wake_all(loop, &sel->waiter, 1);
}

static inline int async__sel_park(async_task *t, async_io_select *sel) {
    size_t i;
    for (i = 0; i < sel->n; i++) {
        if (!sel->ios[i]->open) {
            sel->index = (long)i;
            return -EBADF;
        }
        if (async__io_ready_now(sel->ios[i], sel->events)) {
            sel->index = (long)i;
            return ASYNC_OK;
        }
    }
    for (i = 0; i < sel->n; i++) {
        async_waiter *w = &sel->w[i];
        w->node.magic = ASYNC__K_WAITER;
        w->notify = async__sel_notify;
        w->ctx = sel;
        w->task = t;
        async__list_push((sel->events & ASYNC_READ) ? &sel->ios[i]->readers : &sel->ios[i]->writers,
                         &w->node);
    }
    t->loop->nio++;
    return async__park(t, &sel->waiter);
}

ASYNC_API int async__sel_start(async_task *t, async_frame *f, async_io_select *sel,
                               async_waiter *waiters, async_io *const *ios, size_t n,
                               unsigned events) {
    int r = async__intr_status(t, f);
    if (r != ASYNC_OK) return r;
    sel->ios = ios;
    sel->w = waiters;
    sel->n = n;
    sel->events = events;
    sel->index = -1;
    sel->waiter = NULL;
    return async__sel_park(t, sel);
}

ASYNC_API int async__sel_resume(async_task *t, async_frame *f, async_io_select *sel) {
    size_t i;
    int r;
    t->loop->nio--;
    for (i = 0; i < sel->n; i++) /* stop watching the others */
        if (sel->w[i].node.where == ASYNC__W_WAITING) async__list_remove(&sel->w[i].node);
    r = async__intr_status(t, f);
    if (r != ASYNC_OK) return r;
    if (sel->index >= 0) return sel->ios[sel->index]->open ? ASYNC_OK : -EBADF;
    return async__sel_park(t, sel); /* woken early while shielded: wait on */
}

static inline void async__describe_select(async__fmt *o, const async_task *t) {
    async__node *const *owner = t->node.link.l.owner;
    async__put_s(o, " on ");
    async__put_u(o, ASYNC__OWNER(owner, async_io_select, waiter)->n);
    async__put_s(o, " fds");
}

/* ---- sockets ------------------------------------------------------------------------ */

ASYNC_API void async__sock_setup(async_sock_op *op, async_io *io, void *buf, size_t len,
                                 const struct sockaddr *addr, unsigned addrlen,
                                 int64_t timeout_ns, async_io *out) {
    op->io = io;
    op->buf = (unsigned char *)buf;
    op->len = len;
    op->done = 0;
    op->addr = addr;
    op->addrlen = addrlen;
    op->timeout_ns = timeout_ns;
    op->out = out;
}

ASYNC_API int async_tcp_socket(async_loop *loop, async_io *io, int family) {
    int fd, rc;
    /* Windows: Winsock must be started (by the loop) before socket(). */
    if ((rc = async_loop_prepare(loop)) != ASYNC_OK) return rc;
    fd = async__os_own(ASYNC_SYSCALL(socket)(family, SOCK_STREAM, 0));
    if (fd < 0) return -async__os_error();
    rc = async_io_open(loop, io, fd);
    if (rc != ASYNC_OK) async__os_close(fd);
    return rc;
}

ASYNC_API int async_tcp_listen(async_loop *loop, async_io *io,
                               const struct sockaddr *addr, unsigned addrlen,
                               int backlog) {
    int fd, rc;
    if ((rc = async_loop_prepare(loop)) != ASYNC_OK) return rc;
    fd = async__os_own(ASYNC_SYSCALL(socket)(addr->sa_family, SOCK_STREAM, 0));
    if (fd < 0) return -async__os_error();
#ifndef ASYNC__WIN /* on Windows SO_REUSEADDR would let others take the port */
    {
        int one = 1;
        ASYNC_SYSCALL(setsockopt)(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
#endif
    if (ASYNC_SYSCALL(bind)(ASYNC__OSFD(fd), addr, (async__socklen)addrlen) < 0 ||
        ASYNC_SYSCALL(listen)(ASYNC__OSFD(fd), backlog) < 0) {
        rc = -async__os_error();
        async__os_close(fd);
        return rc;
    }
    rc = async_io_open(loop, io, fd);
    if (rc != ASYNC_OK) async__os_close(fd);
    return rc;
}

/* Each helper call takes a unit of the task's budget: a loop of receives
 * that always find data must still let the others run. */
#define ASYNC__HELPER_COOPERATE()                                             \
    do {                                                                      \
        ASYNC_COOPERATE();                                                    \
        if (ASYNC_STATUS() != ASYNC_OK) ASYNC_RETURN(ASYNC_STATUS());         \
    } while (0)

ASYNC_API int async_sock_connect_fn(async_task *task, void *state) {
    async_sock_op *op = (async_sock_op *)state;
    int rc;
    ASYNC_BEGIN(task, op);
    ASYNC__HELPER_COOPERATE();
    rc = async__os_connect(op->io->fd, op->addr, op->addrlen);
    if (rc == 0) ASYNC_RETURN(0);
    if (rc != -EINPROGRESS && rc != -EINTR) ASYNC_RETURN(rc);
    /* Readiness the loop saw before connect (an unconnected socket reports
     * writable and hung up) says nothing about the connection. */
    op->io->ready = 0;
    if (op->timeout_ns > 0) ASYNC_TIMEOUT_ARM_NS(&op->tmo, op->timeout_ns);
    ASYNC_IO_WAIT(op->io, ASYNC_WRITE);
    if (ASYNC_STATUS() != ASYNC_OK) ASYNC_RETURN(ASYNC_STATUS());
    ASYNC_RETURN(async__os_connect_result(op->io->fd));
    ASYNC_END;
}

/* The process (or the system) is out of fds or memory: accepting again at
 * once would fail the same way, so the helper pauses instead. */
static inline int async__accept_starved(int err) {
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM ||
           err == ENOSPC; /* ENOSPC: epoll's limit of watched fds */
}

/* Errors of one pending connection that accept reports (Linux passes the
 * new socket's network errors on): skip it and take the next. */
static inline int async__accept_skip(int err) {
    switch (err) {
    case EINTR: case ECONNABORTED: case EPROTO: case ENOPROTOOPT: case ENETDOWN:
    case ENETUNREACH: case EHOSTUNREACH: case EOPNOTSUPP:
#ifdef EHOSTDOWN
    case EHOSTDOWN:
#endif
#ifdef ENONET
    case ENONET:
#endif
        return 1;
    default:
        return 0;
    }
}

ASYNC_API int async_sock_accept_fn(async_task *task, void *state) {
    async_sock_op *op = (async_sock_op *)state;
    int fd, err, rc = ASYNC_OK;
    ASYNC_BEGIN(task, op);
    ASYNC__HELPER_COOPERATE();
    for (;;) {
        fd = async__os_own(ASYNC_SYSCALL(accept)(ASYNC__OSFD(op->io->fd), NULL, NULL));
        if (fd >= 0) {
            rc = async_io_open(op->io->loop, op->out, fd);
            if (rc == ASYNC_OK) ASYNC_RETURN(ASYNC_OK);
            async__os_close(fd);
            if (!async__accept_starved(-rc)) ASYNC_RETURN(rc);
        } else if ((err = async__os_error()) == EAGAIN || err == EWOULDBLOCK) {
            op->io->ready &= ~ASYNC_READ;
        } else if (async__accept_starved(err)) {
            rc = -err;
        } else if (!async__accept_skip(err)) {
            ASYNC_RETURN(-err);
        }
        if (rc != ASYNC_OK) {
            /* Out of fds or memory: pause 10, 20, 40 ... 1000 ms while the
             * others are served.  If accept itself failed, the connection
             * waits in the listen backlog; if watching it failed, it was
             * closed (its client sees a reset) and the next one waits. */
            op->done++;
            op->len = op->len ? (op->len * 2 > 1000 ? 1000 : op->len * 2)
                              : (ASYNC_ACCEPT_BACKOFF_MS > 0 ? ASYNC_ACCEPT_BACKOFF_MS : 1);
            rc = ASYNC_OK;
            ASYNC_SLEEP_MS(op->len);
        } else {
            ASYNC_IO_WAIT(op->io, ASYNC_READ);
        }
        if (ASYNC_STATUS() != ASYNC_OK) ASYNC_RETURN(ASYNC_STATUS());
    }
    ASYNC_END;
}

ASYNC_API int async_sock_recv_fn(async_task *task, void *state) {
    async_sock_op *op = (async_sock_op *)state;
    intptr_t n;
    ASYNC_BEGIN(task, op);
    ASYNC__HELPER_COOPERATE();
    for (;;) {
        n = async_io_read(op->io, op->buf, op->len);
        if (n != -EAGAIN) ASYNC_RETURN(n);
        ASYNC_IO_WAIT(op->io, ASYNC_READ);
        if (ASYNC_STATUS() != ASYNC_OK) ASYNC_RETURN(ASYNC_STATUS());
    }
    ASYNC_END;
}

ASYNC_API int async_sock_recv_exactly_fn(async_task *task, void *state) {
    async_sock_op *op = (async_sock_op *)state;
    intptr_t n;
    ASYNC_BEGIN(task, op);
    ASYNC__HELPER_COOPERATE();
    while (op->done < op->len) {
        n = async_io_read(op->io, op->buf + op->done, op->len - op->done);
        if (n == 0) break; /* end of stream */
        if (n > 0) {
            op->done += (size_t)n;
            continue;
        }
        if (n != -EAGAIN) ASYNC_RETURN(n);
        ASYNC_IO_WAIT(op->io, ASYNC_READ);
        if (ASYNC_STATUS() != ASYNC_OK) ASYNC_RETURN(ASYNC_STATUS());
    }
    ASYNC_RETURN(op->done);
    ASYNC_END;
}

ASYNC_API int async_sock_sendall_fn(async_task *task, void *state) {
    async_sock_op *op = (async_sock_op *)state;
    intptr_t n;
    ASYNC_BEGIN(task, op);
    ASYNC__HELPER_COOPERATE();
    while (op->done < op->len) {
        n = async_io_write(op->io, op->buf + op->done, op->len - op->done);
        if (n >= 0) {
            op->done += (size_t)n;
            continue;
        }
        if (n != -EAGAIN) ASYNC_RETURN(n);
        ASYNC_IO_WAIT(op->io, ASYNC_WRITE);
        if (ASYNC_STATUS() != ASYNC_OK) ASYNC_RETURN(ASYNC_STATUS());
    }
    ASYNC_RETURN(op->done);
    ASYNC_END;
}

/* ---- worker threads --------------------------------------------------------------- */

/* On the loop's thread: the job is back. */
static inline void async__job_done(async_loop *loop, void *arg) {
    async_job *job = (async_job *)arg;
    job->done = 1;
    loop->nio--;
    loop->jobs--;
    async__wake_all(loop, &job->waiter, 1);
}

/* The pool's lock, condition and threads: Win32's, or POSIX threads. */
static inline void async__worker(async_pool *pool);
#ifdef ASYNC__WIN
static inline int async__os_pool_init(async_pool *pool) {
    InitializeSRWLock(&pool->mu);
    InitializeConditionVariable(&pool->cv);
    return 0;
}
static inline void async__os_pool_destroy(async_pool *pool) { (void)pool; }
static inline void async__os_lock(async__mutex *m) { AcquireSRWLockExclusive(m); }
static inline void async__os_unlock(async__mutex *m) { ReleaseSRWLockExclusive(m); }
static inline void async__os_wait(async__cond *c, async__mutex *m) {
    SleepConditionVariableSRW(c, m, INFINITE, 0);
}
static inline void async__os_wake_one(async__cond *c) { WakeConditionVariable(c); }
static inline void async__os_wake_all(async__cond *c) { WakeAllConditionVariable(c); }
static DWORD WINAPI async__worker_main(LPVOID pool) {
    async__worker((async_pool *)pool);
    return 0;
}
static inline int async__os_thread_start(async__thread *t, async_pool *pool) {
    *t = CreateThread(NULL, 0, async__worker_main, pool, 0, NULL);
    return *t ? 0 : EAGAIN;
}
static inline void async__os_thread_join(async__thread t) {
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
#else
static inline int async__os_pool_init(async_pool *pool) {
    if (pthread_mutex_init(&pool->mu, NULL)) return -1;
    if (pthread_cond_init(&pool->cv, NULL)) {
        pthread_mutex_destroy(&pool->mu);
        return -1;
    }
    return 0;
}
static inline void async__os_pool_destroy(async_pool *pool) {
    pthread_cond_destroy(&pool->cv);
    pthread_mutex_destroy(&pool->mu);
}
static inline void async__os_lock(async__mutex *m) { pthread_mutex_lock(m); }
static inline void async__os_unlock(async__mutex *m) { pthread_mutex_unlock(m); }
static inline void async__os_wait(async__cond *c, async__mutex *m) { pthread_cond_wait(c, m); }
static inline void async__os_wake_one(async__cond *c) { pthread_cond_signal(c); }
static inline void async__os_wake_all(async__cond *c) { pthread_cond_broadcast(c); }
static inline void *async__worker_main(void *pool) {
    async__worker((async_pool *)pool);
    return NULL;
}
static inline int async__os_thread_start(async__thread *t, async_pool *pool) {
    return ASYNC_SYSCALL(pthread_create)(t, NULL, async__worker_main, pool);
}
static inline void async__os_thread_join(async__thread t) { pthread_join(t, NULL); }
#endif

static inline void async__worker(async_pool *pool) {
    for (;;) {
        async_job *job;
        async__os_lock(&pool->mu);
        while (!pool->head && !pool->stop) async__os_wait(&pool->cv, &pool->mu);
        job = pool->head;
        if (!job) {
            async__os_unlock(&pool->mu);
            return;
        }
        pool->head = job->next;
        if (!pool->head) pool->tail = NULL;
        async__os_unlock(&pool->mu);
        job->result = job->fn(job->arg);
        async_call_soon_threadsafe(job->loop, &job->done_call, async__job_done, job);
    }
}

ASYNC_API int async_pool_start(async_pool *pool, int nthreads) {
    int i;
    if (!pool || nthreads < 1 || nthreads > ASYNC_POOL_MAX) return ASYNC_EINVAL;
    pool->head = pool->tail = NULL;
    pool->stop = 0;
    pool->nthreads = 0;
    if (async__os_pool_init(pool)) return ASYNC_EINVAL;
    for (i = 0; i < nthreads; i++) {
        int rc = async__os_thread_start(&pool->threads[i], pool);
        if (rc) {
            async_pool_stop(pool);
            return -rc;
        }
        pool->nthreads++;
    }
    return ASYNC_OK;
}

ASYNC_API void async_pool_stop(async_pool *pool) {
    int i;
    async__os_lock(&pool->mu);
    pool->stop = 1;
    async__os_wake_all(&pool->cv);
    async__os_unlock(&pool->mu);
    for (i = 0; i < pool->nthreads; i++) async__os_thread_join(pool->threads[i]);
    pool->nthreads = 0;
    async__os_pool_destroy(pool);
}

ASYNC_API int async__job_start(async_task *t, async_frame *f, async_pool *pool,
                               async_job *job, intptr_t (*fn)(void *), void *arg) {
    int r = async__intr_status(t, f);
    if (r != ASYNC_OK) return r;
    r = async_loop_prepare(t->loop);
    if (r != ASYNC_OK) return r;
    job->fn = fn;
    job->arg = arg;
    job->result = 0;
    job->loop = t->loop;
    job->next = NULL;
    job->waiter = NULL;
    job->done = 0;
    t->loop->nio++;
    t->loop->jobs++;
    async__os_lock(&pool->mu);
    if (pool->tail)
        pool->tail->next = job;
    else
        pool->head = job;
    pool->tail = job;
    async__os_wake_one(&pool->cv);
    async__os_unlock(&pool->mu);
    return async__park(t, &job->waiter);
}

ASYNC_API int async__job_resume(async_task *t, async_frame *f, async_job *job) {
    if (!job->done) return async__park(t, &job->waiter); /* not interruptible */
    return async__intr_status(t, f);
}

static inline void async__describe_thread(async__fmt *o, const async_task *t) {
    (void)t;
    async__put_s(o, " on a worker thread");
}

/* ---- embedding ------------------------------------------------------------------ */

ASYNC_API int async_backend_fd(async_loop *loop) {
    if (async_loop_prepare(loop) != ASYNC_OK) return -1;
    return async__be_fd(loop);
}

#else /* no I/O */
ASYNC_API int async_loop_prepare(async_loop *loop) { return loop ? ASYNC_OK : ASYNC_EINVAL; }
ASYNC_API void async_loop_close(async_loop *loop) {
#ifdef ASYNC_TRACE
    async_trace_stop(loop);
#else
    (void)loop;
#endif
}
#endif /* ASYNC__IO */

/* ==========================================================================
 * Introspection and tracing
 * ========================================================================== */


/* What a waiting task waits on: each primitive describes its own waits
 * (async__describe_*, next to its code), told apart by the kind of wait
 * the task's suspension site recorded. */
static inline void async__put_waiting_on(async__fmt *o, const async_task *t) {
#ifndef ASYNC_NO_INTROSPECTION
    int kind = t->site ? t->site->kind : 0;
    switch (kind) {
    case ASYNC__S_TASK: async__describe_task(o, t); break;
    case ASYNC__S_PUT:
    case ASYNC__S_GET:
    case ASYNC__S_JOIN: async__describe_queue(o, t, kind); break;
    case ASYNC__S_EVENT: async__describe_event(o, t); break;
    case ASYNC__S_SEM: async__describe_sem(o, t); break;
    case ASYNC__S_GROUP: async__describe_group(o, t); break;
    case ASYNC__S_LGET: async__describe_lqueue(o, t); break;
    case ASYNC__S_FUTURE: async__describe_future(o, t); break;
    case ASYNC__S_COND: async__describe_cond(o, t); break;
    case ASYNC__S_BARRIER: async__describe_barrier(o, t); break;
    case ASYNC__S_WAIT: async__describe_wait(o, t); break;
    case ASYNC__S_COMPLETED: async__describe_completed(o, t); break;
#ifdef ASYNC__IO
    case ASYNC__S_IO: async__describe_io(o, t); break;
    case ASYNC__S_SELECT: async__describe_select(o, t); break;
    case ASYNC__S_THREAD: async__describe_thread(o, t); break;
#endif
    default: break; /* sleeping, yielding: the state says it */
    }
#else
    (void)o;
    (void)t;
#endif
}

ASYNC_API size_t async_task_describe(const async_task *t, char *buf, size_t size) {
    async__fmt o;
    async__fmt_init(&o, buf, size);
    if (!t) {
        async__put_s(&o, "(no task)");
    } else if (!ASYNC__SPAWNED(t)) {
        async__put_s(&o, "task ");
        async__put_p(&o, t);
        async__put_s(&o, " (this storage does not hold a spawned task)");
    } else {
        async_loop *loop = t->loop;
        const async_site *site = NULL;
        async__put_task_name(&o, t);
        if (t->node.magic == ASYNC__DEAD) {
            async__put_s(&o, (t->node.flags & ASYNC__T_CANCEL) ? " cancelled" : " done");
        } else {
            int where = t->node.where;
#ifndef ASYNC_NO_INTROSPECTION
            site = t->site;
#endif
            if (loop->current == t)
                async__put_s(&o, " running");
            else if (where == ASYNC__W_READY && !loop->head) {
                /* marked ready, yet the ready queue is empty: its body
                 * returned 0 itself, outside any wait */
                async__put_s(&o, " stopped outside any wait: a plain `return` in "
                                 "its body? (end it with ASYNC_RETURN)");
                site = NULL; /* where it last waited says nothing */
            } else if (where == ASYNC__W_READY)
                async__put_s(&o, site ? " ready" : " ready, not started");
            else if (where == ASYNC__W_SLEEPING)
                async__put_s(&o, " sleeping");
            else if (where == ASYNC__W_WAITING)
                async__put_s(&o, " waiting");
            else
                async__put_s(&o, " suspended");
            if (site && loop->current != t) {
                async__put_s(&o, " in ");
                async__put_s(&o, site->func);
                async__put_s(&o, " at ");
                async__put_s(&o, site->file);
                async__put_c(&o, ':');
                async__put_u(&o, (uint64_t)site->line);
                async__put_s(&o, ": ");
                async__put_s(&o, site->what);
            }
            if (where == ASYNC__W_SLEEPING) {
                uint64_t now = loop->now;
                uint64_t left = t->node.deadline > now ? t->node.deadline - now : 0;
                async__put_s(&o, ", ");
                /* saturated, or over 146 years away, whatever the clock reads */
                if (t->node.deadline == UINT64_MAX || left >= (uint64_t)INT64_MAX / 2)
                    async__put_s(&o, "forever");
                else {
                    async__put_ns(&o, left);
                    async__put_s(&o, " left");
                }
            } else if (where == ASYNC__W_WAITING) {
                async__put_waiting_on(&o, t);
            }
            if (t->scopes) {
                const async_timeout *s = t->scopes;
                async__put_s(&o, "; timeout ");
                if (s->node.where == ASYNC__W_FIRED) {
                    async__put_s(&o, "expired");
                } else {
                    async__put_s(&o, "in ");
                    async__put_ns(&o, s->node.deadline > loop->now ? s->node.deadline - loop->now : 0);
                }
            }
            if (t->node.flags & ASYNC__T_CANCEL) async__put_s(&o, "; being cancelled");
        }
    }
    return async__fmt_end(&o);
}

ASYNC_API void async_dump_with(const async_loop *loop, async_write_fn write,
                               void *ctx) {
    char line[512];
    async__fmt o;
    async__fmt_init(&o, line, sizeof line);
    async__put_s(&o, "loop ");
    async__put_p(&o, loop);
    async__put_s(&o, ": ");
    async__put_u(&o, loop->ntasks);
    async__put_s(&o, " pending tasks, ");
    async__put_u(&o, loop->timers.n);
    async__put_s(&o, " timers, time ");
    async__put_ns(&o, loop->now);
    if (loop->flags & ASYNC_VIRTUAL) async__put_s(&o, " (virtual)");
    async__fmt_end(&o);
    write(ctx, line);
    if (loop->tasks) {
        const async_task *t = loop->tasks;
        do {
            line[0] = ' ';
            line[1] = ' ';
            async_task_describe(t, line + 2, sizeof line - 2);
            write(ctx, line);
            t = t->next;
        } while (t != loop->tasks);
    }
}

#ifndef ASYNC_NO_OS
static inline void async__dump_line(void *ctx, const char *line) {
    fputs(line, (FILE *)ctx);
    fputc('\n', (FILE *)ctx);
}
ASYNC_API void async_dump(const async_loop *loop, FILE *out) {
    async_dump_with(loop, async__dump_line, out);
    fflush(out);
}
#endif

#ifdef ASYNC_TRACE
static inline void async__trace_str(FILE *f, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
}

/* Starts an event: separator, phase, task row and timestamp in us. */
static inline FILE *async__trace_event(async_loop *loop, const async_task *t,
                                       const char *ph, uint64_t at) {
    FILE *f = loop->trace;
    uint64_t rel = at > loop->trace_t0 ? at - loop->trace_t0 : 0;
    fputs(loop->trace_events++ ? ",\n" : "\n", f);
    fprintf(f, "{\"ph\":\"%s\",\"pid\":1,\"tid\":%lu,\"ts\":%llu.%03u", ph,
            (unsigned long)((uintptr_t)t % 2147483647u), (unsigned long long)(rel / 1000u),
            (unsigned)(rel % 1000u));
    return f;
}

/* One row per task: Perfetto names the row after the task. */
static inline void async__trace_name(async_loop *loop, const async_task *t) {
    char name[96];
    async__fmt o;
    FILE *f = async__trace_event(loop, t, "M", loop->trace_t0);
    async__fmt_init(&o, name, sizeof name);
    if (async_task_name(t))
        async__put_s(&o, async_task_name(t));
    else
        async__put_task_name(&o, t);
    async__fmt_end(&o);
    fputs(",\"name\":\"thread_name\",\"args\":{\"name\":\"", f);
    async__trace_str(f, name);
    fputs("\"}}", f);
}

/* The task suspended: open a slice named after where, until it resumes. */
static inline void async__trace_wait(async_loop *loop, const async_task *t,
                                     uint64_t at) {
    FILE *f = async__trace_event(loop, t, "B", at);
    fputs(",\"cat\":\"wait\",\"name\":\"", f);
#ifndef ASYNC_NO_INTROSPECTION
    if (t->site) {
        async__trace_str(f, t->site->what);
        fprintf(f, "\",\"args\":{\"at\":\"");
        async__trace_str(f, t->site->file);
        fprintf(f, ":%d\",\"in\":\"", t->site->line);
        async__trace_str(f, t->site->func);
        fputs("\"}}", f);
        return;
    }
#endif
    fputs("suspended\"}", f);
}

static inline uint64_t async__trace_resume(async_loop *loop, async_task *t,
                                           int fresh) {
    uint64_t now = async_now(loop);
    if (fresh)
        async__trace_name(loop, t);
    else
        fputs("}", async__trace_event(loop, t, "E", now));
    return now;
}

static inline void async__trace_slice(async_loop *loop, async_task *t,
                                      uint64_t start, int r) {
    uint64_t end = async_now(loop), d = end - start;
    FILE *f = async__trace_event(loop, t, "X", start);
    fprintf(f, ",\"dur\":%llu.%03u,\"cat\":\"run\",\"name\":\"%s\"}",
            (unsigned long long)(d / 1000u), (unsigned)(d % 1000u), r == 1 ? "run, finished" : "run");
    if (r != 1) async__trace_wait(loop, t, end);
}

ASYNC_API int async_trace_start(async_loop *loop, const char *path) {
    FILE *f;
    if (!loop || !path) return ASYNC_EINVAL;
    async_trace_stop(loop);
    f = fopen(path, "w");
    if (!f) return -errno;
    loop->trace = f;
    loop->trace_t0 = async_now(loop);
    loop->trace_events = 0;
    fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", f);
    fputs("\n{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":\"async.h loop\"}}", f);
    loop->trace_events = 1;
#ifndef ASYNC_NO_INTROSPECTION
    if (loop->tasks) { /* tasks already under way: name them, open their waits */
        const async_task *t = loop->tasks;
        do {
            async__trace_name(loop, t);
            if (t->site && t != loop->current) async__trace_wait(loop, t, loop->trace_t0);
            t = t->next;
        } while (t != loop->tasks);
    }
#endif
    return ASYNC_OK;
}

ASYNC_API void async_trace_stop(async_loop *loop) {
    if (!loop || !loop->trace) return;
#ifndef ASYNC_NO_INTROSPECTION
    if (loop->tasks) { /* close the waits still open */
        const async_task *t = loop->tasks;
        uint64_t now = async_now(loop);
        do {
            if (t->site && t != loop->current) fputs("}", async__trace_event(loop, t, "E", now));
            t = t->next;
        } while (t != loop->tasks);
    }
#endif
    fputs("\n]}\n", loop->trace);
    fclose(loop->trace);
    loop->trace = NULL;
}
#endif /* ASYNC_TRACE */

#endif /* ASYNC__DEFS */

#ifdef __cplusplus
}
#endif

#endif /* ASYNC_H */

/* REVISION HISTORY
 *   next   Platforms: Windows (sockets through WSAPoll, Win32 threads for
 *          the pool, a QueryPerformanceCounter clock; the same -errno
 *          codes as elsewhere); ASYNC_POSIX_ONLY, the POSIX.1-2008 path
 *          other Unixes take, testable on Linux.  Timers: a hierarchical
 *          timing wheel in front of the heap, exact to the nanosecond
 *          (O(1) start and cancel; ASYNC_TIMER_HEAP keeps the heap alone).
 *          Only a thread-safe call that finds the inbox empty wakes the
 *          loop; on Windows the wake-up is sent blocking (a failed
 *          non-blocking one left the loop asleep with calls waiting).
 *          Builds at POSIX levels below 2001 (`-std=c99 -pthread`).
 *          Resumes and coroutine ends keep their rare paths out of line.
 *          A plain `return` of a value in a body is an assertion (a task
 *          ran again for ever; a child counted as done); the dump names a
 *          task stopped by a plain `return 0`.
 *   0.6.0  Linkage modes: ASYNC_EXTERN / ASYNC_IMPLEMENTATION split the
 *          header for programs of many files (ASYNC_API), and files built
 *          with different settings fail to link, naming them.  Rooms: one
 *          backend interface (epoll and poll each in its own block), the
 *          timers behind an API of their own (tested without a loop), each
 *          primitive describes its own waits, a table of contents.
 *          ASYNC_POOL_MAX and ASYNC_EPOLL_EVENTS can be set.  A CMake
 *          package (find_package(async_h)).
 *   0.5.0  Overload and faults: accept pauses when out of fds, the
 *          cooperative budget (ASYNC_BUDGET, ASYNC_COOPERATE), the
 *          ASYNC_SYSCALL seam; async_main returns when main does (leftovers
 *          cancelled, cleanups run), cleans up after a deadlock, and handles
 *          SIGINT/SIGTERM; the rest of asyncio: call_soon/later/at,
 *          futures, Condition, Barrier, ASYNC_WAIT_TASKS, LIFO, priority
 *          and unbounded queues, gather's error policies and coroutines,
 *          ASYNC_FOR_EACH; async_step and async_next_deadline everywhere.
 *   0.4.0  Fourteen broken promises kept: a generator's timeouts cover only
 *          the generator (paused across its yields), and a yield from its
 *          finally leaves no shield; a finished task keeps no timeout;
 *          a wake-up from a task's end carries that run's outcome, even if
 *          the storage is spawned again; ASYNC_GROUP_WAIT and ASYNC_GATHER
 *          return only once every member has finished its cleanup; shields
 *          nest to ASYNC_SHIELD_MAX (255), checked before the count wraps;
 *          the ready queue counts its tasks, so storage cleared and spawned
 *          again is caught wherever it was queued; destroying a queue or
 *          semaphore with an item, slot or permit handed to a woken task is
 *          caught, and *_init never reads the object.  I/O: ASYNC_IO_WAIT is
 *          level-triggered (right after the program's own reads); connect
 *          reports only a real connection; no SIGPIPE from pipes;
 *          async_io_open leaves close-on-exec alone, detach restores the
 *          blocking mode, and regular files are refused before anything
 *          changes (poll backend too); calls from other threads run every
 *          pass, never inside an event walk, and async_loop_close waits for
 *          jobs in flight.  A suspension inside the user's own switch
 *          (switch backend) is reported instead of ending the coroutine.
 *   0.3.0  Task names, async_task_describe and async_dump with the source
 *          line of every suspension; ASYNC_TRACE (Chrome trace-event JSON);
 *          misuse reports name the task, and destroying a queue, event or
 *          semaphore that tasks wait on is caught.  Fixes: cancelling a task
 *          no longer pulls a wait inside ASYNC_FINALLY or a shielded await
 *          out of line; the labels backend builds with Clang for coroutines
 *          without a suspension point, and with TCC; strict ISO builds on
 *          i386 Linux find the clocks; seconds round to the nearest ns.
 *   0.2.0  Coroutines (switch and labels backends), the loop, timers,
 *          tasks, gather, queues, events, semaphores, locks, generators,
 *          timeouts, cancellation, task groups, epoll/poll I/O, sockets,
 *          worker threads. */

/* LICENSE: MIT. Copyright (c) 2026 the async.h authors.  Permission is hereby
 * granted, free of charge, to any person obtaining a copy of this software,
 * to deal in it without restriction, including the rights to use, copy,
 * modify, merge, publish, distribute, sublicense and sell copies, provided
 * this notice is included in all copies.  THE SOFTWARE IS PROVIDED "AS IS",
 * WITHOUT WARRANTY OF ANY KIND. */
