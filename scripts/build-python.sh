#!/usr/bin/env bash
# `make python`: the Python package with its self-contained library.
#  1. libEinloom.so with LLVM and MLIR linked in (build-static/, the same
#     configuration as the GPU host's JIT programs; its objects come from
#     ccache after a normal build), stripped, exporting only Einloom's symbols;
#     `ldd` must show no LLVM or MLIR library;
#  2. copied to python/einloom/libeinloom.so (git-ignored), so that
#     `pip install ./python` carries it;
#  3. a wheel in dist/ (offline: no build isolation, no index), with the
#     distribution's Python (/usr/bin/python3, which has pip and wheel);
#  4. the wheel installed into a scratch folder and imported by an isolated
#     interpreter: compile, explain, and the CPU reference, no repository
#     paths, no LLVM on the library path.
# With --check (the python-wheel test) nothing is written to the source
# tree: the package is staged, and the wheel written, under the static build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${EINLOOM_PYTHON:-/usr/bin/python3}
BUILD=${BUILD_STATIC:-build-static}
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1
mkdir -p "$BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEINLOOM_STATIC_LLVM=ON \
  -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache > "$BUILD/configure.log"
echo "== libEinloom.so with LLVM/MLIR linked in ($BUILD)"
ninja -C "$BUILD" Einloom
LIB="$BUILD/lib/libEinloom.so"
if ldd "$LIB" | grep -Eq 'libLLVM|libMLIR'; then
  echo "error: $LIB still needs a shared LLVM/MLIR:" >&2; ldd "$LIB" >&2; exit 1
fi
if [ $CHECK = 1 ]; then
  PKG="$BUILD/python-stage"; WHEELS="$BUILD/dist"
  rm -rf "$PKG"; mkdir -p "$PKG"
  cp -r python/einloom python/pyproject.toml python/setup.py python/README.md "$PKG/"
  rm -f "$PKG/einloom/libeinloom.so"; rm -rf "$PKG/einloom/__pycache__"
else
  PKG=python; WHEELS=dist
fi
strip --strip-unneeded -o "$PKG/einloom/libeinloom.so" "$LIB"
echo "   $(du -h "$PKG/einloom/libeinloom.so" | cut -f1) $PKG/einloom/libeinloom.so; needs: $(ldd "$PKG/einloom/libeinloom.so" | awk '{print $1}' | tr '\n' ' ')"
if nm -D --defined-only "$PKG/einloom/libeinloom.so" | awk '{print $3}' | grep -qv einloom; then
  echo "error: libeinloom.so exports symbols that are not Einloom's:" >&2
  nm -D --defined-only "$PKG/einloom/libeinloom.so" | awk '{print $3}' | grep -v einloom | head >&2
  exit 1
fi

echo "== wheel ($PYTHON)"
rm -rf "$PKG/build" "$PKG"/*.egg-info
mkdir -p "$WHEELS"
rm -f "$WHEELS"/einloom-*.whl
"$PYTHON" -m pip wheel --quiet --no-build-isolation --no-deps --no-index "$(cd "$PKG" && pwd)" -w "$WHEELS"
rm -rf "$PKG/build" "$PKG"/*.egg-info
WHEEL=$(ls "$WHEELS"/einloom-*.whl)
echo "   $WHEEL"

echo "== the wheel alone"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
"$PYTHON" -m pip install --quiet --no-deps --no-index --target "$SCRATCH/site" "$WHEEL"
cd "$SCRATCH" && env -u EINLOOM_LIBRARY -u LD_LIBRARY_PATH EINLOOM_CACHE_DIR="$SCRATCH/cache" \
  "$PYTHON" -I -c '
import sys; sys.path.insert(0, "site")
import einloom
assert einloom.library_path.startswith(sys.path[0]) or "/site/einloom/" in einloom.library_path, einloom.library_path
k = einloom.compile("mk,nk->mn", {"m": 16, "n": 256, "k": 64}, "f16")
assert ".entry" in k.ptx and "chosen plan" in k.explain()
try:
    import numpy as np
    a, b = np.random.rand(3, 4), np.random.rand(5, 4)
    assert np.allclose(einloom.einsum("mk,nk->mn", a, b), a @ b.T)
except ImportError:
    pass
print("   ok:", einloom.version(), "from", einloom.library_path)
'
[ $CHECK = 1 ] || echo "install it with: pip install $WHEEL   (or: pip install ./python)"
