#!/usr/bin/env bash
# make crawl-demo: areq (async.h + libcurl's multi API) against areq_sync
# (curl_easy_perform, one URL at a time) on a local HTTPS site whose pages
# answer after 100 to 400 ms, timed side by side by hyperfine.  Both verify
# the site's certificate (a throwaway CA, --cacert) and write the same lines.
#
# Usage: bash tests/curl/crawl_demo.sh [BUILD_DIR]   (default build)
#   DEMO_PAGES   pages in the list (default 16)
#   DEMO_RUNS    hyperfine runs of each (default 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
pages=${DEMO_PAGES:-16}
runs=${DEMO_RUNS:-5}
dir=$(mktemp -d /tmp/crawl-demo-XXXXXX)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

# The server runs until its stdin closes: the fifo's writer is this script.
mkfifo "$dir/stdin"
python3 tests/curl/server.py "$dir" < "$dir/stdin" > "$dir/ports" &
server=$!
exec 3> "$dir/stdin"
for _ in $(seq 100); do grep -q https= "$dir/ports" 2>/dev/null && break; sleep 0.1; done
https=$(sed -n 's/.*https=\([0-9]*\).*/\1/p' "$dir/ports")
[ -n "$https" ] || { echo "crawl-demo: the test server did not start"; exit 1; }

total=0
for i in $(seq 1 "$pages"); do
    ms=$((100 + (i * 37) % 301)) # 100..400 ms, the same list every time
    total=$((total + ms))
    echo "https://localhost:$https/slow/$i?ms=$ms"
done > "$dir/urls.txt"
echo "crawl-demo: $pages HTTPS pages answering in 100-400 ms (sum $total ms, slowest 400 ms)"

opts="--cacert $dir/ca.pem"
hyperfine --warmup 1 --runs "$runs" \
    "$build/areq $dir/urls.txt $dir/async.txt $opts 2>/dev/null" \
    "$build/areq_sync $dir/urls.txt $dir/sync.txt $opts 2>/dev/null"
if cmp -s <(sort "$dir/async.txt") <(sort "$dir/sync.txt"); then
    echo "crawl-demo: both wrote the same $(wc -l < "$dir/async.txt") lines"
else
    echo "crawl-demo: the two outputs differ"; exit 1
fi
