#!/usr/bin/env bash
# bench/plot.py on a sample of bench_decode.py's JSON: both plots written
# as PNG files; on a sample of bench_sparse.py's (made-up numbers): the
# speed-up against sparsity; a file that is not a result is refused with
# exit status 1.
set -euo pipefail
SRC=$1
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
/usr/bin/python3 "$SRC/bench/plot.py" "$SRC/test/bench/decode-sample.json" --out "$OUT"
for f in decode-sample-speedup.png decode-sample-bandwidth.png; do
  head -c 8 "$OUT/$f" | od -An -c | grep -q "P   N   G" || { echo "FAIL: $f is not a PNG"; exit 1; }
done
/usr/bin/python3 "$SRC/bench/plot.py" "$SRC/test/bench/sparse-sample.json" --out "$OUT"
head -c 8 "$OUT/sparse-sample-density.png" | od -An -c | grep -q "P   N   G" || { echo "FAIL: no sparse plot"; exit 1; }
echo '{"family": "sparse", "rows": [{"case": "x"}]}' > "$OUT/empty.json"
if /usr/bin/python3 "$SRC/bench/plot.py" "$OUT/empty.json" --out "$OUT" 2> "$OUT/err.txt"; then
  echo "FAIL: a sparse file without timings was accepted"; exit 1
fi
echo '{"family": "x"}' > "$OUT/bad.json"
if /usr/bin/python3 "$SRC/bench/plot.py" "$OUT/bad.json" --out "$OUT" 2> "$OUT/err.txt"; then
  echo "FAIL: a file without rows was accepted"; exit 1
fi
grep -q "not a benchmark result" "$OUT/err.txt" || { echo "FAIL: no message"; cat "$OUT/err.txt"; exit 1; }
echo "plot.py: PASS"
