#!/usr/bin/env bash
# The Python package's tests (python/tests) with the distribution's Python
# (/usr/bin/python3: python3-pytest and python3-numpy, which setup.sh
# installs), against the library this build made. GPU tests skip with a
# reason here; gpu-check runs them. Then the package alone, in a fresh
# isolated interpreter: a copy of it beside the library, no repository paths.
set -uo pipefail
BUILD=$1
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${EINLOOM_PYTHON:-/usr/bin/python3}
if ! "$PYTHON" -c "import pytest, numpy" 2>/dev/null; then
  echo "skipped: $PYTHON lacks pytest or NumPy (apt install python3-pytest python3-numpy)"
  exit 77
fi
export EINLOOM_LIBRARY="$BUILD/lib/libEinloom.so"
export EINLOOM_CACHE_DIR=$(mktemp -d)
trap 'rm -rf "$EINLOOM_CACHE_DIR" "$ALONE"' EXIT
"$PYTHON" -m pytest -q -p no:cacheprovider "$SRC/python/tests" || exit 1

ALONE=$(mktemp -d)
cp -r "$SRC/python/einloom" "$ALONE/"
rm -f "$ALONE/einloom/libeinloom.so"  # a `make python` library: test this build's
cp "$EINLOOM_LIBRARY" "$ALONE/einloom/libEinloom.so"
cd "$ALONE" && env -u EINLOOM_LIBRARY "$PYTHON" -I -c '
import sys; sys.path.insert(0, ".")
import numpy as np, einloom
assert einloom.library_path.startswith(sys.path[0]) or "/einloom/" in einloom.library_path, einloom.library_path
k = einloom.compile("mk,nk->mn", {"m": 16, "n": 256, "k": 64}, "f16")
assert ".entry" in k.ptx and "chosen plan" in k.explain()
a, b = np.random.rand(3, 4), np.random.rand(5, 4)
assert np.allclose(einloom.einsum("mk,nk->mn", a, b), a @ b.T)
print("einloom alone:", einloom.version(), "from", einloom.library_path)
'
