#!/usr/bin/env bash
# arm64 Linux (`make arm64`): the whole Criterion suite (tests/test_*.c, the
# sources `make test` builds) cross-compiled for aarch64 and run under
# qemu-aarch64 (user mode), with the default switch backend, with
# -DASYNC_LABELS=1 and with -DASYNC_POLL=1; the examples it runs are arm64
# builds too.  Then the cross-thread stress program (tests/tsan_threads.c,
# without ThreadSanitizer) a number of times.
#
# Toolchain: clang --target=aarch64-linux-gnu with Debian's arm64 cross libc
# (libc6-dev-arm64-cross, libgcc-12-dev-arm64-cross, binutils-aarch64-linux-gnu);
# not gcc-aarch64-linux-gnu, which cannot be installed next to gcc-multilib.
# The examples are static; the suites link Criterion dynamically (its static
# library would need static libgit2, nanomsg and their dependencies), with
# the cross libc's loader as their interpreter and an RPATH to it and to the
# arm64 Criterion runtime, so they run without QEMU_LD_PREFIX or -L.
#
# The arm64 Criterion runtime (libcriterion3, its dependencies, the headers
# of libcriterion-dev) is downloaded with a private apt state and unpacked
# under OUTDIR/root, like tests/portability.sh does for i386: adding the
# arm64 architecture to dpkg would make apt depend on the mirror's arm64
# indexes from then on.
#
# Criterion starts each test by exec'ing its own binary, and the tests of the
# examples start them with popen(): the kernel must know how to start an
# aarch64 program.  If it already does (a binfmt handler registered on the
# machine) the suites run as they are; otherwise they run in a new user and
# mount namespace with a binfmt_misc instance of its own (Linux 6.7 or
# later; see platform/with-binfmt.sh): nothing on the machine is changed.
#
# The tests that build a program with $CC (test_misuse, test_promises) get
# the cross compiler with -static; the suites run from a view of the
# repository root (OUTDIR/tree) whose build/ is their own.  Examples that need
# libcurl are not built (no arm64 libcurl here; the suite does not run them).
#
# Usage, from the repository root:  bash platform/arm64/run.sh [OUTDIR]
#   OUTDIR         default build/platform/arm64
#   ARM64_STRESS   runs of tests/tsan_threads.c (default 50)
# shellcheck disable=SC2086 # $cc, $warn and $flags are lists of words
set -u
cd "$(dirname "$0")/../.." || exit 1
out=${1:-build/platform/arm64}
stress=${ARM64_STRESS:-50}
warn="-Wall -Wextra -Wpedantic -Werror"
cc="clang --target=aarch64-linux-gnu"
# what the tests that compile a program use (test_misuse, test_promises): static,
# so that the programs they build run (the cross loader is not at /lib)
test_cc="$cc -static"
qemu=/usr/bin/qemu-aarch64
sysroot=/usr/aarch64-linux-gnu
start=$(date +%s)
mkdir -p "$out/logs" "$out/examples" || exit 1
out=$(cd "$out" && pwd)

for f in /usr/bin/clang "$qemu" "$sysroot/lib/libc.so.6" "$sysroot/lib/ld-linux-aarch64.so.1" \
         /usr/bin/aarch64-linux-gnu-ld "$(clang --target=aarch64-linux-gnu -print-libgcc-file-name 2>/dev/null)"; do
    [ -e "$f" ] || { echo "arm64: missing $f (make arm64 installs the tools)"; exit 1; }
done

# ---- the arm64 Criterion runtime ----------------------------------------------
root=$out/root
lib=$root/usr/lib/aarch64-linux-gnu
if [ ! -e "$lib/libcriterion.so" ] || [ ! -e "$root/usr/include/criterion/criterion.h" ]; then
    echo "arm64: fetching the arm64 Criterion runtime into $root"
    t0=$(date +%s)
    d=$out/apt
    rm -rf "$d" "$root" && mkdir -p "$d/lists/partial" "$d/archives/partial" "$d/debs" "$root"
    apt=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64
         -o "Dir::State::Lists=$d/lists" -o "Dir::Cache::archives=$d/archives"
         -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
         -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
    apt-get "${apt[@]}" update > "$out/logs/apt.log" 2>&1
    # libcriterion3 and what it needs, less what the cross libc provides;
    # libcriterion-dev for the headers and the libcriterion.so link.
    pkgs=$(apt-cache "${apt[@]}" depends --recurse --no-recommends --no-suggests \
             --no-conflicts --no-breaks --no-replaces --no-enhances libcriterion3 2>>"$out/logs/apt.log" |
           grep -v '^ ' | grep -vE '^(libc6|libgcc-s1|gcc-[0-9]+-base)$' | sort -u)
    # shellcheck disable=SC2086
    if ! echo "$pkgs" | grep -qx libcriterion3 ||
       ! (cd "$d/debs" && apt-get "${apt[@]}" download $pkgs libcriterion-dev) >> "$out/logs/apt.log" 2>&1; then
        echo "arm64: cannot fetch the arm64 Criterion runtime (see $out/logs/apt.log)"
        exit 1
    fi
    for f in "$d"/debs/*.deb; do dpkg-deb -x "$f" "$root" || exit 1; done
    rm -rf "$d"
    [ -e "$lib/libcriterion.so" ] || { echo "arm64: no libcriterion.so in the arm64 packages"; exit 1; }
    echo "arm64: runtime ready in $(($(date +%s) - t0)) s ($(echo "$pkgs" | wc -l) packages + libcriterion-dev)"
fi
libs=$lib:$root/lib/aarch64-linux-gnu
# shellcheck disable=SC2054 # the commas are the linker's
link=(-L"$lib" -Wl,-rpath-link,"$libs" -Wl,--disable-new-dtags -Wl,-rpath,"$sysroot/lib:$libs"
      -Wl,--dynamic-linker="$sysroot/lib/ld-linux-aarch64.so.1" -lcriterion)

# ---- build: three suites, the examples, the stress program --------------------
# name|flags
suites=("switch|" "labels|-DASYNC_LABELS=1" "poll|-DASYNC_POLL=1")
build_suite() {
    local name=${1%%|*} flags=${1#*|}
    # shellcheck disable=SC2086
    $cc -std=c99 $warn -O2 -g $flags -I. -isystem "$root/usr/include" tests/test_*.c \
        -o "$out/suite-$name" "${link[@]}" > "$out/logs/build-$name.log" 2>&1
}
# Does an example (or a header of the project it includes) use libcurl?
uses_curl() {
    local h p
    grep -qE '#include .(integrations/async_curl\.h|curl/)' "$1" && return 0
    while read -r h; do
        for p in "examples/$h" "$h"; do
            [ -f "$p" ] && grep -qE '#include .(integrations/async_curl\.h|curl/)' "$p" && return 0
        done
    done < <(sed -n 's/^#include "\(.*\)"/\1/p' "$1")
    return 1
}
build_examples() {
    local f rc=0
    for f in examples/*.c; do
        # Examples built on libcurl (integrations/async_curl.h) are left out:
        # there is no arm64 libcurl here, and the suite does not run them.
        if uses_curl "$f"; then echo "SKIPPED: $f (needs libcurl)"; continue; fi
        # static glibc warns that getaddrinfo wants the shared NSS modules at
        # run time: the examples only resolve numeric addresses and localhost
        $cc -std=c99 $warn -O2 -I. -static "$f" -o "$out/examples/$(basename "$f" .c)" -lpthread ||
            { echo "FAILED: $f"; rc=1; }
    done
    # the split-mode example: several files, async.h compiled in one of them
    $cc -std=c99 $warn -O2 -I. -static examples/split/*.c -o "$out/examples/split" -lpthread ||
        { echo "FAILED: examples/split"; rc=1; }
    $cc -std=c99 $warn -O2 -I. -static tests/tsan_threads.c -o "$out/tsan_threads" -lpthread || rc=1
    $cc -std=c99 $warn -O2 -I. -static -x c - -o "$out/probe" <<< 'int main(void) { return 0; }' || rc=1
    return $rc
} > "$out/logs/build-examples.log" 2>&1

examples=(examples/*.c)
echo "arm64: building 3 suites, ${#examples[@]} examples and the stress program (2 at a time)"
t0=$(date +%s)
declare -A brc
build_examples & pe=$!
build_suite "${suites[0]}" & p0=$!
wait $p0; brc[switch]=$?
build_suite "${suites[1]}" & p1=$!
wait $pe; brc[examples]=$?
build_suite "${suites[2]}" & p2=$!
wait $p1; brc[labels]=$?
wait $p2; brc[poll]=$?
echo "arm64: built in $(($(date +%s) - t0)) s"
grep '^SKIPPED' "$out/logs/build-examples.log" | sed 's/^/arm64: /'
for k in examples switch labels poll; do
    if [ "${brc[$k]}" != 0 ]; then
        echo "arm64: build of $k FAILED:"
        grep -E 'error|FAILED' "$out/logs/build-$k.log" | head -20
        exit 1
    fi
done

# ---- how to start aarch64 programs --------------------------------------------
if "$out/probe" 2>/dev/null; then
    run=() # a binfmt handler is registered on the machine
    how="the machine's binfmt handler"
else
    run=(unshare --user --map-root-user --mount bash "$PWD/platform/with-binfmt.sh" "$qemu")
    how="a private binfmt_misc in a user namespace"
    if ! "${run[@]}" "$out/probe" 2> "$out/logs/binfmt.log"; then
        echo "arm64: cannot start aarch64 programs: no binfmt handler on this machine, and a"
        echo "  user namespace with its own binfmt_misc (Linux >= 6.7) failed:"
        sed 's/^/    /' "$out/logs/binfmt.log"
        echo "  (alternative: apt-get install qemu-user-binfmt registers one machine-wide)"
        exit 1
    fi
fi
echo "arm64: running under $($qemu --version | head -1) through $how"

# ---- run ------------------------------------------------------------------------
ulimit -c 0 # qemu-user writes its own core files for the tests that abort
# The suites run from the repository root and some tests write scratch files
# under build/ there (build/misuse_snippet.c, ...): run them from a view of
# the root with a build/ of their own, so that a `make test` running at the
# same time does not share those files.
tree=$out/tree
rm -rf "$tree" && mkdir -p "$tree/build" || exit 1
for e in *; do [ "$e" = build ] || ln -s "$PWD/$e" "$tree/$e"; done
fail=0
results=()
for s in "${suites[@]}"; do
    name=${s%%|*}
    env=(ASYNC_EXAMPLES="$out/examples" CC="$test_cc")
    [ "$name" = labels ] && env+=(ASYNC_TEST_LABELS=1)
    t0=$(date +%s)
    (cd "$tree" && env -u ASYNC_TEST_LABELS "${env[@]}" "${run[@]}" "$out/suite-$name" --jobs 2) \
        > "$out/logs/run-$name.log" 2>&1
    rc=$?
    syn=$(grep -a 'Synthesis' "$out/logs/run-$name.log" | tail -1 | sed 's/^\[====\] Synthesis: //')
    [ -n "$syn" ] || syn="no synthesis line"
    if [ $rc = 0 ]; then r=PASS; else r=FAIL; fail=1; fi
    results+=("$(printf '%-14s %-5s %4ss  %s' "suite-$name" "$r" "$(($(date +%s) - t0))" "$syn")")
    if [ $rc != 0 ]; then
        echo "---- suite-$name: failing tests (log: $out/logs/run-$name.log)"
        grep -a -B4 -E '^\[FAIL\]' "$out/logs/run-$name.log" | grep -av '^\[----\] *$' | head -40
    fi
done

# The cross-thread paths (worker jobs and call_soon_threadsafe into the
# loop's inbox) again and again, each run with real threads on the host.
t0=$(date +%s)
bad=0
for i in $(seq 1 "$stress"); do
    "${run[@]}" "$out/tsan_threads" > "$out/logs/stress-$i.log" 2>&1 || { bad=$((bad + 1)); echo "---- stress run $i failed:"; tail -5 "$out/logs/stress-$i.log"; }
done
if [ $bad = 0 ]; then r=PASS; else r=FAIL; fail=1; fi
results+=("$(printf '%-14s %-5s %4ss  %s' "thread-stress" "$r" "$(($(date +%s) - t0))" \
             "$((stress - bad)) of $stress runs ok; $(tail -1 "$out/logs/stress-1.log")")")

echo
printf '%s\n' "${results[@]}"
echo "arm64: $(($(date +%s) - start)) s"
[ $fail = 0 ] && echo "arm64: all passed" || echo "arm64: FAILED"
exit $fail
