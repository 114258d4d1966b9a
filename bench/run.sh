#!/usr/bin/env bash
# bench/run.sh - the async.h benchmark suite (what `make bench` runs).
#
#   bash bench/run.sh            full run: bench/RESULTS.md, bench/results.png
#   QUICK=1 bash bench/run.sh    smoke test (< 60 s): every program must run
#                                and report; build/bench/RESULTS-quick.md
#
# Environment: CC (default cc), QUICK (1 = smoke mode), ROUNDS (repetitions;
# default 5, 1 in QUICK mode).  Figures never fail the run: only a program
# that fails to build, crashes, times out or prints no RESULT line does.
#
# Every workload is run ROUNDS times with the implementations interleaved
# (A B C A B C ...), so that noise on this shared machine hits all alike;
# bench/report.py turns the raw results into medians with min-max, ratios to
# async.h and the met/missed marks against async.h's targets.
set -u
cd "$(dirname "$0")/.." || exit 1

CC=${CC:-cc}
QUICK=${QUICK:-0}
[ "$QUICK" = 1 ] || QUICK=0
OUT=build/bench
RAW=$OUT/raw
START=$(date +%s)

if [ "$QUICK" = 1 ]; then
    ROUNDS=${ROUNDS:-1}
    W1_SLEEP=0.1 W2_N=20000 W3_N=10000 W4_N=10000 W5_N=50 W6_CONNS=20 W6_TENTHS=5
    TIMEOUT=40
    REPORT=$OUT/RESULTS-quick.md
else
    ROUNDS=${ROUNDS:-5}
    W1_SLEEP=1 W2_N=calibrate W3_N=1000000 W4_N=1000000 W5_N=1000 W6_CONNS=100 W6_TENTHS=30
    TIMEOUT=300
    REPORT=bench/RESULTS.md
fi

rm -rf "$RAW"
mkdir -p "$RAW"
LOG=$RAW/log.txt
: >"$LOG"
FAILED=0
note() { echo "bench: $*"; echo "$*" >>"$RAW/notes.txt"; }

# ---- tools: install what is missing from Debian, or say how and skip -----
have() { command -v "$1" >/dev/null 2>&1; }
have_libuv() { [ -f /usr/include/uv.h ] || pkg-config --exists libuv 2>/dev/null; }
missing=()
have hyperfine || missing+=(hyperfine)
have_libuv || missing+=(libuv1-dev)
have python3 || missing+=(python3)
have node || missing+=(nodejs)
[ "$QUICK" = 1 ] || have gnuplot || missing+=(gnuplot-nox)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && have apt-get; then
        echo "bench: installing ${missing[*]}"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq "${missing[@]}"; } >>"$LOG" 2>&1 ||
            echo "bench: apt-get failed (see $LOG); skipping what is missing"
    else
        echo "bench: missing ${missing[*]}; to get them run:"
        echo "    sudo apt-get install ${missing[*]}"
    fi
fi
have python3 || { echo "bench: python3 is needed for the report" >&2; exit 1; }
# The real interpreter, not a wrapper script (pyenv's shim costs 100+ ms of
# start-up, which would be billed to asyncio in W1).
PY=$(python3 -c 'import sys; print(sys.executable)')

# ---- build ----------------------------------------------------------------
echo "bench: building into $OUT with $CC -O2"
CFLAGS=(-O2 -Wall -Wextra -I.)
build() { # name, extra link flags...
    local name=$1
    shift
    # shellcheck disable=SC2086 # CC may carry words of its own ("ccache cc")
    $CC "${CFLAGS[@]}" -o "$OUT/$name" "bench/$name.c" "$@" >>"$OUT/build-$name.log" 2>&1 ||
        { echo "bench: BUILD FAILED: $name" >&2; cat "$OUT/build-$name.log" >&2; return 1; }
    # A warning is worth seeing even when the build succeeds.
    [ -s "$OUT/build-$name.log" ] && cat "$OUT/build-$name.log" >&2
    return 0
}
rm -f "$OUT"/build-*.log
pids=()
for p in rusage probe w1_empty w1_sync w1_async w2_async w3_async w4_async \
         w5_async w5_sync w6_async w6_load; do
    build "$p" & pids+=($!)
done
for p in w1_pthread w4_pthread; do build "$p" -pthread & pids+=($!); done
if have_libuv; then
    for p in w1_uv w2_uv w3_uv w4_uv w5_uv w6_uv; do build "$p" -luv & pids+=($!); done
fi
for pid in "${pids[@]}"; do wait "$pid" || FAILED=1; done
[ "$FAILED" = 0 ] || { echo "bench: build failed" >&2; exit 1; }
HAVE_GO=0
if have go; then
    HAVE_GO=1
    for w in 1 2 3 4 5; do
        go build -o "$OUT/w${w}_go" "bench/w${w}_go.go" >>"$LOG" 2>&1 ||
            { echo "bench: BUILD FAILED: w${w}_go.go" >&2; exit 1; }
    done
fi

# ---- which implementations run ---------------------------------------------
# Names as they appear in the report; async.h first, then peers.
IMPLS=("async.h")
if have_libuv; then IMPLS+=(libuv); else note "libuv: libuv1-dev not installed, skipped"; fi
IMPLS+=(python)
if have node; then IMPLS+=(node); else note "Node.js: not installed, skipped"; fi
if [ "$HAVE_GO" = 1 ]; then
    IMPLS+=(go)
else
    note "Go: not installed here (and not fetched), so the Go programs (bench/w*_go.go) were skipped"
fi

# cmd W IMPL: the command line of workload W for IMPL (empty: not in W).
cmd() {
    local w=$1 impl=$2
    case "$impl" in
        async.h) echo "$OUT/${w}_async" ;;
        async.h-slack1) echo "$OUT/${w}_async" ;;
        libuv) echo "$OUT/${w}_uv" ;;
        python) echo "$PY bench/${w}_py.py" ;;
        node) echo "node bench/${w}_node.js" ;;
        go) echo "$OUT/${w}_go" ;;
        pthreads) echo "$OUT/${w}_pthread" ;;
        sync | empty) [ -x "$OUT/${w}_$impl" ] && echo "$OUT/${w}_$impl" ;;
    esac
}

# run W IMPL ROUND CMD...: run once, keep its RESULT line in results.tsv.
run() {
    local w=$1 impl=$2 round=$3 out line
    shift 3
    out=$(timeout "$TIMEOUT" "$@" 2>>"$LOG")
    local rc=$?
    line=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -n 1)
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        [ -n "$line" ] || rc="$rc, no RESULT line"
        echo "bench: FAILED: $w $impl (exit $rc): $*" >&2
        FAILED=1
        return 1
    fi
    printf '%s\t%s\t%s\t%s\n' "$w" "$impl" "$round" "${line#RESULT }" >>"$RAW/results.tsv"
    printf '  %-5s %-15s %s\n' "$w" "$impl" "${line#RESULT }"
}

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "cores: $(nproc)"
    echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
    echo "kernel: $(uname -sr)"
    echo "timer_slack_ns: $(cat /proc/self/timerslack_ns 2>/dev/null || echo unknown)"
    echo "page_fault_us: $("$OUT/probe" | sed -n 's/^RESULT page_fault_us=//p')"
    echo "compiler: $($CC --version | head -n 1) ($CC -O2)"
    echo "python: $("$PY" --version 2>&1) (asyncio)"
    have node && echo "node: $(node --version)"
    have_libuv && echo "libuv: $(pkg-config --modversion libuv 2>/dev/null ||
        dpkg-query -W -f '${Version}' libuv1-dev 2>/dev/null)"
    [ "$HAVE_GO" = 1 ] && echo "go: $(go version)"
    have hyperfine && echo "hyperfine: $(hyperfine --version)"
    have gnuplot && echo "gnuplot: $(gnuplot --version)"
    echo "rounds: $ROUNDS"
    echo "w1_sleep_s: $W1_SLEEP"
    echo "mode: $([ "$QUICK" = 1 ] && echo quick || echo full)"
} >"$RAW/machine.txt"

# ---- W1 count ---------------------------------------------------------------
# Whole processes: hyperfine times them (wall), bench/rusage measures CPU
# and peak RSS.  "empty" is a do-nothing process, the floor for all of them.
echo "bench: W1 count (3 x One, sleep ${W1_SLEEP} s, Two), $ROUNDS round(s)"
W1_IMPLS=(empty sync "${IMPLS[@]}" pthreads)
for r in $(seq "$ROUNDS"); do
    if have hyperfine; then
        hf=(hyperfine -N --runs 1 --style none --export-json "$RAW/w1_hf_r$r.json")
        for impl in "${W1_IMPLS[@]}"; do
            c=$(cmd w1 "$impl")
            [ "$impl" = empty ] || c="$c $W1_SLEEP"
            hf+=(-n "$impl" "$c")
        done
        "${hf[@]}" >>"$LOG" 2>&1 || { echo "bench: FAILED: hyperfine W1 (see $LOG)" >&2; FAILED=1; }
    fi
    for impl in "${W1_IMPLS[@]}"; do
        args=()
        [ "$impl" = empty ] || args=("$W1_SLEEP")
        # shellcheck disable=SC2046 # the command is split on purpose
        run w1 "$impl" "$r" "$OUT/rusage" $(cmd w1 "$impl") "${args[@]}"
    done
done
have hyperfine || note "hyperfine: not installed, W1 wall time is bench/rusage's (fork to wait4)"

# ---- W2 yield -----------------------------------------------------------------
echo "bench: W2 yield (2 tasks switching through the scheduler)"
declare -A N2
for impl in "${IMPLS[@]}"; do
    if [ "$W2_N" != calibrate ]; then
        N2[$impl]=$W2_N
        continue
    fi
    # Scale n so that one run takes about a second: grow it until a run
    # takes 0.2 s, then extrapolate.
    n=1000
    while :; do
        # shellcheck disable=SC2046
        el=$(timeout "$TIMEOUT" $(cmd w2 "$impl") "$n" 2>>"$LOG" |
             sed -n 's/^RESULT .*elapsed_s=\([0-9.]*\).*/\1/p')
        [ -n "$el" ] || { echo "bench: FAILED: w2 $impl calibration" >&2; FAILED=1; n=1000; break; }
        if awk -v e="$el" 'BEGIN { exit !(e >= 0.2) }' || [ "$n" -ge 4000000000 ]; then
            n=$(awk -v n="$n" -v e="$el" 'BEGIN { printf "%d", n / e }')
            break
        fi
        n=$((n * 10))
    done
    N2[$impl]=$n
    echo "  w2    $impl: n = $n"
done
for r in $(seq "$ROUNDS"); do
    for impl in "${IMPLS[@]}"; do
        # shellcheck disable=SC2046
        run w2 "$impl" "$r" $(cmd w2 "$impl") "${N2[$impl]}"
    done
done

# ---- W3 spawn -------------------------------------------------------------------
echo "bench: W3 spawn ($W3_N trivial tasks)"
for r in $(seq "$ROUNDS"); do
    for impl in "${IMPLS[@]}"; do
        # shellcheck disable=SC2046
        run w3 "$impl" "$r" $(cmd w3 "$impl") "$W3_N"
    done
done

# ---- W4 sleepers ------------------------------------------------------------------
echo "bench: W4 sleepers ($W4_N tasks sleeping 0-1000 ms)"
for r in $(seq "$ROUNDS"); do
    for impl in "${IMPLS[@]}" pthreads; do
        # shellcheck disable=SC2046
        run w4 "$impl" "$r" $(cmd w4 "$impl") "$W4_N"
    done
done

# ---- W5 timer accuracy ------------------------------------------------------------
# "sync" is a bare clock_nanosleep: the kernel's floor.  "async.h-slack1" is
# async.h with the process timer slack set to 1 ns, a diagnostic.
echo "bench: W5 timer accuracy ($W5_N sleeps of 1 ms)"
for r in $(seq "$ROUNDS"); do
    for impl in sync "${IMPLS[@]}" async.h-slack1; do
        extra=()
        [ "$impl" = async.h-slack1 ] && extra=(1)
        # shellcheck disable=SC2046
        run w5 "$impl" "$r" $(cmd w5 "$impl") "$W5_N" "${extra[@]}"
    done
done

# ---- W6 echo ------------------------------------------------------------------------
# Each implementation's echo server on a free loopback port; the same load
# generator (bench/w6_load.c) keeps W6_CONNS connections busy with 64-byte
# round trips for W6_TENTHS tenths of a second.
echo "bench: W6 echo ($W6_CONNS connections, $W6_TENTHS tenths of a second each)"
w6_server() { # IMPL PORT: the server's command line
    case "$1" in
        async.h) echo "$OUT/w6_async $2" ;;
        libuv) echo "$OUT/w6_uv $2" ;;
        python) echo "$PY bench/w6_py.py $2" ;;
    esac
}
port=$((20000 + $$ % 20000))
for r in $(seq "$ROUNDS"); do
    for impl in "${IMPLS[@]}"; do
        c=$(w6_server "$impl" "$port")
        [ -n "$c" ] || continue
        # shellcheck disable=SC2086
        $c >"$RAW/w6_server.out" 2>>"$LOG" &
        spid=$!
        for _ in $(seq 100); do grep -q READY "$RAW/w6_server.out" 2>/dev/null && break; sleep 0.05; done
        run w6 "$impl" "$r" "$OUT/w6_load" "$port" "$W6_CONNS" "$W6_TENTHS"
        kill "$spid" 2>/dev/null
        wait "$spid" 2>/dev/null
        port=$((port + 1))
    done
done

# ---- report ---------------------------------------------------------------------------
END=$(date +%s)
echo "suite_seconds: $((END - START))" >>"$RAW/machine.txt"
PNG=
if [ "$QUICK" = 0 ]; then
    if have gnuplot; then PNG=bench/results.png; else note "gnuplot: not installed, no results.png"; fi
fi
"$PY" bench/report.py "$RAW" "$REPORT" ${PNG:+"$PNG"} || FAILED=1
echo "bench: report in $REPORT${PNG:+ and $PNG}; raw data and log in $RAW ($((END - START)) s)"
if [ "$FAILED" != 0 ]; then
    echo "bench: FAILED (see messages above and $LOG)" >&2
    exit 1
fi
exit 0
