#!/usr/bin/env bash
# Microcontroller (`make mcu`): platform/mcu/blinky.c, async.h with
# ASYNC_NO_OS on a bare Cortex-M3, run under qemu-system-arm on the
# mps2-an385 board model: the loop's clock is the SysTick count, its idle
# wait is WFI, output goes through semihosting.  Own startup code and linker
# script (startup.c, mps2-an385.ld); newlib gives memcpy/memset only.
#
# Runs, each compared (all but the "info:" lines) with blinky.expected and
# checked for exit status 0:
#   switch, labels, no-introspection   the two coroutine backends, and
#                  ASYNC_NO_INTROSPECTION; under -icount shift=0,sleep=off
#                  (virtual time from the instruction count; while the CPU
#                  sleeps in WFI, time jumps to the next SysTick): exact and
#                  instant
#   switch-realtime  the switch build again in real time (3 s), SysTick
#                  paced by the host clock: the same lines, each at most
#                  50 ms late (a busy host delays QEMU), never early
# Then the flash and RAM figures: arm-none-eabi-size of each build and of
# baseline.c (the same startup without async.h), the code of each task's
# coroutine, and the sizes and stack high-water mark the program prints.
#
# Usage, from the repository root:  bash platform/mcu/run.sh [OUTDIR]
#   OUTDIR   default build/platform/mcu
set -u
cd "$(dirname "$0")/../.." || exit 1
out=${1:-build/platform/mcu}
warn="-Wall -Wextra -Wpedantic -Werror"
start=$(date +%s)
mkdir -p "$out/logs" || exit 1
rm -f "$out"/logs/*
for f in /usr/bin/arm-none-eabi-gcc /usr/bin/qemu-system-arm \
         /usr/lib/arm-none-eabi/newlib/thumb/v7-m/nofp/libc_nano.a; do
    [ -e "$f" ] || { echo "mcu: missing $f (make mcu installs the tools)"; exit 1; }
done

cc="arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -std=c99 $warn -Os -g -ffreestanding -ffunction-sections -fdata-sections -I. -Iplatform/mcu"
link="-nostartfiles --specs=nano.specs -T platform/mcu/mps2-an385.ld -Wl,--gc-sections"
qemu="qemu-system-arm -M mps2-an385 -nographic -monitor none -serial none -chardev stdio,id=sh0 -semihosting-config enable=on,target=native,chardev=sh0"

# ---- build --------------------------------------------------------------------------
fail=0
variants=("switch|" "labels|-DASYNC_LABELS=1" "no-introspection|-DASYNC_NO_INTROSPECTION=1"
          "timer-wheel|-DASYNC_TIMER_WHEEL=1")
build() { # NAME FLAGS SOURCE
    local o=$out/$1
    # shellcheck disable=SC2086
    $cc $2 -c "$3" -o "$o.o" && $cc -c platform/mcu/startup.c -o "$out/startup.o" &&
    $cc $link "$o.o" "$out/startup.o" -Wl,-Map="$o.map" -o "$o.elf" -lc_nano -lgcc
}
for v in "${variants[@]}"; do
    name=${v%%|*}
    if ! build "$name" "${v#*|}" platform/mcu/blinky.c > "$out/logs/build-$name.log" 2>&1; then
        echo "mcu: build of $name FAILED:"; head -20 "$out/logs/build-$name.log"; exit 1
    fi
    # The program may use the board, memcpy/memset and libgcc's helpers: no libc.
    bad=$(arm-none-eabi-nm -u "$out/$name.o" | awk '{print $2}' |
          grep -vE '^(board_[a-z_]+|memcpy|memset|__aeabi_[a-z0-9]+|__udivmoddi4)$')
    [ -z "$bad" ] || { echo "mcu: $name needs more than memcpy/memset: $bad"; exit 1; }
done
build baseline "" platform/mcu/baseline.c > "$out/logs/build-baseline.log" 2>&1 ||
    { echo "mcu: build of baseline FAILED:"; head -20 "$out/logs/build-baseline.log"; exit 1; }

# ---- run ----------------------------------------------------------------------------
results=()
# Real time: the same lines, each time at most SLACK ms late, never early
# (QEMU's SysTick follows the host clock, and the host may be busy).
late_ok() { # EXPECTED GOT SLACK
    awk -v slack="$3" '
        function t(s) { return match(s, /^ *[0-9]+ ms  /) ? s + 0 : -1 }
        function rest(s) { sub(/^ *[0-9]+ ms  /, "", s); return s }
        NR == FNR { e[FNR] = $0; ne = FNR; next }
        { ng = FNR; x = e[FNR]
          if (t(x) < 0 || t($0) < 0) { if (x != $0) bad = 1 }
          else if (rest(x) != rest($0) || t($0) < t(x) || t($0) > t(x) + slack) bad = 1 }
        END { exit bad || ng != ne }' "$1" "$2"
}
run() { # NAME ELF QEMU-FLAGS [SLACK]
    local name=$1 t0 rc ok=1 note
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    timeout 60 $qemu $3 -kernel "$2" > "$out/logs/$name.out" 2> "$out/logs/$name.err"
    rc=$?
    grep -v '^info:' "$out/logs/$name.out" > "$out/logs/$name.compared"
    if [ $rc != 0 ]; then ok=0; note="exit status $rc"; fi
    if [ -n "${4:-}" ]; then
        late_ok platform/mcu/blinky.expected "$out/logs/$name.compared" "$4" ||
            { ok=0; note="${note:+$note; }output differs (beyond $4 ms late)"; }
    elif ! cmp -s "$out/logs/$name.compared" platform/mcu/blinky.expected; then
        ok=0; note="${note:+$note; }output differs"
    fi
    note=${note:-"as expected; $(sed -n 's/^info: SysTick/SysTick/p' "$out/logs/$name.out"); $(sed -n 's/^info: latest/latest/p' "$out/logs/$name.out")"}
    results+=("$(printf '%-18s %-5s %5.1fs  %s' "$name" "$([ $ok = 1 ] && echo PASS || echo FAIL)" \
                 "$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { print (b - a) / 1e9 }')" "$note")")
    if [ $ok = 0 ]; then
        fail=1
        echo "---- $name: exit status $rc; diff against platform/mcu/blinky.expected:"
        diff platform/mcu/blinky.expected "$out/logs/$name.compared" | head -20
        head -5 "$out/logs/$name.err"
    fi
}
for v in "${variants[@]}"; do
    run "${v%%|*}" "$out/${v%%|*}.elf" "-icount shift=0,sleep=off"
done
run switch-realtime "$out/switch.elf" "" 50

# ---- sizes ------------------------------------------------------------------------------
sizes() { # ELF: "text data bss stack" in bytes (flash = text + data)
    arm-none-eabi-size -A "$1" | awk '
        $1 == ".text" || $1 == ".ARM.exidx" { t += $2 }
        $1 == ".data" { d = $2 } $1 == ".bss" { b = $2 } $1 == ".stack" { s = $2 }
        END { print t, d, b, s }'
}
info() { sed -n "s/^info: $2//p" "$out/logs/$1.out"; }
read -r bt bd bb _ <<< "$(sizes "$out/baseline.elf")"
{
    echo "Cortex-M3 (mps2-an385), arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpversion) -Os, newlib-nano memcpy/memset"
    printf '%-18s %7s %6s %6s %9s %9s %7s %s\n' build flash data bss "+flash" "+RAM" stack "sizeof: task frame loop queue"
    for v in "${variants[@]}"; do
        name=${v%%|*}
        read -r t d b _ <<< "$(sizes "$out/$name.elf")"
        printf '%-18s %7d %6d %6d %9d %9d %7s %s\n' "$name" $((t + d)) "$d" "$b" \
            $((t + d - bt - bd)) $((d + b - bd - bb)) "$(info "$name" 'stack high-water mark ' | awk '{print $1}')" \
            "$(for k in async_task async_frame async_loop async_queue; do info "$name" "sizeof($k) = "; done | tr '\n' ' ')"
    done
    printf '%-18s %7d %6d %6d\n' baseline $((bt + bd)) "$bd" "$bb"
    echo "flash = .text + .ARM.exidx + .data (its initial values); data/bss = RAM; +flash, +RAM = more than baseline.c"
    echo "(same startup, SysTick, WFI, semihosting, no async.h); stack = high-water mark in bytes"
    echo "(the ${variants[0]%%|*} build reserves $(sizes "$out/switch.elf" | awk '{print $4}') bytes of stack)."
    echo "Per task (switch build): RAM = sizeof(async_task) + its state struct:"
    for st in blinker sampler logger; do
        printf '  %-8s async_task %s + state %s bytes; code of %s_fn %s bytes (shared by tasks running it)\n' "$st" \
            "$(info switch 'sizeof(async_task) = ')" "$(info switch "sizeof(struct $st) = ")" "$st" \
            "$(arm-none-eabi-nm -S -t d "$out/switch.elf" | awk -v f="${st}_fn" '$4 == f { print $2 + 0 }')"
    done
} > "$out/sizes.txt"

echo
printf '%s\n' "${results[@]}"
echo
cat "$out/sizes.txt"
echo "mcu: $(($(date +%s) - start)) s"
[ $fail = 0 ] && echo "mcu: all passed" || echo "mcu: FAILED"
exit $fail
