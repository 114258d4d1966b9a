/* The portable test runner (see unit.h): link it with the test files when
 * Criterion is not there.  Like Criterion, it runs every test in a fresh
 * process, its own executable started again with `--unit-run SUITE/NAME`: the
 * tests rely on fresh static state, and death tests must die.  The runner
 * waits for each one, kills it when its .timeout passes, and reads how it
 * ended: returned (passed), failed an assertion or skipped (exit codes of our
 * own), or died of a signal, which a .signal test must do.  No shell is
 * involved, so no path needs quoting for one:
 *   POSIX    fork + execvp; the wait status names the signal; a second child
 *            that only sleeps bounds the time.
 *   Windows  CreateProcess; handlers in the test's process turn signals into
 *            exit codes; WaitForSingleObject bounds the time.
 *   Emscripten (node)  no fork: node's child_process.spawnSync runs the
 *            script again (tests/unit_main.js: link it with --js-library)
 *            and kills it at the time limit.  abort() ends node with exit
 *            code 1, not a signal, so a .signal test cannot pass there.
 * Options as Criterion's: --filter GLOB (on SUITE/NAME), --list, --verbose,
 * --jobs N / -j N (accepted; the tests run one at a time, so that the output
 * of each stays next to its verdict). */
#if defined(ASYNC_TEST_PORTABLE) || defined(_WIN32)
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* fork, kill, nanosleep, clock_gettime */
#endif
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "unit.h"
#ifdef _WIN32
#include <windows.h>
#elif !defined(__EMSCRIPTEN__)
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

/* How a test process ends, besides 0 (passed).  On Windows a fatal signal
 * cannot be seen from outside: the child's handler turns it into
 * UNIT_SIGNALED + the signal number. */
enum { UNIT_FAILED = 70, UNIT_SKIPPED = 71, UNIT_SIGNALED = 128 };

static unit_test *unit_list_;
static const unit_test *unit_current_; /* in a test's process: that test */

void unit_register_(unit_test *t) {
    t->next = unit_list_;
    unit_list_ = t;
}

/* The end of the first `nops` operands in `args` (the macro's arguments as
 * text): the first comma outside brackets and literals after them. */
static int unit_operands_len_(const char *args, int nops) {
    int depth = 0, i;
    for (i = 0; args[i] && nops > 0; i++) {
        char c = args[i];
        if (c == '"' || c == '\'') {
            while (args[i + 1] && args[i + 1] != c) i += args[i + 1] == '\\' && args[i + 2] ? 2 : 1;
            if (args[i + 1]) i++;
        } else if (c == '(' || c == '[' || c == '{') {
            depth++;
        } else if (c == ')' || c == ']' || c == '}') {
            depth--;
        } else if (c == ',' && depth == 0 && --nops == 0) {
            return i;
        }
    }
    return i;
}

void unit_fail_(const char *file, int line, const char *macro, int nops, const char *args,
                const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "[----] %s:%d: Assertion failed: %s(%.*s)", file, line, macro,
            unit_operands_len_(args, nops), args);
    if (*fmt) {
        fputs(": ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    fflush(NULL);
    _Exit(UNIT_FAILED); /* not exit(): the assertion may be on another thread */
}

void unit_skip_(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "[SKIP] %s::%s: ", unit_current_->suite, unit_current_->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(NULL);
    _Exit(UNIT_SKIPPED);
}

void unit_log_(const char *prefix, const char *fmt, ...) {
    va_list ap;
    fputs(prefix, stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Suite, then name: the order is the same whatever the link order. */
static int unit_cmp_(const void *a, const void *b) {
    const unit_test *x = *(const unit_test *const *)a, *y = *(const unit_test *const *)b;
    int c = strcmp(x->suite, y->suite);
    return c ? c : strcmp(x->name, y->name);
}

/* `*` any run of characters, `?` one: Criterion's --filter on SUITE/NAME. */
static int unit_glob_(const char *p, const char *s) {
    if (*p == '*') return unit_glob_(p + 1, s) || (*s && unit_glob_(p, s + 1));
    if (!*p) return !*s;
    return (*p == '?' ? *s != 0 : *p == *s) && unit_glob_(p + 1, s + 1);
}

static int unit_is_(const unit_test *t, const char *id) {
    size_t n = strlen(t->suite);
    return !strncmp(id, t->suite, n) && id[n] == '/' && !strcmp(id + n + 1, t->name);
}

static const char *unit_signame_(int sig) {
    static const struct {
        int sig;
        const char *name;
    } names[] = {{SIGABRT, "SIGABRT"}, {SIGSEGV, "SIGSEGV"}, {SIGFPE, "SIGFPE"}, {SIGILL, "SIGILL"},
                 {SIGINT, "SIGINT"},   {SIGTERM, "SIGTERM"},
#ifdef SIGBUS
                 {SIGBUS, "SIGBUS"},   {SIGKILL, "SIGKILL"},  {SIGPIPE, "SIGPIPE"}
#endif
    };
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig) return names[i].name;
    return "?";
}

#ifdef _WIN32
/* Not _Exit(), which runs the DLLs' detach code, where a crash inside the C
 * runtime could leave a lock held; stdout and stderr are unbuffered. */
static void unit_on_signal_(int sig) {
    TerminateProcess(GetCurrentProcess(), (UINT)(UNIT_SIGNALED + sig));
}

/* The C runtime's filter turns access violations and the like into the
 * signals above; any other exception (a stack overflow, say) ends the
 * process with its code, where Windows would ask for a debugger (wine starts
 * winedbg and dumps the registers). */
static LPTOP_LEVEL_EXCEPTION_FILTER unit_crt_filter_;
static LONG WINAPI unit_on_exception_(EXCEPTION_POINTERS *x) {
    LONG r = unit_crt_filter_ ? unit_crt_filter_(x) : EXCEPTION_CONTINUE_SEARCH;
    if (r == EXCEPTION_CONTINUE_SEARCH)
        TerminateProcess(GetCurrentProcess(), (UINT)x->ExceptionRecord->ExceptionCode);
    return r;
}
#endif

/* In the test's own process. */
static int unit_child_(const unit_test *t) {
    unit_current_ = t;
    /* Nothing is lost if the test dies: msvcrt even buffers stderr (and its
     * assert() message) when it is not a console. */
    setvbuf(stdout, NULL, _IONBF, 0);
    setvbuf(stderr, NULL, _IONBF, 0);
#ifdef _WIN32
    /* No dialog or message box for a crash, abort() or assert(): either
     * would wait for a click.  The old msvcrt.dll (mingw-w64's default) has
     * no _set_abort_behavior; at worst its abort() prints "abnormal program
     * termination" before raising SIGABRT: harmless. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    _set_error_mode(_OUT_TO_STDERR);
#if defined(_MSC_VER) || defined(_UCRT)
    _set_abort_behavior(0, _WRITE_ABORT_MSG | _CALL_REPORTFAULT);
#endif
    signal(SIGABRT, unit_on_signal_);
    signal(SIGSEGV, unit_on_signal_);
    signal(SIGFPE, unit_on_signal_);
    signal(SIGILL, unit_on_signal_);
    unit_crt_filter_ = SetUnhandledExceptionFilter(unit_on_exception_);
#endif
    t->fn();
    return 0;
}

/* How a run ended. */
typedef struct {
    int timed_out;
    int sig;           /* died of this signal (0: it exited) */
    unsigned long code; /* its exit code */
    double took;       /* seconds */
} unit_end;

#ifdef _WIN32
static unit_end unit_spawn_(const char *self, const unit_test *t) {
    unit_end e = {0, 0, 0, 0};
    char exe[MAX_PATH], cmd[MAX_PATH + 600];
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    DWORD code = 0, t0 = GetTickCount();
    int tries;
    (void)self; /* argv[0] may lack the directory and .exe: ask Windows */
    GetModuleFileNameA(NULL, exe, sizeof exe);
    /* The child's C runtime parses this line: a path cannot hold `"`, and
     * suite and name are identifiers, so quoting the path is enough. */
    snprintf(cmd, sizeof cmd, "\"%s\" --unit-run %s/%s", exe, t->suite, t->name);
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    /* wine once refused a start (error 1359, an internal error) in a run
     * that passed before and after: try again before giving up. */
    for (tries = 1; !CreateProcessA(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi); tries++) {
        fprintf(stderr, "[ERR ] cannot start %s (error %lu)%s\n", exe,
                (unsigned long)GetLastError(), tries < 3 ? ": trying again" : "");
        if (tries == 3) exit(2);
        Sleep(500);
    }
    if (WaitForSingleObject(pi.hProcess, t->timeout > 0 ? (DWORD)(t->timeout * 1000) : INFINITE) ==
        WAIT_TIMEOUT) {
        TerminateProcess(pi.hProcess, 1);
        WaitForSingleObject(pi.hProcess, INFINITE);
        e.timed_out = 1;
    }
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    e.code = code;
    if (code > UNIT_SIGNALED && code < UNIT_SIGNALED + 32) e.sig = (int)code - UNIT_SIGNALED;
    if (code >= 0x80000000ul) e.sig = -1; /* an NTSTATUS: an exception no signal handler took */
    e.took = (double)(GetTickCount() - t0) / 1000;
    return e;
}
#else
static double unit_now_(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#ifdef __EMSCRIPTEN__
int unit_node_spawn(const char *id, double timeout); /* tests/unit_main.js */

static unit_end unit_spawn_(const char *self, const unit_test *t) {
    unit_end e = {0, 0, 0, 0};
    char id[512];
    int r;
    double t0 = unit_now_();
    (void)self; /* "./this.program": the script's path is node's to tell */
    snprintf(id, sizeof id, "%s/%s", t->suite, t->name);
    r = unit_node_spawn(id, t->timeout);
    if (r == -2) {
        fprintf(stderr, "[ERR ] cannot start node for %s\n", id);
        exit(2);
    }
    if (r == -1) e.timed_out = 1;
    if (r <= -1000) e.sig = -1000 - r;
    if (r >= 0) e.code = (unsigned long)r;
    e.took = unit_now_() - t0;
    return e;
}
#else
/* Tests start with only stdin, stdout and stderr open, as under Criterion:
 * some count or bound their fds (RLIMIT_NOFILE), and whatever started the
 * runner may have left some open.  (Capped: some containers allow 2^30.) */
static void unit_close_on_exec_(void) {
    long fd, max = sysconf(_SC_OPEN_MAX);
    if (max <= 0 || max > 65536) max = 65536;
    for (fd = 3; fd < max; fd++) fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

static unit_end unit_spawn_(const char *self, const unit_test *t) {
    unit_end e = {0, 0, 0, 0};
    char id[512];
    char *argv[4];
    int st = 0;
    pid_t pid, timer = -1, w;
    double t0 = unit_now_();
    snprintf(id, sizeof id, "%s/%s", t->suite, t->name);
    argv[0] = (char *)self, argv[1] = (char *)"--unit-run", argv[2] = id, argv[3] = NULL;
    if ((pid = fork()) == 0) {
        execvp(self, argv); /* no shell: nothing to quote */
        perror(self);
        _exit(127);
    }
    /* The timeout: a second child that only sleeps; whichever of the two
     * ends first tells.  (No thread or timer in the test's process, whose
     * tests count threads and fds and send themselves signals.) */
    if (pid > 0 && t->timeout > 0 && (timer = fork()) == 0) {
        struct timespec ts;
        ts.tv_sec = (time_t)t->timeout;
        ts.tv_nsec = (long)((t->timeout - (double)ts.tv_sec) * 1e9);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
        _exit(0);
    }
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    while ((w = waitpid(-1, &st, 0)) != pid) {
        if (w < 0 && errno != EINTR) {
            perror("waitpid");
            exit(2);
        }
        if (w > 0 && w == timer) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            e.timed_out = 1;
            timer = -1;
            break;
        }
    }
    if (timer > 0) {
        kill(timer, SIGKILL);
        waitpid(timer, NULL, 0);
    }
    if (WIFSIGNALED(st)) e.sig = WTERMSIG(st);
    if (WIFEXITED(st)) e.code = (unsigned long)WEXITSTATUS(st);
    e.took = unit_now_() - t0;
    return e;
}
#endif
#endif

/* The value of option `lng` (or `shrt`) if argv[*i] is that option, as
 * getopt_long takes it: --name=VALUE, -jVALUE, or in the next argument. */
static const char *unit_value_(int argc, char **argv, int *i, const char *lng, const char *shrt) {
    const char *a = argv[*i];
    size_t n = strlen(lng);
    if (strncmp(a, lng, n) == 0 && a[n] == '=') return a + n + 1;
    if (shrt && strncmp(a, shrt, 2) == 0 && a[2] != '\0') return a + 2;
    if (strcmp(a, lng) != 0 && (!shrt || strcmp(a, shrt) != 0)) return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s needs a value\n", a);
        exit(2);
    }
    return argv[++*i];
}

int main(int argc, char **argv) {
    unit_test *t, **all;
    const char *filter = "*", *v;
    int n = 0, i, list = 0, verbose = 0, tested = 0, passing = 0, crashing = 0, skipped = 0;
    for (t = unit_list_; t; t = t->next) n++;
    all = (unit_test **)malloc((size_t)(n ? n : 1) * sizeof(unit_test *));
    if (!all) return 2;
    for (n = 0, t = unit_list_; t; t = t->next) all[n++] = t;
    qsort(all, (size_t)n, sizeof(unit_test *), unit_cmp_);
    for (i = 1; i < n; i++)
        if (!unit_cmp_(&all[i - 1], &all[i])) {
            fprintf(stderr, "[ERR ] two tests named %s::%s\n", all[i]->suite, all[i]->name);
            return 2;
        }
    if (argc == 3 && !strcmp(argv[1], "--unit-run")) {
        for (i = 0; i < n; i++)
            if (unit_is_(all[i], argv[2])) return unit_child_(all[i]);
        fprintf(stderr, "[ERR ] no test %s\n", argv[2]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        if ((v = unit_value_(argc, argv, &i, "--filter", NULL)) != NULL) {
            filter = v;
        } else if ((v = unit_value_(argc, argv, &i, "--jobs", "-j")) != NULL) {
            (void)v; /* accepted as Criterion does, but the tests run one at a time */
        } else if (!strcmp(argv[i], "--list")) {
            list = 1;
        } else if (!strcmp(argv[i], "--verbose")) {
            verbose = 1;
        } else {
            fprintf(stderr, "unknown option %s\nusage: %s [--filter SUITE/NAME-GLOB] "
                            "[--jobs N | -j N] [--list] [--verbose]\n", argv[i], argv[0]);
            return 2;
        }
    }
#if !defined(_WIN32) && !defined(__EMSCRIPTEN__)
    if (!list) unit_close_on_exec_();
#endif
    for (i = 0; i < n; i++) {
        char id[512];
        unit_end e;
        int ok;
        t = all[i];
        snprintf(id, sizeof id, "%s/%s", t->suite, t->name);
        if (!unit_glob_(filter, id)) continue;
        if (list) {
            printf("%s\n", id);
            continue;
        }
        if (verbose) fprintf(stderr, "[RUN ] %s::%s\n", t->suite, t->name);
        fflush(NULL);
        e = unit_spawn_(argv[0], t);
        if (e.code == UNIT_SKIPPED && !e.sig && !e.timed_out) { /* the child said why */
            skipped++;
            continue;
        }
        ok = !e.timed_out && (t->signal ? e.sig == t->signal : !e.sig && !e.code);
        tested++;
        passing += ok;
        if (ok && !verbose) continue;
        fprintf(stderr, "[%s] %s::%s:", ok ? "PASS" : "FAIL", t->suite, t->name);
        if (e.timed_out) {
            fprintf(stderr, " Timed out.");
        } else if (e.sig && e.sig != t->signal) {
            crashing++;
            if (e.sig > 0) fprintf(stderr, " CRASH! (signal %d, %s)", e.sig, unit_signame_(e.sig));
            else fprintf(stderr, " CRASH! (exception %#lx)", e.code);
        } else if (!ok && t->signal && !e.code) {
            fprintf(stderr, " returned, but should have died of signal %d (%s)", t->signal,
                    unit_signame_(t->signal));
        } else if (!ok && e.code != UNIT_FAILED) { /* UNIT_FAILED: the child said why */
            fprintf(stderr, " exited with code %lu", e.code);
        }
        fprintf(stderr, " (%.2fs)\n", e.took);
    }
    free(all);
    if (list) return 0;
    fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: %d",
            tested, passing, tested - passing, crashing);
    if (skipped) fprintf(stderr, " | Skipped: %d", skipped);
    fputc('\n', stderr);
    return passing == tested ? 0 : 1;
}
#else
typedef int unit_main_unused_; /* ISO C wants something in a file */
#endif
