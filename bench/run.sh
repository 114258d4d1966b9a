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

# Each workload's arguments (full and QUICK) are in bench/workloads.py.
if [ "$QUICK" = 1 ]; then
    ROUNDS=${ROUNDS:-1}
    TIMEOUT=40
    REPORT=$OUT/RESULTS-quick.md
else
    ROUNDS=${ROUNDS:-5}
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
have go || missing+=(golang-go)
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
# Every C program of a workload (bench/wN_*.c) by its suffix, the helpers,
# and every Go program when Go is here.
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
for src in bench/rusage.c bench/probe.c bench/w[0-9]*_*.c; do
    name=$(basename "$src" .c)
    case $name in
        *_uv) if have_libuv; then build "$name" -luv & pids+=($!); fi ;;
        *_pthread) build "$name" -pthread & pids+=($!) ;;
        *) build "$name" & pids+=($!) ;;
    esac
done
for pid in "${pids[@]}"; do wait "$pid" || FAILED=1; done
[ "$FAILED" = 0 ] || { echo "bench: build failed" >&2; exit 1; }
HAVE_GO=0
if have go; then
    HAVE_GO=1
    for src in bench/w[0-9]*_go.go; do
        go build -o "$OUT/$(basename "$src" .go)" "$src" >>"$LOG" 2>&1 ||
            { echo "bench: BUILD FAILED: $src" >&2; exit 1; }
    done
fi

# ---- which implementations run ---------------------------------------------
# Names as they appear in the report; async.h first, then peers.  Each runs
# in the workloads it has a program for.
IMPLS=("async.h")
if have_libuv; then IMPLS+=(libuv); else note "libuv: libuv1-dev not installed, skipped"; fi
IMPLS+=(python)
if have node; then IMPLS+=(node); else note "Node.js: not installed, skipped"; fi
if [ "$HAVE_GO" = 1 ]; then
    IMPLS+=(go)
else
    note "Go: not installed (golang-go could not be installed), so the Go programs (bench/w*_go.go) were skipped"
fi
IMPLS+=(pthreads)

# The suffix of each implementation's programs (bench/workloads.py).
declare -A SUFFIX
while read -r impl suffix; do SUFFIX[$impl]=$suffix; done < <("$PY" bench/workloads.py programs)

# cmd W IMPL: the command line of workload W's IMPL program (empty: none).
cmd() {
    local w=$1 impl=$2 suffix=${SUFFIX[$2]:-}
    [ -n "$suffix" ] && [ -f "bench/${w}_$suffix" ] || return 0
    case "$suffix" in
        *.py) echo "$PY bench/${w}_$suffix" ;;
        *.js) echo "node bench/${w}_$suffix" ;;
        *.go) [ "$HAVE_GO" = 1 ] && echo "$OUT/${w}_${suffix%.go}" ;;
        *) [ -x "$OUT/${w}_${suffix%.c}" ] && echo "$OUT/${w}_${suffix%.c}" ;;
    esac
}

# fail MESSAGE: say it now, and again at the end (CI shows the tail only).
fail() {
    echo "bench: FAILED: $*" >&2
    echo "$*" >>"$RAW/failures.txt"
    FAILED=1
}

# run W IMPL ROUND CMD...: run, keep its RESULT line in results.tsv.  A
# program that fails is run once more, so that one hiccup of a shared
# machine is told apart from a broken program: the first failure is noted
# (and shown at the end), only a second one fails the suite.
run() {
    local w=$1 impl=$2 round=$3 out line rc try
    shift 3
    for try in $(seq "${TRIES:-2}"); do
        local mark
        mark=$(($(wc -l <"$LOG") + 1))
        echo "== $w $impl round $round try $try: $*" >>"$LOG"
        out=$(timeout "$TIMEOUT" "$@" 2>>"$LOG")
        rc=$?
        line=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -n 1)
        [ $rc -ne 0 ] || [ -z "$line" ] || break
        [ -n "$line" ] || rc="$rc, no RESULT line"
        printf '%s\n' "$out" | tail -n 5 >>"$LOG"
        tail -n "+$mark" "$LOG" | head -n 15 >>"$RAW/failed-output.txt"
        if [ "$try" -lt "${TRIES:-2}" ]; then
            note "$w $impl round $round: failed once (exit $rc), run again: $*"
        elif [ "${TRIES:-2}" = 1 ]; then
            note "$w $impl round $round: failed (exit $rc): $*"
            return 1
        else
            fail "$w $impl (exit $rc, twice): $*"
            return 1
        fi
    done
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
    echo "mode: $([ "$QUICK" = 1 ] && echo quick || echo full)"
} >"$RAW/machine.txt"

# ---- the workloads (bench/workloads.py) ------------------------------------
# For each: NAMES[i] runs CMDS[i] (the program), then the workload's
# arguments, then EXTRA[i] (the extra arguments of a "last" entry: a
# diagnostic's own, after the n it shares with the others).
run_process() { # whole processes: hyperfine (wall), then bench/rusage
    local w=$1 r i hf
    for r in $(seq "$ROUNDS"); do
        if have hyperfine; then
            hf=(hyperfine -N --runs 1 --style none --export-json "$RAW/${w}_hf_r$r.json")
            for i in "${!NAMES[@]}"; do hf+=(-n "${NAMES[$i]}" "${CMDS[$i]} ${ARGS[*]} ${EXTRA[$i]}"); done
            "${hf[@]}" >>"$LOG" 2>&1 || { fail "hyperfine $w (see $LOG)"; }
        fi
        for i in "${!NAMES[@]}"; do
            # shellcheck disable=SC2086 # the command is split on purpose
            run "$w" "${NAMES[$i]}" "$r" "$OUT/rusage" ${CMDS[$i]} "${ARGS[@]}" ${EXTRA[$i]}
        done
    done
    have hyperfine || note "hyperfine: not installed, $w wall time is bench/rusage's (fork to wait4)"
}
run_plain() { # ROUNDS rounds, implementations interleaved; N_OF: n per name
    local w=$1 r i
    for r in $(seq "$ROUNDS"); do
        for i in "${!NAMES[@]}"; do
            # shellcheck disable=SC2086
            run "$w" "${NAMES[$i]}" "$r" ${CMDS[$i]} ${N_OF[$i]:+"${N_OF[$i]}"} "${ARGS[@]}" ${EXTRA[$i]}
        done
    done
}
calibrate() { # scale n per implementation so that one run takes about 1 s
    local w=$1 i n el
    for i in "${!NAMES[@]}"; do
        n=1000
        while :; do
            # shellcheck disable=SC2086
            el=$(timeout "$TIMEOUT" ${CMDS[$i]} "$n" ${EXTRA[$i]} 2>>"$LOG" |
                 sed -n 's/^RESULT .*elapsed_s=\([0-9.]*\).*/\1/p')
            [ -n "$el" ] || { fail "$w ${NAMES[$i]} calibration"; n=1000; break; }
            if awk -v e="$el" 'BEGIN { exit !(e >= 0.2) }' || [ "$n" -ge 4000000000 ]; then
                n=$(awk -v n="$n" -v e="$el" 'BEGIN { printf "%d", n / e }')
                break
            fi
            n=$((n * 10))
        done
        N_OF[i]=$n
        echo "  $w    ${NAMES[$i]}: n = $n"
    done
}
run_server() { # each server on a free loopback port, the load generator against it
    local w=$1 r i spid try ok
    for r in $(seq "$ROUNDS"); do
        for i in "${!NAMES[@]}"; do
            ok=0
            for try in 1 2; do # a second try with a fresh server on a fresh port
                # shellcheck disable=SC2086
                ${CMDS[$i]} "$port" ${EXTRA[$i]} >"$RAW/${w}_server.out" 2>>"$LOG" &
                spid=$!
                for _ in $(seq 100); do grep -q READY "$RAW/${w}_server.out" 2>/dev/null && break; sleep 0.05; done
                grep -q READY "$RAW/${w}_server.out" 2>/dev/null ||
                    note "$w ${NAMES[$i]}: server not READY on port $port after 5 s"
                TRIES=1 run "$w" "${NAMES[$i]}" "$r" "$OUT/${w}_load" "$port" "${ARGS[@]}" && ok=1
                kill "$spid" 2>/dev/null
                wait "$spid" 2>/dev/null
                port=$((port + 1))
                [ "$ok" = 0 ] || break
            done
            [ "$ok" = 1 ] || fail "$w ${NAMES[$i]}: twice (server: ${CMDS[$i]}; see $LOG)"
        done
    done
}
# Servers listen below 32768, where Linux never hands out ephemeral ports:
# a port in use by some connection's local end would make bind fail.
port=$((20000 + $$ % 10000))
while IFS='|' read -r -u 3 id kind title first last args; do
    read -r -a ARGS <<<"$args"
    echo "args_$id: $args" >>"$RAW/machine.txt"
    echo "bench: $title ($id $args), $ROUNDS round(s)"
    NAMES=() CMDS=() EXTRA=() N_OF=()
    for impl in $first "${IMPLS[@]}"; do
        c=$(cmd "$id" "$impl")
        [ -n "$c" ] && NAMES+=("$impl") && CMDS+=("$c") && EXTRA+=("")
    done
    for entry in $last; do # name:impl:extra,args
        IFS=: read -r name impl extra <<<"$entry"
        c=$(cmd "$id" "$impl")
        [ -n "$c" ] && NAMES+=("$name") && CMDS+=("$c") && EXTRA+=("${extra//,/ }")
    done
    case $kind in
        process) run_process "$id" ;;
        calibrate)
            if [ "${ARGS[0]}" = calibrate ]; then ARGS=("${ARGS[@]:1}"); calibrate "$id"; fi
            run_plain "$id" ;;
        plain) run_plain "$id" ;;
        server) run_server "$id" ;;
        *) fail "$id: unknown run kind $kind" ;;
    esac
done 3< <("$PY" bench/workloads.py shell "$QUICK")

# ---- report ---------------------------------------------------------------------------
END=$(date +%s)
echo "suite_seconds: $((END - START))" >>"$RAW/machine.txt"
PNG=
if [ "$QUICK" = 0 ]; then
    if have gnuplot; then PNG=bench/results.png; else note "gnuplot: not installed, no results.png"; fi
fi
"$PY" bench/report.py "$RAW" "$REPORT" ${PNG:+"$PNG"} || fail "bench/report.py"
echo "bench: report in $REPORT${PNG:+ and $PNG}; raw data and log in $RAW ($((END - START)) s)"
if [ -s "$RAW/notes.txt" ]; then
    echo "bench: notes:"
    sed 's/^/  /' "$RAW/notes.txt"
fi
if [ "$FAILED" != 0 ]; then
    if [ -s "$RAW/failed-output.txt" ]; then
        echo "bench: what the failed runs printed (all of it in $LOG):" >&2
        tail -n 60 "$RAW/failed-output.txt" | sed 's/^/  | /' >&2
    fi
    echo "bench: FAILED:" >&2
    sed 's/^/  /' "$RAW/failures.txt" >&2
    exit 1
fi
exit 0
