#!/usr/bin/env bash
# Portability matrix (`make portability`), at -Wall -Wextra -Wpedantic -Werror
# everywhere:
#   - the Criterion suite built and run with gcc and clang as C99, C11, C17
#     and C2x, and with g++ and clang++ as C++11 and C++20 (the test sources
#     compiled as C++), the two coroutine backends alternating so that each
#     compiler runs both;
#   - the suite built with gcc -m32 and run, both backends (under qemu-i386
#     when the kernel does not start 32-bit x86 programs itself);
#   - tests/freestanding.c, the core alone with ASYNC_NO_OS and a clock of its
#     own: compiled for a Cortex-M0 with arm-none-eabi-gcc -ffreestanding (and
#     linked against newlib's nosys stubs; the object may need nothing but
#     memcpy/memset and libgcc helpers), and built and run hosted with tcc,
#     gcc, clang and gcc -m32, both backends; it checks its own results.
#
# Installs what it needs from Debian (as root; otherwise prints the command):
# clang, libcriterion-dev, gcc-multilib, gcc-arm-none-eabi with newlib, tcc,
# libcurl4-openssl-dev (the areq examples), and qemu-user if -m32 programs
# need it.
# The i386 Criterion runtime is not installed system-wide: adding the i386
# architecture to dpkg makes every later `apt-get update` fail whenever the
# mirror's i386 security index is out of step, and Multi-Arch: same needs the
# i386 libraries at exactly the versions of the amd64 ones.  Instead its
# packages are downloaded with a private apt state and unpacked under OUTDIR
# (unless libcriterion-dev:i386 is installed already).
#
# Usage, from the repository root:  bash tests/portability.sh [OUTDIR]
#   OUTDIR      default build/port; everything built goes there
#   PORT_JOBS   builds run at once (default 2; the suites run one at a time)
#   PORT_ONLY   an extended regex: run only the cells whose names match
set -u
cd "$(dirname "$0")/.." || exit 1
out=${1:-build/port}
jobs=${PORT_JOBS:-2}
only=${PORT_ONLY:-}
warn="-Wall -Wextra -Wpedantic -Werror"
start=$(date +%s)
mkdir -p "$out/logs" "$out/status" || exit 1
rm -f "$out"/status/* "$out"/logs/*

# ---- tools -----------------------------------------------------------------

missing=()
want() { # file package: note the package if the file is missing
    [ -e "$1" ] || missing+=("$2")
}
want /usr/bin/gcc gcc
want /usr/bin/g++ g++
want /usr/bin/clang clang
want /usr/bin/clang++ clang
want /usr/include/criterion/criterion.h libcriterion-dev
want /usr/include/x86_64-linux-gnu/gnu/stubs-32.h gcc-multilib
want "$(gcc -m32 -print-libgcc-file-name 2>/dev/null || echo /nonexistent)" gcc-multilib
want /usr/bin/arm-none-eabi-gcc gcc-arm-none-eabi
want /usr/lib/arm-none-eabi/newlib/thumb/v6-m/nofp/nosys.specs libnewlib-arm-none-eabi
want /usr/bin/tcc tcc
want /usr/include/x86_64-linux-gnu/curl/curl.h libcurl4-openssl-dev # areq, areq_sync
install() { # PACKAGE...: apt-get install them (as root), or say how to
    local pkgs t0
    pkgs=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "portability: installing $pkgs"
        t0=$(date +%s)
        apt-get update -qq >/dev/null 2>&1 # a partly failed update still serves
        # No recommends: gcc-arm-none-eabi's would add 1.5 GB of C++ libraries.
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null ||
            { echo "portability: apt-get install $pkgs failed"; exit 1; }
        echo "portability: installed in $(($(date +%s) - t0)) s"
    else
        echo "portability: missing $pkgs: run 'sudo apt-get install $pkgs'"
        exit 1
    fi
}
if [ ${#missing[@]} -gt 0 ]; then install "${missing[@]}"; fi

# How the -m32 programs start.  Some x86-64 kernels do not run 32-bit x86
# programs at all (built without IA32 emulation, or booted with it off:
# "Exec format error"); then they run under qemu-i386 (qemu-user), with a
# binfmt handler of their own (platform/with-binfmt.sh, Linux 6.7 or later),
# since Criterion's workers and the examples' tests exec further -m32 programs.
m32_run="" # a command prefix for the -m32 suites and programs; empty: none
m32_how="natively"
echo 'int main(void) { return 0; }' > "$out/m32-probe.c"
if ! gcc -m32 "$out/m32-probe.c" -o "$out/m32-probe" > "$out/logs/m32-probe.log" 2>&1; then
    echo "portability: gcc -m32 cannot build a program (see $out/logs/m32-probe.log)"; exit 1
elif ! "$out/m32-probe" 2>> "$out/logs/m32-probe.log"; then
    [ -e /usr/bin/qemu-i386 ] || install qemu-user
    m32_run="unshare --user --map-root-user --mount bash $(pwd)/platform/with-binfmt.sh /usr/bin/qemu-i386"
    m32_how="under qemu-i386: this kernel does not start 32-bit x86 programs"
    # shellcheck disable=SC2086
    $m32_run "$out/m32-probe" 2>> "$out/logs/m32-probe.log" ||
        { echo "portability: cannot start -m32 programs, not even under qemu-i386 (see $out/logs/m32-probe.log)"; exit 1; }
fi
echo "portability: -m32 programs run $m32_how"
# Under qemu-i386 (qemu-user 7.2, Debian 12) a process that gets a signal sent
# from one of its own threads, or a storm of SIGALRM while threads block, can
# break in qemu's signal emulation: the process spins at exit (Criterion then
# reports "invalid state 'timeout'"), worker threads miss their wake-ups, the
# runner's own threads fail to join (EDEADLK).  A Criterion test that only
# raises SIGINT from a thread does it without async.h, so these tests are
# skipped there; they run in every native cell, on arm64 (qemu-aarch64), under
# ASan, TSan and valgrind (make check).
m32_skip='!(signals/a_signal_storm*|async_main/sigint_*|async_main/sigterm_*|async_main/a_handler_*|faults/a_sigalrm_storm*)'

# The i386 Criterion runtime (libcriterion3 and the libraries it links) for
# the -m32 suites; the headers are the amd64 package's (Multi-Arch: same).
m32_lib="" # -L/-rpath-link flags and LD_LIBRARY_PATH for the -m32 suites
m32_ready=0
i386_criterion() {
    local d lib apt pkgs t0
    if [ -e /usr/lib/i386-linux-gnu/libcriterion.so ]; then
        m32_ready=1 # libcriterion-dev:i386 is installed
        return 0
    fi
    d=$(pwd)/$out/i386
    lib=$d/root/usr/lib/i386-linux-gnu
    m32_lib="$lib:$d/root/lib/i386-linux-gnu"
    if [ -e "$lib/libcriterion.so" ]; then
        m32_ready=1
        return 0
    fi
    echo "portability: fetching the i386 Criterion runtime into $out/i386"
    t0=$(date +%s)
    rm -rf "$d" && mkdir -p "$d/lists/partial" "$d/archives/partial" "$d/debs" "$d/root"
    apt=(-o APT::Architecture=i386 -o APT::Architectures::=i386
         -o "Dir::State::Lists=$d/lists" -o "Dir::Cache::archives=$d/archives"
         -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
         -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
    # Errors from other indexes (an i386 security index mid-sync) are fine as
    # long as the packages below can be had.
    apt-get "${apt[@]}" update > "$out/logs/i386-apt.log" 2>&1
    # libcriterion3 and what it needs, less what gcc-multilib's libc6-i386 has
    pkgs=$(apt-cache "${apt[@]}" depends --recurse --no-recommends --no-suggests \
             --no-conflicts --no-breaks --no-replaces --no-enhances libcriterion3 2>>"$out/logs/i386-apt.log" |
           grep -v '^ ' | grep -vE '^(libc6|libgcc-s1|gcc-[0-9]+-base)$' | sort -u)
    # shellcheck disable=SC2086
    if ! echo "$pkgs" | grep -qx libcriterion3 ||
       ! (cd "$d/debs" && apt-get "${apt[@]}" download $pkgs) >> "$out/logs/i386-apt.log" 2>&1; then
        echo "portability: cannot fetch the i386 Criterion runtime (see $out/logs/i386-apt.log);"
        echo "  install it with: dpkg --add-architecture i386 && apt-get update && apt-get install libcriterion-dev:i386"
        return 1
    fi
    for f in "$d"/debs/*.deb; do dpkg-deb -x "$f" "$d/root" || return 1; done
    ln -sf libcriterion.so.3 "$lib/libcriterion.so"
    rm -rf "$d/lists" "$d/archives" "$d/debs"
    echo "portability: i386 runtime ready in $(($(date +%s) - t0)) s ($(echo "$pkgs" | wc -l) packages)"
    m32_ready=1
}

# ---- cells -----------------------------------------------------------------
# Each cell builds into $out and records its result in $out/status/NAME
# (build) and NAME.run; logs go to $out/logs.

cells=()   # every cell, in report order
runs=()    # suite cells: "name|env|binary|examples dir|CC for the misuse test|run prefix"

selected() { [ -z "$only" ] || [[ $1 =~ $only ]]; }

backend_flag() { [ "$1" = labels ] && echo "-DASYNC_LABELS=1"; }

# suite NAME COMPILER STD BACKEND EXAMPLES MISUSE_CC [c++|m32]
suite() {
    local name=$1 cc=$2 std=$3 backend=$4 ex=$5 mcc=$6 mode=${7:-}
    local lang="" link="-lcriterion" env="" run=""
    selected "$name" || return 0
    cells+=("$name")
    [ "$mode" = c++ ] && lang="-x c++"
    if [ "$mode" = m32 ]; then
        cc="$cc -m32"
        run=$m32_run
        if [ -n "$m32_lib" ]; then
            link="-L${m32_lib%%:*} -Wl,-rpath-link,$m32_lib -lcriterion"
            env="LD_LIBRARY_PATH=$m32_lib"
        fi
    fi
    [ "$backend" = labels ] && env="$env ASYNC_TEST_LABELS=1"
    echo "$cc -std=$std $warn -O2 $(backend_flag "$backend") -I. $lang tests/test_*.c -o $out/suite-$name $link" \
        > "$out/logs/$name.cmd"
    runs+=("$name|$env|$out/suite-$name|$ex|$mcc|$run")
}

# examples NAME COMPILER: the example programs test_examples.c runs.  areq
# and areq_sync link libcurl (tests/curl/ runs them, mk/curl.mk): built with
# -lcurl here, and skipped with -m32, for want of an i386 libcurl.
examples() {
    local name=$1 cc=$2 cmd f link
    selected "$name" || return 0
    cells+=("$name")
    mkdir -p "$out/$name"
    cmd=""
    for f in examples/*.c; do
        link=""
        case $f in
        examples/areq*.c)
            [[ $cc == *-m32* ]] && continue
            link=" -lcurl" ;;
        esac
        cmd="$cmd$cc -std=c99 $warn -O2 -I. $f -o $out/$name/$(basename "$f" .c)$link || rc=1; "
    done
    # the split-mode example: several files, async.h compiled in one of them
    cmd="$cmd$cc -std=c99 $warn -O2 -I. examples/split/*.c -o $out/$name/split || rc=1; "
    echo "rc=0; $cmd exit \$rc" > "$out/logs/$name.cmd"
}

# freestanding core: arm-none-eabi object (+ link), or a hosted build and run
arm() {
    local name=$1 backend=$2 o
    selected "$name" || return 0
    cells+=("$name")
    o=$out/$name
    cat > "$out/logs/$name.cmd" <<EOF
arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb -ffreestanding -std=c99 -Os $warn $(backend_flag "$backend") -I. -c tests/freestanding.c -o $o.o &&
bad=\$(arm-none-eabi-nm -u $o.o | awk '{print \$2}' | grep -vE '^(memcpy|memset|memmove|memcmp|__aeabi_[a-z0-9]+|__[a-z]+[sd]i[0-9])\$');
if [ -n "\$bad" ]; then echo "the core needs more than memcpy/memset and libgcc: \$bad"; exit 1; fi &&
arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb -Os --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections $o.o -o $o.elf &&
arm-none-eabi-size $o.o $o.elf
EOF
}
hosted() { # NAME COMPILER FLAGS BACKEND [RUN PREFIX]
    local name=$1 cc=$2 flags=$3 backend=$4 run=${5:-}
    selected "$name" || return 0
    cells+=("$name")
    echo "$cc $flags $(backend_flag "$backend") -DASYNC_NO_OS=1 -I. tests/freestanding.c -o $out/$name && $run $out/$name" \
        > "$out/logs/$name.cmd"
}

suite gcc-c99-switch gcc c99 switch "$out/examples-gcc" gcc
suite gcc-c11-labels gcc c11 labels "$out/examples-gcc" gcc
suite gcc-c17-switch gcc c17 switch "$out/examples-gcc" gcc
suite gcc-c2x-labels gcc c2x labels "$out/examples-gcc" gcc
suite clang-c99-labels clang c99 labels "$out/examples-clang" clang
suite clang-c11-switch clang c11 switch "$out/examples-clang" clang
suite clang-c17-labels clang c17 labels "$out/examples-clang" clang
suite clang-c2x-switch clang c2x switch "$out/examples-clang" clang
suite g++-c++11-switch g++ c++11 switch "$out/examples-gcc" gcc c++
suite g++-c++20-labels g++ c++20 labels "$out/examples-gcc" gcc c++
suite clang++-c++11-labels clang++ c++11 labels "$out/examples-clang" clang c++
suite clang++-c++20-switch clang++ c++20 switch "$out/examples-clang" clang c++
m32_cells=0
for n in gcc-m32-c99-switch gcc-m32-c11-labels examples-gcc-m32; do selected $n && m32_cells=1; done
if [ $m32_cells = 1 ]; then i386_criterion; fi
suite gcc-m32-c99-switch gcc c99 switch "$out/examples-gcc-m32" "gcc -m32" m32
suite gcc-m32-c11-labels gcc c11 labels "$out/examples-gcc-m32" "gcc -m32" m32
examples examples-gcc gcc
examples examples-clang clang
examples examples-gcc-m32 "gcc -m32"
arm arm-cortex-m0-switch switch
arm arm-cortex-m0-labels labels
hosted tcc-switch tcc "-Wall -Werror" switch
hosted tcc-labels tcc "-Wall -Werror" labels
for b in switch labels; do
    hosted freestanding-gcc-$b gcc "-std=c99 $warn -O2" $b
    hosted freestanding-clang-$b clang "-std=c99 $warn -O2" $b
    hosted freestanding-gcc-m32-$b gcc "-m32 -std=c99 $warn -O2" $b "$m32_run"
done

# ---- build everything, PORT_JOBS at a time ------------------------------------

build() { # NAME: run its command, record rc and seconds
    local name=$1 t0 rc
    t0=$(date +%s)
    bash -c "$(cat "$out/logs/$name.cmd")" > "$out/logs/$name.build.log" 2>&1
    rc=$?
    echo "$rc $(($(date +%s) - t0))" > "$out/status/$name"
}

echo "portability: building ${#cells[@]} cells, $jobs at a time"
for name in "${cells[@]}"; do
    if [[ $name == gcc-m32-* && $m32_ready = 0 ]]; then
        echo "1 0" > "$out/status/$name"
        echo "no i386 Criterion runtime" > "$out/logs/$name.build.log"
        continue
    fi
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    build "$name" &
done
wait

# ---- run the suites, one at a time (some tests measure real time) ------------

for r in "${runs[@]}"; do
    IFS='|' read -r name env bin ex mcc run <<< "$r"
    read -r rc secs < "$out/status/$name"
    [ "$rc" = 0 ] || continue
    t0=$(date +%s)
    filter=()
    [ -n "$run" ] && filter=(--filter "$m32_skip")
    # shellcheck disable=SC2086
    $run env -u ASYNC_TEST_LABELS $env ASYNC_EXAMPLES="$ex" CC="$mcc" "$bin" --jobs 2 \
        "${filter[@]}" > "$out/logs/$name.run.log" 2>&1
    echo "$? $(($(date +%s) - t0))" > "$out/status/$name.run"
done

# ---- report --------------------------------------------------------------------

pass=0
fail=0
echo
printf '%-28s %-6s %6s %6s  %s\n' cell result build run notes
for name in "${cells[@]}"; do
    read -r rc secs < "$out/status/$name"
    result=PASS run="" notes=""
    if [ "$rc" != 0 ]; then
        result=FAIL notes="build failed: $out/logs/$name.build.log"
    elif [ -e "$out/status/$name.run" ]; then
        read -r rrc run < "$out/status/$name.run"
        run="${run}s"
        notes=$(grep -a 'Synthesis' "$out/logs/$name.run.log" | tail -1 | sed 's/^\[====\] Synthesis: //')
        if [[ $name == *-m32-* && -n $m32_run ]]; then
            notes="$notes (under qemu-i386; skipped: $m32_skip)"
        fi
        if [ "$rrc" != 0 ]; then
            result=FAIL
            notes="$notes (log: $out/logs/$name.run.log)"
        fi
    elif [[ $name == arm-* ]]; then
        notes=$(awk '/\.elf$/ {print "text " $1 " data " $2 " bss " $3 " linked"}' "$out/logs/$name.build.log")
    fi
    if [ $result = PASS ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    printf '%-28s %-6s %5ss %6s  %s\n' "$name" "$result" "$secs" "$run" "$notes"
done
for name in "${cells[@]}"; do # details of the failures
    read -r rc secs < "$out/status/$name"
    if [ "$rc" != 0 ]; then
        echo; echo "---- $name: $(head -c 300 "$out/logs/$name.cmd")"
        grep -a -m 20 -E 'error|warning|FAIL|failed|: ' "$out/logs/$name.build.log" | head -20
    elif [ -e "$out/status/$name.run" ] && read -r rrc _ < "$out/status/$name.run" && [ "$rrc" != 0 ]; then
        echo; echo "---- $name: failing tests"
        grep -a -B4 -E '^\[FAIL\]' "$out/logs/$name.run.log" | grep -av '^\[----\] *$' | head -40
    fi
done
echo
echo "portability: $(($(date +%s) - start)) s"
echo "portability: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
