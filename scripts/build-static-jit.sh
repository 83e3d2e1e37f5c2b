#!/usr/bin/env bash
# Builds the JIT programs for the GPU host, which has no LLVM: einloom-jit-host
# (examples/jit-host) and einloom-jit-bench, with LLVM and MLIR linked
# statically, into build-static/ (git-ignored), stripped. Slow (a second
# build of the compiler); the tests do not need it.
set -euo pipefail
BUILD=${BUILD_STATIC:-build-static}
mkdir -p "$BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEINLOOM_STATIC_LLVM=ON \
  -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache > "$BUILD/configure.log"
ninja -C "$BUILD" einloom-jit-host einloom-jit-bench einloom-tune Einloom
strip "$BUILD/bin/einloom-jit-host" "$BUILD/bin/einloom-jit-bench" "$BUILD/bin/einloom-tune"
ls -la "$BUILD/bin/einloom-jit-host" "$BUILD/bin/einloom-jit-bench" "$BUILD/bin/einloom-tune"
