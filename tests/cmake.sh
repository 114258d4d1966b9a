#!/bin/sh
# CMake: this directory as a project (the kitchen example built from it),
# installed into a scratch prefix; then another project finds it with
# find_package(async_h) and builds the kitchen against the installed
# header.  Both kitchens must print what `make` builds' prints.
# Usage: cmake.sh OUTDIR
set -eu
out=$(mkdir -p "${1:-build/tests}/cmake" && cd "${1:-build/tests}/cmake" && pwd)
src=$(pwd)
rm -rf "$out/build" "$out/prefix" "$out/user"
cmake -S "$src" -B "$out/build" -DCMAKE_INSTALL_PREFIX="$out/prefix" >/dev/null
cmake --build "$out/build" >/dev/null
cmake --install "$out/build" >/dev/null
test -f "$out/prefix/include/async.h"
cmake -S "$src/tests/cmake" -B "$out/user" -DCMAKE_PREFIX_PATH="$out/prefix" >/dev/null
cmake --build "$out/user" >/dev/null
# the consumer must have compiled the installed header, not this tree's
grep -q "$out/prefix/include" "$out/user/CMakeFiles/kitchen.dir/flags.make"
"$out/build/kitchen" --virtual > "$out/a.txt"
"$out/user/kitchen" --virtual > "$out/b.txt"
grep -q "Ada cooked 3, Brian cooked 3" "$out/a.txt"
cmp "$out/a.txt" "$out/b.txt"
echo "cmake: add_subdirectory-style build, install, find_package(async_h) from another project: ok"
