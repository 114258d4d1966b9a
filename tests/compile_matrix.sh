#!/bin/sh
# Builds tests/compile_all.c with every available compiler, language mode
# and coroutine backend at -Wall -Wextra -Wpedantic -Werror, and runs each
# binary.  Also builds the bare header in each mode.  Usage: compile_matrix.sh OUTDIR
set -e
out=${1:-build/tests}
mkdir -p "$out"
warn="-Wall -Wextra -Wpedantic -Werror -Wimplicit-fallthrough -Wshadow"
n=0
fail=0
try() { # compiler std backend-flag source
    bin="$out/matrix-$1-$2$3"
    bin=$(echo "$bin" | tr -d '=+' )
    if "$1" -std="$2" $warn $3 -I. -x "$4" tests/compile_all.c -o "$bin" && "$bin"; then
        n=$((n + 1))
    else
        echo "compile matrix: FAILED with $1 -std=$2 $3" >&2
        fail=$((fail + 1))
    fi
}
for cc in gcc clang; do
    command -v $cc >/dev/null || { echo "compile matrix: no $cc" >&2; fail=$((fail + 1)); continue; }
    for std in c99 c11 c17 c2x gnu99; do
        try $cc $std "" c
        try $cc $std "-DASYNC_LABELS=1" c
    done
    try $cc c99 "-DASYNC_POLL=1" c
    # feature levels below POSIX.1-2001: -pthread makes glibc pick 199506L
    try $cc c99 "-pthread" c
    try $cc c99 "-D_POSIX_C_SOURCE=199309L" c
    try $cc c99 "-D_XOPEN_SOURCE=500" c
    try $cc c99 "-DASYNC_NO_IO=1" c
    try $cc c99 "-DASYNC_NO_INTROSPECTION=1" c
    try $cc c99 "-DASYNC_TRACE=1" c
    try $cc c99 "-DASYNC_TRACE=1 -DASYNC_LABELS=1 -DASYNC_NO_IO=1" c
done
for cxx in g++ clang++; do
    command -v $cxx >/dev/null || { echo "compile matrix: no $cxx" >&2; fail=$((fail + 1)); continue; }
    for std in c++11 c++14 c++17 c++20; do
        try $cxx $std "" c++
        try $cxx $std "-DASYNC_LABELS=1" c++
    done
    try $cxx c++11 "-DASYNC_TRACE=1" c++
    try $cxx c++11 "-DASYNC_NO_INTROSPECTION=1" c++
done
# README rule 1: gcc's -Wjump-misses-init reports a suspension point that
# would resume inside the scope of an initialised local (left garbage); the
# examples and the tests must build clean with it, as the README says.
if command -v gcc >/dev/null; then
    for f in tests/compile_all.c examples/*.c tests/test_*.c; do
        case $f in examples/areq*.c) continue ;; esac # need libcurl's headers
        if gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -Wjump-misses-init -I. -Itests \
            -fsyntax-only "$f"; then
            n=$((n + 1))
        else
            echo "compile matrix: FAILED with gcc -Wjump-misses-init on $f" >&2
            fail=$((fail + 1))
        fi
    done
fi
echo "compile matrix: $n passed, $fail failed"
[ "$fail" -eq 0 ]
