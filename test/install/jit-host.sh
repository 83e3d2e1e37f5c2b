#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, builds examples/jit-host
# against it with find_package(Einloom), and runs it twice on a fresh cache:
# the first run must compile, the second (a new process) must hit the disk
# cache. Without a GPU the program says so and still exits 0.
set -euo pipefail
BUILD=$1 SRC=$2
T=$(mktemp -d /tmp/einloom-install-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
cmake --install "$BUILD" --prefix "$T/prefix" > "$T/install.log"
test -f "$T/prefix/lib/cmake/Einloom/EinloomConfig.cmake"
test -f "$T/prefix/include/einloom-c/Einloom.h"
cmake -S "$SRC/examples/jit-host" -B "$T/build" -G Ninja -DCMAKE_PREFIX_PATH="$T/prefix" > "$T/configure.log"
cmake --build "$T/build" > "$T/build.log"
export EINLOOM_CACHE_DIR="$T/cache"
first=$("$T/build/jit-host")
second=$("$T/build/jit-host")
echo "$first"
echo "$second"
grep -q "cache miss, compiled" <<< "$first"
grep -q "disk-cache hit" <<< "$second"
# The installed compiler reports the same cache.
"$T/prefix/bin/einloom-compile" --cache-stats | grep -q "2 entries"
echo "install + find_package(Einloom) + jit-host: OK"
