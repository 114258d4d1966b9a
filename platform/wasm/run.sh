#!/usr/bin/env bash
# WebAssembly (`make wasm`): async.h built with emscripten and run under node,
# each program's output compared with the same program built natively.
#
#   countasync       --virtual (exact) and in real time (the lines, and the
#                    reported time within 1.00..1.25 s)
#   queue            --virtual, exact
#   model_main       tests/model.h without Criterion (platform/wasm/model_main.c):
#                    20,000 seeds and the planted bugs, with both coroutine
#                    backends; its totals must equal the native run's
#   host_driven      the loop driven from node's event loop through
#                    async_step / async_next_deadline and setTimeout, never
#                    blocking (platform/wasm/host_driven.c + host_driven.js);
#                    output equal to host_driven.expected, and to the native
#                    build, whose host is a poll() loop
#   to_thread        with -pthread (emscripten threads on node's
#                    worker_threads), in real time: the ticker keeps ticking
#                    while the worker blocks (as tests/test_examples.c checks)
#   tsan_threads     tests/tsan_threads.c with -pthread: worker jobs and
#                    calls from other threads into the loop
#   net, net-pthread tests/test_net.c on tests/unit_main.c's runner (one node
#                    process per test, through tests/unit_main.js): the
#                    EBADF codes, and with -pthread the worker-pool tests;
#                    exit status 0 and every listed test passing.  Its TCP
#                    tests are compiled out (NET_TCP there says why)
#
# emscripten defines __unix__ (not __linux__), so async.h compiles its I/O
# part with the poll() backend; strict C99 hides the POSIX clocks there, so
# the builds define _POSIX_C_SOURCE=200809L (README rule 10).  Two traps of
# Debian's emcc 3.1.6 with node 20: its optimizer needs NODE_PATH to find
# acorn, and its loader cannot fetch() a .wasm file from node, hence
# -sSINGLE_FILE=1 (or, with threads, -sWASM_ASYNC_COMPILATION=0).
#
# Usage, from the repository root:  bash platform/wasm/run.sh [OUTDIR]
#   OUTDIR   default build/platform/wasm
set -u
cd "$(dirname "$0")/../.." || exit 1
out=${1:-build/platform/wasm}
warn="-Wall -Wextra -Wpedantic -Werror"
start=$(date +%s)
mkdir -p "$out/logs" "$out/native" "$out/mt" || exit 1
rm -f "$out"/logs/*
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
for f in /usr/bin/emcc /usr/bin/node /usr/share/nodejs/acorn; do
    [ -e "$f" ] || { echo "wasm: missing $f (make wasm installs emscripten)"; exit 1; }
done

# ---- build, two at a time ---------------------------------------------------------
em="emcc -std=c99 -D_POSIX_C_SOURCE=200809L $warn -O2 -I. -sENVIRONMENT=node"
plain="$em -sSINGLE_FILE=1 -sEXIT_RUNTIME=1"
threads="$em -pthread -sPTHREAD_POOL_SIZE=8 -sINITIAL_MEMORY=67108864 -sPROXY_TO_PTHREAD=1 -sEXIT_RUNTIME=1 -sWASM_ASYNC_COMPILATION=0"
module="$em -sSINGLE_FILE=1 -sMODULARIZE=1 -sEXPORT_NAME=createHostDriven --no-entry"
unit="-DASYNC_TEST_PORTABLE --js-library tests/unit_main.js tests/unit_main.c"
native="${CC:-cc} -std=c99 $warn -O2 -I."
builds=(
    "countasync|$plain examples/countasync.c -o $out/countasync.js"
    "queue|$plain examples/queue.c -o $out/queue.js"
    "model|$plain -Itests platform/wasm/model_main.c -o $out/model.js"
    "model-labels|$plain -DASYNC_LABELS=1 -Itests platform/wasm/model_main.c -o $out/model-labels.js"
    "host_driven|$module platform/wasm/host_driven.c -o $out/host_driven_wasm.js"
    "to_thread|$threads examples/to_thread.c -o $out/mt/to_thread.js"
    "tsan_threads|$threads tests/tsan_threads.c -o $out/mt/tsan_threads.js"
    "net|$plain $unit tests/test_net.c -o $out/net.js"
    "net-pthread|$threads $unit tests/test_net.c -o $out/mt/net.js"
    "native-countasync|$native examples/countasync.c -o $out/native/countasync"
    "native-queue|$native examples/queue.c -o $out/native/queue"
    "native-model|$native -Itests platform/wasm/model_main.c -o $out/native/model"
    "native-model-labels|$native -DASYNC_LABELS=1 -Itests platform/wasm/model_main.c -o $out/native/model-labels"
    "native-host_driven|$native platform/wasm/host_driven.c -o $out/native/host_driven"
)
echo "wasm: $(emcc --version | head -1), node $(node --version); building ${#builds[@]} programs"
t0=$(date +%s)
for b in "${builds[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
    name=${b%%|*}
    (bash -c "${b#*|}" > "$out/logs/build-$name.log" 2>&1; echo $? > "$out/logs/build-$name.rc") &
done
wait
bfail=0
for b in "${builds[@]}"; do
    name=${b%%|*}
    if [ "$(cat "$out/logs/build-$name.rc")" != 0 ]; then
        echo "wasm: build of $name FAILED: ${b#*|}"
        head -20 "$out/logs/build-$name.log"
        bfail=1
    fi
done
[ $bfail = 0 ] || exit 1
echo "wasm: built in $(($(date +%s) - t0)) s"

# ---- run and compare ------------------------------------------------------------------
fail=0
results=()
result() { # NAME OK NOTE
    local r=PASS
    [ "$2" = 1 ] || { r=FAIL; fail=1; }
    results+=("$(printf '%-24s %-5s %s' "$1" "$r" "$3")")
}
same() { # NAME FILE_A FILE_B NOTE: compare two outputs
    if cmp -s "$2" "$3"; then
        result "$1" 1 "$4"
    else
        result "$1" 0 "output differs: diff $2 $3"
        diff "$2" "$3" | head -20
    fi
}
L=$out/logs

node "$out/countasync.js" --virtual > "$L/countasync-virtual.wasm" 2>&1
"$out/native/countasync" --virtual > "$L/countasync-virtual.native" 2>&1
same countasync-virtual "$L/countasync-virtual.wasm" "$L/countasync-virtual.native" "equal to native"

# Real time: async_run's idle is emscripten's clock_nanosleep, which spins.
TIMEFORMAT='%R %U %S'
{ time node "$out/countasync.js" > "$L/countasync-real.wasm" 2>&1; } 2> "$L/countasync-real.time"
read -r wall usr sys < "$L/countasync-real.time"
secs=$(sed -n 's/^countasync executed in \([0-9.]*\) seconds\.$/\1/p' "$L/countasync-real.wasm")
if [ "$(head -6 "$L/countasync-real.wasm")" = "$(head -6 "$L/countasync-virtual.native")" ] &&
   awk -v s="${secs:-0}" 'BEGIN { exit !(s >= 1.0 && s < 1.25) }'; then ok=1; else ok=0; fi
result countasync-real-time $ok "executed in ${secs:-?} s; process: ${wall} s wall, $(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }') s CPU (the blocking idle spins)"

node "$out/queue.js" --virtual > "$L/queue.wasm" 2>&1
"$out/native/queue" --virtual > "$L/queue.native" 2>&1
same queue-virtual "$L/queue.wasm" "$L/queue.native" "equal to native ($(wc -l < "$L/queue.wasm") lines)"

for m in model model-labels; do
    t0=$(date +%s)
    node "$out/$m.js" > "$L/$m.wasm" 2> "$L/$m.wasm.err"
    rc=$?
    "$out/native/$m" > "$L/$m.native" 2> "$L/$m.native.err"
    nrc=$?
    if [ $rc = 0 ] && [ $nrc = 0 ]; then
        same "$m" "$L/$m.wasm" "$L/$m.native" "equal to native; $(head -1 "$L/$m.wasm" | sed 's/^model: //') ($(($(date +%s) - t0)) s)"
    else
        result "$m" 0 "exit status: wasm $rc, native $nrc"
        cat "$L/$m.wasm" "$L/$m.wasm.err" | head -30
    fi
done

{ time node platform/wasm/host_driven.js "$out/host_driven_wasm.js" > "$L/host_driven.wasm" 2> "$L/host_driven.host"; } 2> "$L/host_driven.time"
rc=$?
"$out/native/host_driven" > "$L/host_driven.native" 2>&1
nrc=$?
if [ $rc = 0 ] && [ $nrc = 0 ] && cmp -s "$L/host_driven.wasm" platform/wasm/host_driven.expected &&
   cmp -s "$L/host_driven.native" platform/wasm/host_driven.expected; then ok=1; else ok=0; fi
result host_driven $ok "equal to native and expected; $(cat "$L/host_driven.host")"
if [ $ok = 0 ]; then
    echo "---- host_driven (exit: node $rc, native $nrc)"
    diff platform/wasm/host_driven.expected "$L/host_driven.wasm"
    diff platform/wasm/host_driven.expected "$L/host_driven.native"
    cat "$L/host_driven.host"
fi

# Real time, as tests/test_examples.c checks it: the ticker keeps ticking
# (at least 3 ticks) while the worker thread blocks for 0.5 s.
(cd "$out/mt" && timeout 60 node to_thread.js) > "$L/to_thread.wasm" 2>&1
rc=$?
ticks=$(sed '/checksum = /q' "$L/to_thread.wasm" | grep -c 'ticker: tick')
if [ $rc = 0 ] && [ "$ticks" -ge 3 ] && grep -q '^done in' "$L/to_thread.wasm"; then ok=1; else ok=0; fi
result to_thread-pthread $ok "$ticks ticks while the worker blocked; $(tail -1 "$L/to_thread.wasm")"
[ $ok = 1 ] || { echo "---- to_thread (exit $rc):"; tail -12 "$L/to_thread.wasm"; }

(cd "$out/mt" && timeout 60 node tsan_threads.js) > "$L/tsan_threads.wasm" 2>&1
rc=$?
result tsan_threads-pthread "$([ $rc = 0 ] && echo 1)" "$(tail -1 "$L/tsan_threads.wasm")"

# The runner's verdict and its count: each test that applies on wasm must run
# and pass (EBADF; and with -pthread the two worker-pool tests).
for entry in net:.:1 net-pthread:mt:3; do
    IFS=: read -r name dir want <<< "$entry"
    t0=$(date +%s)
    (cd "$out/$dir" && timeout 300 node net.js) > "$L/$name.wasm" 2>&1
    rc=$?
    syn=$(grep -a 'Synthesis' "$L/$name.wasm")
    passing=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<< "$syn")
    listed=$( (cd "$out/$dir" && node net.js --list) | wc -l)
    if [ $rc = 0 ] && [ "$passing" = "$want" ] && [ "$listed" = "$want" ]; then ok=1; else ok=0; fi
    result "$name" $ok "${syn#*Synthesis: } (exit $rc, $want expected; $(($(date +%s) - t0)) s)"
    [ $ok = 1 ] || { echo "---- $name (exit $rc, $listed listed):"; tail -20 "$L/$name.wasm"; }
done

echo
printf '%s\n' "${results[@]}"
echo "wasm: $(($(date +%s) - start)) s"
[ $fail = 0 ] && echo "wasm: all passed" || echo "wasm: FAILED"
exit $fail
