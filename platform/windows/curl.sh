#!/usr/bin/env bash
# examples/areq.c (libcurl's multi_socket API through integrations/async_curl.h)
# built for Windows x86-64 with mingw-w64 and run under wine64 against a local
# site (tests/curl/server.py, HTTP and HTTPS), compared with the native build.
#
# Debian has no mingw build of libcurl, so this script cross-builds one from
# Debian's own curl source package, once, into a cache directory: static,
# HTTP and HTTPS only (TLS by Windows' Schannel), no compression, no HTTP/2,
# no IDN/PSL/LDAP/SSH, nothing else.
#
# Usage, from anywhere:  bash platform/windows/curl.sh [CACHE] [OUTDIR]
#   CACHE    the libcurl cache (default build/platform/windows/curl): curl's
#            source (apt-get source curl, with a private apt list of deb-src
#            lines, so the system's apt configuration is left alone) and the
#            built CACHE/lib/libcurl.a + CACHE/include/curl.  Kept between
#            runs: when CACHE/lib/libcurl.a is there (built with the same
#            options), nothing is fetched or rebuilt.
#   OUTDIR   programs, logs and the wine prefix (default
#            build/platform/windows/areq)
#
# Checks, each printed as a PASS or FAIL line (exit status 1 on any FAIL):
#   - areq.exe builds with the project's flags (-Werror);
#   - on 16 URLs of the local site (12 of them answer after 300-1000 ms, with
#     redirects, chunked bodies, relative links), areq.exe under wine writes
#     the same lines as the native areq (sorted: pages finish in any order)
#     and exits 0: over HTTP with -n 16 and with -n 4 (connections then get
#     reused), over HTTPS with -n 16 (certificates checked with --cacert);
#   - with -n 16 the run takes about as long as the slowest page (1 s) plus
#     wine's start-up, far from the sum of the delays (7.6 s);
#   - a certificate signed by another CA is refused.
#
# Needs (installed with apt-get when missing, after checking with apt-get -s
# that nothing gets removed): gcc-mingw-w64-x86-64-win32, wine64, cmake, ninja-build,
# dpkg-dev (apt-get source unpacks with dpkg-source), xz-utils, python3,
# openssl (server.py makes a throwaway CA), libcurl4-openssl-dev and gcc (the
# native areq).
# shellcheck disable=SC2086 # $flags and $libs are lists of words
set -u
cd "$(dirname "$0")/../.." || exit 1
cache=${1:-build/platform/windows/curl}
out=${2:-build/platform/windows/areq}
mkdir -p "$cache" "$out/logs" || exit 1
cache=$(cd "$cache" && pwd)
out=$(cd "$out" && pwd)
cc=x86_64-w64-mingw32-gcc-win32
wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver
flags="-std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -I."
export WINEDEBUG=-all WINEPREFIX="$out/prefix"
start=$(date +%s)
fail=0
pass() { echo "windows-curl: PASS $*"; }
failed() { echo "windows-curl: FAIL $*"; fail=1; }
die() { echo "windows-curl: FAIL $*"; exit 1; }

# ---- packages ------------------------------------------------------------------
need=""
for p in gcc-mingw-w64-x86-64-win32 wine64 cmake ninja-build dpkg-dev xz-utils python3 openssl \
         libcurl4-openssl-dev gcc; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || need="$need $p"
done
if [ -n "$need" ]; then
    echo "windows-curl: installing$need"
    sim=$(apt-get -s install --no-install-recommends $need 2>&1) || die "apt-get cannot install$need"
    if echo "$sim" | grep -q '^Remv'; then
        echo "$sim" | grep '^Remv'
        die "installing$need would remove the packages above: not done"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need \
        > "$out/logs/apt.txt" 2>&1 || die "apt-get install$need (log: $out/logs/apt.txt)"
fi
for f in "$(command -v $cc)" "$wine"; do
    [ -x "$f" ] || die "missing $f"
done

# ---- libcurl: the build's options; built already? ---------------------------------
# (the reasons for them: see the build below)
curl_opts=(-DCMAKE_SYSTEM_NAME=Windows -DCMAKE_SYSTEM_PROCESSOR=x86_64
    "-DCMAKE_C_COMPILER=$cc" -DCMAKE_RC_COMPILER=x86_64-w64-mingw32-windres
    -DCMAKE_FIND_ROOT_PATH=/usr/x86_64-w64-mingw32 -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER
    -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY
    -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" -DCMAKE_UNITY_BUILD=ON
    -DBUILD_SHARED_LIBS=OFF -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF -DENABLE_MANUAL=OFF
    -DCURL_ENABLE_EXPORT_TARGET=OFF -DPICKY_COMPILER=OFF
    -DHTTP_ONLY=ON -DCURL_ENABLE_SSL=ON -DCURL_USE_SCHANNEL=ON -DCURL_USE_OPENSSL=OFF
    -DCURL_DISABLE_LDAP=ON -DCURL_DISABLE_LDAPS=ON -DCURL_ZLIB=OFF -DCURL_BROTLI=OFF
    -DCURL_ZSTD=OFF -DUSE_NGHTTP2=OFF -DUSE_LIBIDN2=OFF -DUSE_WIN32_IDN=OFF
    -DCURL_USE_LIBPSL=OFF -DCURL_USE_LIBSSH2=OFF -DCURL_USE_LIBSSH=OFF
    -DCURL_USE_GSSAPI=OFF -DENABLE_UNIX_SOCKETS=OFF)
built=1
if [ ! -f "$cache/lib/libcurl.a" ] || [ ! -f "$cache/include/curl/curl.h" ] ||
   [ "$(cat "$cache/lib/options.txt" 2>/dev/null)" != "${curl_opts[*]}" ]; then
    built=0
fi
# ---- curl's source, from Debian ---------------------------------------------------
# A private sources list with deb-src lines for the mirrors of the system's
# deb lines (one-line .list files or deb822 .sources), and private lists.
src=$(find "$cache/src" -mindepth 1 -maxdepth 1 -type d -name 'curl-*' 2>/dev/null | head -1)
if [ "$built" = 0 ] && { [ -z "$src" ] || [ ! -f "$src/lib/multi.c" ]; }; then
    t0=$(date +%s)
    rm -rf "$cache/src" "$cache/apt"
    mkdir -p "$cache/src" "$cache/apt/lists/partial" || exit 1
    codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
    codename=${codename:-bookworm}
    mirrors=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
                  awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; break } }'
              cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
                  awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }')
    main=$(echo "$mirrors" | grep -v security | grep -m1 debian)
    sec=$(echo "$mirrors" | grep -m1 security)
    {
        echo "deb-src ${main:-http://deb.debian.org/debian} $codename main"
        echo "deb-src ${main:-http://deb.debian.org/debian} $codename-updates main"
        echo "deb-src ${sec:-http://deb.debian.org/debian-security} $codename-security main"
    } > "$cache/apt/sources.list"
    aptopts=(-o Dir::Etc::SourceList="$cache/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
             -o Dir::State::Lists="$cache/apt/lists" -o Dir::Cache::pkgcache=
             -o Dir::Cache::srcpkgcache= -o APT::Get::List-Cleanup=0)
    if ! { apt-get "${aptopts[@]}" update && (cd "$cache/src" && apt-get "${aptopts[@]}" source curl); } \
           > "$out/logs/apt-source.txt" 2>&1; then
        die "apt-get source curl (log: $out/logs/apt-source.txt)"
    fi
    src=$(find "$cache/src" -mindepth 1 -maxdepth 1 -type d -name 'curl-*' | head -1)
    [ -f "$src/lib/multi.c" ] || die "no curl source in $cache/src"
    echo "windows-curl: fetched $(basename "$(ls "$cache"/src/*.dsc)") in $(( $(date +%s) - t0 )) s"
fi

# ---- libcurl for mingw-w64, static, HTTP and HTTPS ------------------------------------
# CMake rather than configure: Debian's patches touch Makefile.am, so the
# autotools build would want automake.  A unity build: every file includes
# <windows.h>, and parsing it ~160 times was most of the build time (2m17
# against 26 s here).  TLS is Windows' own Schannel (no library to build;
# under wine it is GnuTLS underneath): HTTPS for the price of a few files.
# Every other protocol and optional library is off.  CACHE/lib/options.txt
# records the options: other options, a new build.
if [ "$built" = 0 ]; then
    t0=$(date +%s)
    rm -rf "${cache:?}/build" "${cache:?}/lib" "${cache:?}/include"
    mkdir -p "$cache/build" || exit 1
    (cd "$cache/build" && cmake -G Ninja "$src" "${curl_opts[@]}" && ninja -j2 libcurl) \
        > "$out/logs/libcurl-build.txt" 2>&1 || die "libcurl does not build (log: $out/logs/libcurl-build.txt)"
    mkdir -p "$cache/lib" "$cache/include" &&
        cp -r "$src/include/curl" "$cache/include/" &&
        cp "$cache/build/lib/libcurl.a" "$cache/lib/" || exit 1
    grep -a 'Enabled' "$out/logs/libcurl-build.txt" | sed 's/^-- //' | paste -sd';' > "$cache/lib/features.txt"
    echo "${curl_opts[*]}" > "$cache/lib/options.txt"
    rm -rf "$cache/build"
    echo "windows-curl: built libcurl ($(basename "$src"); $(cat "$cache/lib/features.txt")) in $(( $(date +%s) - t0 )) s"
fi

# ---- areq: Windows and native ------------------------------------------------------
libs="-L$cache/lib -lcurl -lws2_32 -lbcrypt -lsecur32 -lcrypt32"
if $cc $flags -I"$cache/include" -DCURL_STATICLIB -static examples/areq.c -o "$out/areq.exe" $libs \
       > "$out/logs/areq.build.txt" 2>&1; then
    pass "examples/areq.c builds for Windows ($cc, -Werror, static libcurl)"
else
    cat "$out/logs/areq.build.txt"
    die "examples/areq.c does not build for Windows"
fi
cc $flags examples/areq.c -o "$out/areq" -lcurl > "$out/logs/areq.native.build.txt" 2>&1 ||
    die "examples/areq.c does not build natively (log: $out/logs/areq.native.build.txt)"

# ---- wine ------------------------------------------------------------------------------------
# The first start in a new prefix creates it (about 5 s).  A wineserver kept
# up for the whole run (-p, ended by -k on exit) makes every later start
# quick and steady, so the timings below are the programs', not wine's
# (otherwise each run after a 3 s pause starts a new wineserver: +2 s).
# wine's helper processes (services.exe, ...) live as long as the server
# and inherit open files: they get none of ours (3>&-, output to files).
site=$(mktemp -d /tmp/areq-win-XXXXXX)
server=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    exec 3>&-
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    "$wineserver" -k 2>/dev/null
    rm -rf "$site"
}
trap cleanup EXIT
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    # a new prefix goes on settling in the background after the first
    # program: wait until its wineserver has ended (slower runs otherwise)
    "$wine" cmd /c exit > /dev/null 2>&1
    "$wineserver" -w
fi
"$wineserver" -p > /dev/null 2>&1
"$wine" cmd /c exit > /dev/null 2>&1

# ---- the local site ----------------------------------------------------------------------
# server.py runs until its stdin closes; the fifo's writer is this script.
mkfifo "$site/stdin" && mkdir "$site/www" || exit 1
python3 tests/curl/server.py "$site/www" < "$site/stdin" > "$site/ports" 2> "$out/logs/server.txt" &
server=$!
exec 3> "$site/stdin"
for _ in $(seq 100); do grep -q http= "$site/ports" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*http=\([0-9]*\).*/\1/p' "$site/ports")
[ -n "$port" ] || die "the test site did not start (log: $out/logs/server.txt)"

# 16 URLs: 12 pages answering after 300-1000 ms (sum 7.6 s), and quick pages
# with relative and absolute links, redirects (301, 302) and a chunked body.
base="http://127.0.0.1:$port"
{
    for i in $(seq 1 11); do echo "$base/slow/$i?ms=$((300 + (i * 59) % 641))"; done
    echo "$base/slow/12?ms=1000"
    echo "$base/"
    echo "$base/moved"
    echo "$base/chunked"
    echo "$base/redirect?to=/page/7"
} > "$out/urls.txt"
slowest=$(sed -n 's/.*ms=\([0-9]*\)$/\1/p' "$out/urls.txt" | sort -n | tail -1)
sum=$(sed -n 's/.*ms=\([0-9]*\)$/\1/p' "$out/urls.txt" | awk '{ s += $1 } END { print s }')
nurls=$(wc -l < "$out/urls.txt")

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# wine's own start-up cost, measured on a one-page list (the second run: the
# first also starts wine's network services), is taken off the timing below.
echo "$base/page/1" > "$out/one.txt"
"$wine" "$out/areq.exe" "$out/one.txt" "$out/one.out" > /dev/null 2>&1 3>&-
t0=$(now)
"$wine" "$out/areq.exe" "$out/one.txt" "$out/one.out" > /dev/null 2>&1 3>&-
wine_start=$(secs "$t0" "$(now)")

# One run of each build on a list, the outputs compared (sorted), and for
# -n 16 the time: the slowest page plus overheads, nowhere near the sum.
#   check NAME LIST N [NATIVE_OPTION WINDOWS_OPTION]
check() {
    local name=$1 list=$2 n=$3 t0 rc_native rc_win t_native t_win lines
    t0=$(now)
    "$out/areq" "$list" "$out/$name.native" -n "$n" ${4:-} > "$out/logs/$name.native.txt" 2>&1
    rc_native=$?
    t_native=$(secs "$t0" "$(now)")
    t0=$(now)
    "$wine" "$out/areq.exe" "$list" "$out/$name.raw" -n "$n" ${5:-} > "$out/logs/$name.windows.txt" 2>&1 3>&-
    rc_win=$?
    t_win=$(secs "$t0" "$(now)")
    tr -d '\r' < "$out/$name.raw" | sort > "$out/$name.windows"
    sort -o "$out/$name.native" "$out/$name.native"
    lines=$(wc -l < "$out/$name.native")
    echo "windows-curl: $name -n $n: native $t_native s (exit $rc_native), wine $t_win s (exit $rc_win)"
    if [ $rc_native = 0 ] && [ "$lines" -ge "$nurls" ] && [ $rc_win = 0 ] &&
       cmp -s "$out/$name.native" "$out/$name.windows"; then
        pass "$name -n $n: areq.exe fetched all $nurls URLs and wrote the native build's $lines lines"
    else
        failed "$name -n $n: areq.exe exit $rc_win (native $rc_native), outputs (native <, windows >):"
        diff "$out/$name.native" "$out/$name.windows" | head -10
        grep -a 'Error' "$out/logs/$name.windows.txt" | tr -d '\r' | head -5
        return
    fi
    [ "$n" = 16 ] || return
    if awk -v t="$t_win" -v w="$wine_start" -v s="$slowest" -v sum="$sum" \
           'BEGIN { exit !(t - w < s / 1000 + 0.8 && t < sum / 2000) }'; then
        pass "$name -n 16: concurrent under wine: $t_win s (wine start-up $wine_start s);" \
             "slowest page $slowest ms, sum of delays $sum ms"
    else
        failed "$name -n 16: not concurrent under wine: $t_win s (wine start-up $wine_start s);" \
               "slowest page $slowest ms, sum of delays $sum ms"
    fi
}
check http "$out/urls.txt" 16
check http "$out/urls.txt" 4 # 4 connections, reused: the server's keep-alive

# HTTPS: the same pages over TLS, the certificate checked against the site's
# throwaway CA (a Windows path for the Windows program).
tls=$(sed -n 's/.*https=\([0-9]*\).*/\1/p' "$site/ports")
badtls=$(sed -n 's/.*badtls=\([0-9]*\).*/\1/p' "$site/ports")
ca="$site/www/ca.pem"
sed "s#^$base#https://localhost:$tls#" "$out/urls.txt" > "$out/urls-https.txt"
winca="Z:${ca//\//\\}" # Z: is / in a wine prefix
check https "$out/urls-https.txt" 16 "--cacert $ca" "--cacert $winca"
echo "https://localhost:$badtls/" > "$out/badtls.txt"
"$wine" "$out/areq.exe" "$out/badtls.txt" "$out/badtls.out" --cacert "$winca" \
    > "$out/logs/badtls.txt" 2>&1 3>&-
rc=$?
if [ $rc = 1 ] && grep -aq "^Error for https://localhost:$badtls/: .*schannel" "$out/logs/badtls.txt"; then
    pass "https: a certificate from another CA is refused ($(grep -a '^Error' "$out/logs/badtls.txt" |
         tr -d '\r' | sed 's/.*: schannel: //'))"
else
    failed "https: a certificate from another CA: exit $rc, $(tr -d '\r' < "$out/logs/badtls.txt" | head -1)"
fi

echo "windows-curl: $([ $fail = 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - start )) s"
exit $fail
