#!/usr/bin/env bash
# The differential fuzzer's fixed seed set, in CPU mode (scripts/einsum-fuzz.py):
# every case compiles to a cubin without spills or internal errors, and the
# reference agrees with numpy.einsum. Needs the distribution's Python with
# NumPy (python3-numpy, which setup.sh installs) and ptxas; says why it skips
# without them (exit 77: ctest's "skipped").
set -uo pipefail
BUILD=$1
PYTHON=${EINLOOM_PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
if ! "$PYTHON" -c "import numpy" 2>/dev/null; then
  echo "skipped: $PYTHON has no NumPy (apt install python3-numpy)"
  exit 77
fi
if [ -z "${EINLOOM_PTXAS:-}" ] && [ ! -x /usr/local/cuda/bin/ptxas ] && ! command -v ptxas >/dev/null; then
  echo "skipped: no ptxas (the CUDA toolkit) to assemble the cases"
  exit 77
fi
exec "$PYTHON" "$HERE/../../scripts/einsum-fuzz.py" --cases "${FUZZ_CASES:-60}" --seed 20261205 \
  --jobs "$(nproc)" --build "$BUILD"
