#!/usr/bin/env bash
# Windows x86-64 (`make windows`): every public macro compiled as C, as C++
# and with the GNU C macros removed (platform/windows/no_gnu.c: what MSVC
# would not accept); the test files that need no fork, pipes or Linux calls,
# built with mingw-w64 and run under wine64, with the switch and the labels
# backends; then examples, each compared with the native build's output.
#
# Criterion has no Windows build, so the suite runs on tests/unit_main.c, the
# small runner behind tests/unit.h: one process per test as with Criterion;
# a death test's signal comes back as its exit code; the runner enforces
# timeouts (TerminateProcess).
#
# Sockets and worker threads: tests/test_net.c, written for every platform
# (the same error codes everywhere), test_io, test_promises, test_introspect
# and test_overload (where they make a pipe, tests/helpers.h's test_pipe
# makes a pair of loopback sockets: WSAPoll polls nothing else), and the
# echo server and client.  Left out, and why: test_main (fork and POSIX
# signals), test_faults (intercepts Linux calls), test_examples (replaced
# here by the output comparison).  Inside the files that run, the tests of
# POSIX things (pipes themselves, SIGPIPE, signals, regular files, fork and
# RLIMIT_NOFILE) and those that start the host's C compiler are compiled
# out (_WIN32).
#
# Usage, from the repository root:  bash platform/windows/run.sh [OUTDIR]
#   OUTDIR   default build/platform/windows (the wine prefix lives there too)
# shellcheck disable=SC2086 # $flags, $vflags, $cmd, $objs and $arg are lists of words
set -u
cd "$(dirname "$0")/../.." || exit 1
out=${1:-build/platform/windows}
mkdir -p "$out/logs" "$out/examples" || exit 1
out=$(cd "$out" && pwd)
cc=x86_64-w64-mingw32-gcc-win32 # async.h uses Win32 threads (one test, pthreads)
wine=/usr/lib/wine/wine64
flags="-std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -I."
export WINEDEBUG=-all WINEPREFIX="$out/prefix"
start=$(date +%s)
fail=0
for f in "$(command -v $cc)" "$(command -v x86_64-w64-mingw32-g++-win32)" "$wine"; do
    [ -x "$f" ] || { echo "windows: missing $f (make windows installs the tools)"; exit 1; }
done

# The first start in a new prefix creates it (about 5 s); do it once, here.
"$wine" cmd /c exit >/dev/null 2>&1

# ---- the header: every public macro as C and C++, and without GNU C ------------
for build in "c:$cc -std=c99" "c++:x86_64-w64-mingw32-g++-win32 -std=c++11 -x c++" \
             "no-gnu:$cc -std=c99 platform/windows/no_gnu.c"; do
    name=${build%%:*}
    cmd=${build#*:}
    src=tests/compile_all.c
    [ "$name" = no-gnu ] && src=""
    werror=-Werror
    [ "$name" = no-gnu ] && werror="" # see platform/windows/no_gnu.c
    if $cmd -Wall -Wextra -Wpedantic $werror -O2 -I. $src -static -o "$out/compile_all-$name.exe" -lws2_32 \
         > "$out/logs/compile_all-$name.build.txt" 2>&1 &&
       "$wine" "$out/compile_all-$name.exe" > "$out/logs/compile_all-$name.txt" 2>&1; then
        echo "windows: tests/compile_all.c builds and runs ($name)"
    else
        echo "windows: tests/compile_all.c FAILED ($name)"; fail=1
        grep -a 'error' "$out/logs/compile_all-$name.build.txt" | head -20
    fi
done

# ---- the suite, both coroutine backends ------------------------------------
files="asyncio core edge gen heap introspect io misuse misuse_msg model natural net overload promises
       promises_sched sync timeout"
for variant in suite suite-labels; do
    vflags=$flags
    [ "$variant" = suite-labels ] && vflags="$flags -DASYNC_LABELS=1"
    mkdir -p "$out/$variant.d"
    objs=""
    for f in $files unit_main; do
        src=tests/test_$f.c
        [ "$f" = unit_main ] && src=tests/unit_main.c
        $cc $vflags -c "$src" -o "$out/$variant.d/$f.o" || { echo "windows: $src does not build ($variant)"; exit 1; }
        objs="$objs $out/$variant.d/$f.o"
    done
    $cc -static $objs -o "$out/$variant.exe" -lws2_32 -lpthread || exit 1
    labels=""
    [ "$variant" = suite-labels ] && labels=1
    if ASYNC_TEST_LABELS=$labels "$wine" "$out/$variant.exe" > "$out/logs/$variant.txt" 2>&1; then
        echo "windows: $variant: $(grep -a 'Synthesis' "$out/logs/$variant.txt" | tr -d '\r')"
    else
        echo "windows: $variant FAILED (log: $out/logs/$variant.txt)"
        grep -a 'FAIL\|CRASH\|TIMEOUT\|Synthesis' "$out/logs/$variant.txt" | tr -d '\r' | head -20
        fail=1
    fi
done

# ---- examples that need no I/O: same output as the native build -------------
# Addresses differ, and so may real-time figures on a loaded machine ("1.01"
# for "1.00"): both are masked; the lines, their order and every other word
# must be equal.  countasync's time is checked against bounds below.
mask() { tr -d '\r' | sed -E 's/0x[0-9a-f]+/0xADDR/g; s/[0-9]+\.[0-9]+/T/g'; }
# An entry is NAME or NAME:ARGUMENT (queue runs its minute in virtual time).
for entry in countasync hello cancel generators mygen timeouts chess stuck as_completed to_thread \
             queue:--virtual; do
    n=${entry%%:*}
    arg=""
    [ "$n" = "$entry" ] || arg=${entry#*:}
    cc -std=c99 -O2 -I. "examples/$n.c" -o "$out/examples/$n" || exit 1
    $cc $flags -static "examples/$n.c" -o "$out/examples/$n.exe" -lws2_32 || { echo "windows: examples/$n.c does not build"; exit 1; }
    "$out/examples/$n" $arg 2>&1 | mask > "$out/logs/$n.native.txt"
    "$wine" "$out/examples/$n.exe" $arg > "$out/logs/$n.windows.raw" 2>&1
    mask < "$out/logs/$n.windows.raw" > "$out/logs/$n.windows.txt"
    if cmp -s "$out/logs/$n.native.txt" "$out/logs/$n.windows.txt"; then
        echo "windows: examples/$n: same output as on Linux"
    else
        echo "windows: examples/$n: output differs from Linux:"
        diff "$out/logs/$n.native.txt" "$out/logs/$n.windows.txt" | head -10
        fail=1
    fi
done

# The echo server and its client, both Windows programs, over loopback.
for n in echo_server echo_client; do
    $cc $flags -static "examples/$n.c" -o "$out/examples/$n.exe" -lws2_32 || { echo "windows: examples/$n.c does not build"; exit 1; }
done
port=$((20000 + $$ % 20000))
"$wine" "$out/examples/echo_server.exe" -p $port -n 100 > "$out/logs/echo_server.txt" 2>&1 &
server=$!
echoed=""
for try in 1 2 3 4 5 6 7 8 9 10; do # the server's first start under wine takes a moment
    sleep 1
    echoed=$("$wine" "$out/examples/echo_client.exe" -p $port -c 100 2>&1 | tr -d '\r')
    case $echoed in "100 of 100"*) break ;; esac
    [ "$try" = 10 ] || echoed=""
done
kill $server 2>/dev/null
wait $server 2>/dev/null
if [ "$echoed" = "100 of 100 connections echoed 65536 bytes each, every byte checked" ]; then
    echo "windows: examples/echo_server + echo_client: $echoed"
else
    echo "windows: examples/echo_server + echo_client FAILED: ${echoed:-no answer}"; fail=1
fi

# countasync's point: three 1 s sleeps overlap (1.00-1.20 s, not 3 s).
t=$(grep -ao 'executed in [0-9.]*' "$out/logs/countasync.windows.raw" | grep -o '[0-9.]*$')
if awk -v t="${t:-9}" 'BEGIN { exit !(t >= 1.0 && t <= 1.2) }'; then
    echo "windows: countasync took $t s"
else
    echo "windows: countasync took ${t:-?} s, not 1.00-1.20"; fail=1
fi

echo "windows: $([ $fail = 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - start )) s"
exit $fail
