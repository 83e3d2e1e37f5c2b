#!/usr/bin/env bash
# bench/quant_layout.py (the benchmarks' reading of an a_fragment weight,
# which bench_quant.py dequantizes its reference from) against the
# package's packer: random codes of 2, 3, 4 and 8 bits, signed and
# unsigned, packed by einloom.pack_weight (the C API's packer) and read
# back, must come back unchanged. (On the H200, 2026-12-07, the reading
# indexed 3-bit codes as five a word and ran out of bounds.)
set -euo pipefail
SRC=$1 BUILD=$2
PYTHON=${EINLOOM_PYTHON:-/usr/bin/python3}
if ! "$PYTHON" -c "import numpy" 2>/dev/null; then
  echo "skipped: $PYTHON lacks NumPy (apt install python3-numpy)"
  exit 77
fi
EINLOOM_LIBRARY="$BUILD/lib/libEinloom.so" PYTHONPATH="$SRC/python:$SRC/bench" "$PYTHON" - <<'PY'
import numpy as np
import einloom
from quant_layout import a_fragment_codes

rng = np.random.default_rng(7)
for bits in (2, 3, 4, 8):
    for signed in (False, True):
        n, k = 48, 192
        lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
        codes = rng.integers(lo, hi, (n, k))
        words = einloom.pack_weight(codes, bits=bits, signed=signed).astype(np.int64) & 0xFFFFFFFF
        got = a_fragment_codes(words, n, k, bits, np.arange)
        if signed:
            got = np.where(got >= 1 << (bits - 1), got - (1 << bits), got)
        assert got.shape == (n, k), got.shape
        bad = np.argwhere(got != codes)
        assert bad.size == 0, f"{bits}-bit {'signed' if signed else 'unsigned'}: " \
            f"{len(bad)} codes differ, first at {bad[0].tolist()}"
print("quant_layout.py: PASS (2, 3, 4, 8 bits, signed and unsigned)")
PY
