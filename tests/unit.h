/* The test framework the test files see: Criterion where it builds, else
 * (-DASYNC_TEST_PORTABLE, or Windows, where Criterion has no mingw-w64 build)
 * the part of Criterion's interface the tests use, run by tests/unit_main.c:
 * link that file in.  Each test runs in a process of its own, as in Criterion. */
#ifndef TEST_UNIT_H
#define TEST_UNIT_H
#if !defined(ASYNC_TEST_PORTABLE) && !defined(_WIN32)
#include <criterion/criterion.h>
#else
#include <stddef.h> /* NULL */
#include <string.h> /* strcmp */

typedef struct unit_test {
    const char *suite, *name;
    void (*fn)(void);
    double timeout; /* seconds, 0: none (as in Criterion) */
    int signal;     /* the signal the test must die of, 0: it must return */
    int end_;       /* Test() appends `.end_ = 0`: C99 wants `...` non-empty */
    struct unit_test *next;
} unit_test;

/* A failed assertion or a skip ends the test's process; saying so spares
 * warnings about the paths after it (e.g. a pointer just checked for NULL). */
#ifdef __GNUC__
#define UNIT_NORETURN_ __attribute__((noreturn))
#else
#define UNIT_NORETURN_
#endif
void unit_register_(unit_test *t);
UNIT_NORETURN_ void unit_fail_(const char *file, int line, const char *macro, int nops,
                               const char *args, const char *fmt, ...);
UNIT_NORETURN_ void unit_skip_(const char *fmt, ...);
void unit_log_(const char *prefix, const char *fmt, ...);

/* Test(suite, name, .timeout = 10, .signal = SIGABRT) { body }.  Each test
 * registers itself from a constructor, so no file lists them: gcc, clang and
 * mingw-w64 have __attribute__((constructor)) (MSVC would need a pointer in a
 * .CRT$XCU section instead; not done). */
#define Test(...) UNIT_TEST_(__VA_ARGS__, .end_ = 0)
#define UNIT_TEST_(SUITE, NAME, ...)                                                          \
    static void unit_fn_##SUITE##_##NAME(void);                                               \
    static void unit_reg_##SUITE##_##NAME(void) __attribute__((constructor));                 \
    static void unit_reg_##SUITE##_##NAME(void) {                                             \
        static unit_test t_ = {.suite = #SUITE, .name = #NAME, .fn = unit_fn_##SUITE##_##NAME, \
                               __VA_ARGS__};                                                  \
        unit_register_(&t_);                                                                  \
    }                                                                                         \
    static void unit_fn_##SUITE##_##NAME(void)

/* Every assertion takes an optional printf-style message after its operands.
 * The public macro appends "" so that the message format is always the first
 * trailing argument and `...` is never empty; the operands are text as
 * written (#__VA_ARGS__ before any expansion), cut after `nops` of them when
 * printed.  Operands are compared as written, each evaluated once. */
#define UNIT_CHECK_(ok, macro, nops, text, ...)                                    \
    do {                                                                           \
        if (!(ok)) unit_fail_(__FILE__, __LINE__, macro, nops, text, __VA_ARGS__); \
    } while (0)
#define UNIT_1_(pre, post, macro, text, a, ...) \
    UNIT_CHECK_(pre(a) post, macro, 1, text, __VA_ARGS__)
#define UNIT_OP_(op, macro, text, a, b, ...) UNIT_CHECK_((a)op(b), macro, 2, text, __VA_ARGS__)
#define UNIT_STR_(eq, macro, text, a, b, ...) \
    UNIT_CHECK_((strcmp((a), (b)) == 0) == (eq), macro, 2, text, __VA_ARGS__)
#define UNIT_FLOAT_(macro, text, a, b, eps, ...) \
    UNIT_CHECK_(unit_near_((a), (b), (eps)), macro, 3, text, __VA_ARGS__)

static inline int unit_near_(double a, double b, double eps) {
    return a - b <= eps && b - a <= eps; /* Criterion's test, without a second evaluation */
}

#define cr_assert(...) UNIT_1_(, , "cr_assert", #__VA_ARGS__, __VA_ARGS__, "")
#define cr_assert_not(...) UNIT_1_(!, , "cr_assert_not", #__VA_ARGS__, __VA_ARGS__, "")
#define cr_assert_null(...) UNIT_1_(, == NULL, "cr_assert_null", #__VA_ARGS__, __VA_ARGS__, "")
#define cr_assert_not_null(...) \
    UNIT_1_(, != NULL, "cr_assert_not_null", #__VA_ARGS__, __VA_ARGS__, "")
#define cr_assert_eq(...) UNIT_OP_(==, "cr_assert_eq", #__VA_ARGS__, __VA_ARGS__, "")
#define cr_assert_neq(...) UNIT_OP_(!=, "cr_assert_neq", #__VA_ARGS__, __VA_ARGS__, "")
#define cr_assert_lt(...) UNIT_OP_(<, "cr_assert_lt", #__VA_ARGS__, __VA_ARGS__, "")
#define cr_assert_leq(...) UNIT_OP_(<=, "cr_assert_leq", #__VA_ARGS__, __VA_ARGS__, "")
#define cr_assert_gt(...) UNIT_OP_(>, "cr_assert_gt", #__VA_ARGS__, __VA_ARGS__, "")
#define cr_assert_geq(...) UNIT_OP_(>=, "cr_assert_geq", #__VA_ARGS__, __VA_ARGS__, "")
#define cr_assert_str_eq(...) UNIT_STR_(1, "cr_assert_str_eq", #__VA_ARGS__, __VA_ARGS__, "")
#define cr_assert_str_neq(...) UNIT_STR_(0, "cr_assert_str_neq", #__VA_ARGS__, __VA_ARGS__, "")
#define cr_assert_float_eq(...) UNIT_FLOAT_("cr_assert_float_eq", #__VA_ARGS__, __VA_ARGS__, "")

/* Message-only forms: "" __VA_ARGS__ makes the message optional, so it must be
 * a string literal, as it is everywhere in the tests. */
#define cr_assert_fail(...) unit_fail_(__FILE__, __LINE__, "cr_assert_fail", 0, "", "" __VA_ARGS__)
#define cr_skip_test(...) unit_skip_("" __VA_ARGS__)
#define cr_log_info(...) unit_log_("[----] ", "" __VA_ARGS__)
#define cr_log_warn(...) unit_log_("[WARN] ", "" __VA_ARGS__)
#define cr_log_error(...) unit_log_("[ERR ] ", "" __VA_ARGS__)
#endif
#endif
