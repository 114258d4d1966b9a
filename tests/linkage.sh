#!/bin/sh
# Split mode (ASYNC_EXTERN in every file, ASYNC_IMPLEMENTATION in one): the
# kitchen example (examples/split) built file by file in each setting,
# language and compiler, run, and its output compared with the default
# build's; then files built with settings that differ must fail to link,
# and the linker's message must name the settings.  Usage: linkage.sh OUTDIR
set -u
out=${1:-build/tests}/linkage
mkdir -p "$out"
warn="-std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -O1"
files="main cooks waiters async_impl"
fail=0
n=0

# build NAME CC CFLAGS [MAIN_CFLAGS] [IMPL_CC]: objects, then the program.
build() {
    dir="$out/$1"
    mkdir -p "$dir"
    for f in $files; do
        c=$2 flags=$3
        [ "$f" = main ] && [ -n "${4:-}" ] && flags="$flags $4"
        if [ "$f" = async_impl ] && [ -n "${5:-}" ]; then c=$5; fi
        case $c in *++) lang="-x c++ -std=c++17 -Wall -Wextra -Werror -O1" ;; *) lang=$warn ;; esac
        $c $lang $flags -I. -c examples/split/$f.c -o "$dir/$f.o" || return 1
    done
    cc "$dir"/*.o -o "$dir/kitchen" 2> "$dir/link.txt"
}

build ref cc "" || { echo "linkage: the default split build failed" >&2; exit 1; }
"$out/ref/kitchen" --virtual > "$out/ref.txt" || { echo "linkage: kitchen failed" >&2; exit 1; }
grep -q "cooked 3" "$out/ref.txt" || { echo "linkage: kitchen output wrong" >&2; exit 1; }

works() { # NAME ...build args
    if build "$@" && "$out/$1/kitchen" --virtual > "$out/$1.txt" && cmp -s "$out/ref.txt" "$out/$1.txt"; then
        n=$((n + 1))
    else
        echo "linkage: FAILED: $*" >&2
        fail=$((fail + 1))
    fi
}
works labels gcc "-DASYNC_LABELS=1"
works poll gcc "-DASYNC_POLL=1"
works noio gcc "-DASYNC_NO_IO=1"
works nointro gcc "-DASYNC_NO_INTROSPECTION=1"
works timerheap gcc "-DASYNC_TIMER_HEAP=1"
works trace gcc "-DASYNC_TRACE=1"
works pool gcc "-DASYNC_POOL_MAX=8"
works clang clang "-DASYNC_LABELS=1"
works cxx-impl gcc "" "" g++
works clangxx-impl clang "-DASYNC_POLL=1" "" clang++
# NDEBUG is per file (it only turns checks off): the implementation without
# checks links with files that have them.
dir="$out/ndebug"; mkdir -p "$dir"
for f in $files; do
    extra=""; [ $f = async_impl ] && extra=-DNDEBUG
    gcc $warn $extra -I. -c examples/split/$f.c -o "$dir/$f.o"
done
if cc "$dir"/*.o -o "$dir/kitchen" && "$dir/kitchen" --virtual | cmp -s "$out/ref.txt" -; then
    n=$((n + 1))
else
    echo "linkage: FAILED: NDEBUG only in async_impl.c" >&2; fail=$((fail + 1))
fi

# mismatch NAME MAIN_CFLAGS EXPECTED: main.c built otherwise must not link
# with the reference build's other objects.
mismatch() {
    dir="$out/$1"; mkdir -p "$dir"
    gcc $warn $2 -I. -c examples/split/main.c -o "$dir/main.o" || return 1
    if cc "$dir/main.o" "$out/ref/cooks.o" "$out/ref/waiters.o" "$out/ref/async_impl.o" \
          -o "$dir/kitchen" 2> "$dir/link.txt"; then
        echo "linkage: FAILED: main.c with $2 linked with the others" >&2
        fail=$((fail + 1))
    elif grep -q "undefined reference to .*$3" "$out/$1/link.txt"; then
        n=$((n + 1))
    else
        echo "linkage: FAILED: main.c with $2: the link error does not name $3:" >&2
        cat "$out/$1/link.txt" >&2
        fail=$((fail + 1))
    fi
}
mismatch mis-labels "-DASYNC_LABELS=1" "async_abi_[0-9_]*__labels1__"
mismatch mis-intro "-DASYNC_NO_INTROSPECTION" "__introspection0__"
mismatch mis-trace "-DASYNC_TRACE" "__trace1__"
mismatch mis-timers "-DASYNC_TIMER_HEAP" "__heap__"
mismatch mis-poll "-DASYNC_POLL" "__io_poll_pool64"
mismatch mis-noio "-DASYNC_NO_IO" "__no_io"
mismatch mis-pool "-DASYNC_POOL_MAX=16" "__io_epoll_pool16"

echo "linkage: $n builds and mismatches as expected, $fail failures"
[ $fail -eq 0 ]
