#!/bin/sh
# Static analysis of async.h, through the translation units that use it:
# tests/compile_all.c (every public macro and function), every examples/*.c
# (areq.c also brings in integrations/async_curl.h), the split-mode example
# examples/split/*.c, bench/soak.c and bench/soak_timers.c.  Two
# tools, and any finding from either fails the run:
#
#   clang-tidy  the checks listed (with a reason for each one left out) in
#               tests/clang-tidy.yaml; once per file, plus compile_all.c
#               again with -DASYNC_LABELS=1, -DASYNC_POLL=1 and -DASYNC_TRACE=1
#   cppcheck    warning, style, performance and portability checks, on every
#               file, plus compile_all.c with -DASYNC_POLL=1, -DASYNC_TRACE=1;
#               the few suppressions are below, each with its reason
#
# Usage: sh tests/lint.sh            (from anywhere; `make lint`)
# Environment:
#   LINT_JOBS=N        clang-tidy processes at once (default 2)
#   LINT_HEADER_DIR=D  check D/async.h instead of ./async.h (e.g. a patched
#                      copy; the sources include it as "async.h")
#   CLANG_TIDY, CPPCHECK   the tools (default: clang-tidy, cppcheck)
# Missing tools are installed with apt-get when run as root (CI on Debian);
# otherwise the script prints the apt-get command and fails.
set -u
cd "$(dirname "$0")/.." || exit 1

CLANG_TIDY=${CLANG_TIDY:-clang-tidy}
CPPCHECK=${CPPCHECK:-cppcheck}
JOBS=${LINT_JOBS:-2}
HDR=${LINT_HEADER_DIR:-.}
[ -f "$HDR/async.h" ] || { echo "lint: no async.h in $HDR" >&2; exit 1; }

# Install what is missing (Debian packages), like the Makefile's `need`.
missing=
command -v "$CLANG_TIDY" >/dev/null 2>&1 || missing="$missing clang-tidy"
command -v "$CPPCHECK" >/dev/null 2>&1 || missing="$missing cppcheck"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "lint: installing$missing"
        # shellcheck disable=SC2086 # one word per package
        { apt-get update -qq &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null; } || exit 1
    else
        echo "lint: missing$missing: run 'sudo apt-get install$missing'" >&2
        exit 1
    fi
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
start=$(date +%s)
fail=0

# The flags the Makefile builds with (C99, POSIX 2008 clocks and sockets).
# The header directory comes first so that LINT_HEADER_DIR wins over ./async.h.
LINT_CFLAGS="-std=c99 -I$HDR -I. -D_POSIX_C_SOURCE=200809L"

# ---- cppcheck ---------------------------------------------------------------
# async.h refuses to build without POSIX clocks; cppcheck does not read the
# system headers, so give it the macros they would have defined.
#
# Suppressions (only these):
#   missingIncludeSystem: cppcheck is not given the system headers.
#   shadowVariable and shadowFunction in async.h: cppcheck reads the whole
#     file at once and reports a local in the header's inline functions (g,
#     other, ...) as shadowing a global that a program declares after the
#     #include (bench/soak.c's `g`, examples/cancel.c's `other`).  Under C
#     scoping nothing is shadowed: the global is not yet declared where the
#     local is (gcc and clang -Wshadow, in tests/compile_matrix.sh, agree).
#   knownConditionTrueFalse in tests/compile_all.c: it compares ASYNC_SELF()
#     with the task on purpose, to prove what the macro expands to.
echo "lint: $("$CPPCHECK" --version)"
cppcheck_run() { # extra flags...
    "$CPPCHECK" --quiet --language=c --std=c99 \
        --enable=warning,style,performance,portability \
        --inline-suppr --error-exitcode=1 \
        --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
        --suppress=missingIncludeSystem \
        --suppress='shadowVariable:*async.h' \
        --suppress='shadowFunction:*async.h' \
        --suppress='knownConditionTrueFalse:tests/compile_all.c' \
        -D__linux__ -D__unix__ -D_POSIX_C_SOURCE=200809L \
        -DCLOCK_MONOTONIC=1 -DTIMER_ABSTIME=1 \
        -I"$HDR" -I. -j "$JOBS" "$@"
}
cppcheck_run tests/compile_all.c examples/*.c bench/soak.c bench/soak_timers.c || fail=1
# Split mode: the definitions with external linkage (async_impl.c) and files
# that see only declarations.
cppcheck_run examples/split/*.c || fail=1
# The other backends' code.  (Not ASYNC_LABELS: cppcheck does not know
# labels-as-values, and calls every label unused; clang-tidy checks it.)
cppcheck_run -DASYNC_POLL=1 tests/compile_all.c || fail=1
cppcheck_run -DASYNC_TRACE=1 tests/compile_all.c || fail=1

# ---- clang-tidy -------------------------------------------------------------
echo "lint: $("$CLANG_TIDY" --version | grep -i version | head -n 1 | sed 's/^ *//')"
# One job per line: FILE [EXTRA FLAGS].  The slowest first (compile_all.c
# takes longest), so that the parallel jobs end together.
{
    echo tests/compile_all.c
    echo tests/compile_all.c -DASYNC_LABELS=1
    echo tests/compile_all.c -DASYNC_POLL=1
    echo tests/compile_all.c -DASYNC_TRACE=1
    for f in examples/*.c examples/split/*.c; do echo "$f"; done
    echo bench/soak.c
    echo bench/soak_timers.c
} | awk '{ print NR, $0 }' > "$tmp/jobs"

# Each job writes $tmp/N.out (the findings) and $tmp/N.rc (the exit status).
export CLANG_TIDY LINT_CFLAGS tmp
# shellcheck disable=SC2016 # the inner shell expands these
xargs -P "$JOBS" -L 1 sh -c '
    n=$1 f=$2; shift 2
    "$CLANG_TIDY" --quiet --config-file=tests/clang-tidy.yaml "$f" \
        -- $LINT_CFLAGS "$@" > "$tmp/$n.out" 2>&1
    echo $? > "$tmp/$n.rc"
' sh < "$tmp/jobs"

while read -r n f extra; do
    rc=$(cat "$tmp/$n.rc" 2>/dev/null || echo missing)
    # "N warnings generated." is clang's count, not a finding.
    grep -Ev '^[0-9]+ (warning|error)s? (and [0-9]+ (warning|error)s? )?generated\.$' \
        "$tmp/$n.out" > "$tmp/$n.findings"
    if [ "$rc" != 0 ] || grep -q . "$tmp/$n.findings"; then
        echo "lint: clang-tidy $f $extra (exit $rc):"
        cat "$tmp/$n.findings"
        fail=1
    fi
done < "$tmp/jobs"

# integrations/async_curl.h: tests/clang-tidy.yaml's HeaderFilterRegex names
# async.h and the examples' and benchmarks' headers only, so clang-tidy looks
# at it once more through examples/areq.c (which uses all of it) with the
# filter on integrations/.  (cppcheck already reads it through areq.c.)
# shellcheck disable=SC2086 # LINT_CFLAGS is a list of flags
"$CLANG_TIDY" --quiet --config-file=tests/clang-tidy.yaml \
    --header-filter='(^|/)integrations/[^/]*\.h$' examples/areq.c -- $LINT_CFLAGS \
    > "$tmp/integrations.out" 2>&1
rc=$?
grep -Ev '^[0-9]+ (warning|error)s? (and [0-9]+ (warning|error)s? )?generated\.$' \
    "$tmp/integrations.out" > "$tmp/integrations.findings"
if [ "$rc" != 0 ] || grep -q . "$tmp/integrations.findings"; then
    echo "lint: clang-tidy integrations/async_curl.h via examples/areq.c (exit $rc):"
    cat "$tmp/integrations.findings"
    fail=1
fi

secs=$(( $(date +%s) - start ))
if [ "$fail" != 0 ]; then
    echo "lint: FAILED (${secs}s)"
    exit 1
fi
echo "lint: clean: cppcheck and clang-tidy found nothing in async.h, tests/compile_all.c, examples/*.c, examples/split/*.c, integrations/async_curl.h, bench/soak.c, bench/soak_timers.c (${secs}s)"
