#!/bin/sh
# Compile times of the two linkage modes (async.h's LINKAGE MODES), with
# hyperfine: examples/queue.c, a file that includes only <stdio.h> for
# scale, and a program of ten files (bench/compile/gen.sh) built whole and
# rebuilt after one file changed.  Prints a Markdown table of medians.
# With README, the table also replaces what README.md holds between
# <!-- compile-time:begin --> and <!-- compile-time:end -->.
# Usage: compile_time.sh OUTDIR [README]   (CC, CFLAGS: default cc, -O2)
set -e
out=${1:-build/compile-time}
cc=${CC:-cc}
flags="-std=c99 ${CFLAGS:--O2} -I$(pwd)"
runs=${RUNS:-5}
mkdir -p "$out"
sh bench/compile/gen.sh "$out/ten"
printf '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n' > "$out/stdio.c"
printf '#define ASYNC_EXTERN\n#include "async.h"\nint main(void) { return 0; }\n' > "$out/extern.c"
ten="$out/ten"
parts="$ten/part0.c $ten/part1.c $ten/part2.c $ten/part3.c $ten/part4.c $ten/part5.c $ten/part6.c $ten/part7.c $ten/part8.c $ten/main.c"
one() { echo "for f in $1; do $cc $flags $2 -c \$f -o $out/x.o; done"; }
hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$out/times.json" \
    -n "stdio.c (reference)" "$cc $flags -c $out/stdio.c -o $out/x.o" \
    -n "a file with only the header, ASYNC_EXTERN" "$cc $flags -c $out/extern.c -o $out/x.o" \
    -n "queue.c, include and go" "$cc $flags -c examples/queue.c -o $out/x.o" \
    -n "queue.c, ASYNC_EXTERN" "$cc $flags -DASYNC_EXTERN -c examples/queue.c -o $out/x.o" \
    -n "async_impl.c (ASYNC_IMPLEMENTATION, once)" "$cc $flags -c $ten/async_impl.c -o $out/x.o" \
    >/dev/null
hyperfine --style none --warmup 1 --runs "$runs" --export-json "$out/times10.json" \
    -n "10 files, include and go: whole build" "$(one "$parts" "")" \
    -n "10 files, split: whole build (10 files + async_impl.c)" "$(one "$parts $ten/async_impl.c" "-DASYNC_EXTERN")" \
    -n "10 files, include and go: one file changed" "$cc $flags -c $ten/part3.c -o $out/x.o" \
    -n "10 files, split: one file changed" "$cc $flags -DASYNC_EXTERN -c $ten/part3.c -o $out/x.o" \
    >/dev/null
python3 - "$out/times.json" "$out/times10.json" "$cc $flags" "${2:-}" <<'PY'
import json, sys
rows = ["| compile (`%s`) | median | min..max |" % sys.argv[3].split(' -I')[0], "|---|---|---|"]
for p in sys.argv[1:3]:
    for r in json.load(open(p))["results"]:
        rows.append("| %s | %.0f ms | %.0f..%.0f ms |" % (r["command"], r["median"] * 1e3, r["min"] * 1e3, r["max"] * 1e3))
table = "\n".join(rows)
print(table)
if sys.argv[4]:
    text = open(sys.argv[4]).read()
    a, b = "<!-- compile-time:begin -->", "<!-- compile-time:end -->"
    i, j = text.index(a) + len(a), text.index(b)
    open(sys.argv[4], "w").write(text[:i] + "\n" + table + "\n" + text[j:])
PY
