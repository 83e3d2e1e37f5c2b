#!/usr/bin/env bash
# make demo: parse, verify, canonicalize and reference-evaluate examples/demo.mlir.
set -euo pipefail
BUILD=${1:-build}
BIN="$BUILD/bin"
EXAMPLE=examples/demo.mlir

echo "== Einloom demo: $EXAMPLE =="
echo
echo "-- 1. parse and verify (einloom-opt), then canonicalize --"
"$BIN/einloom-opt" "$EXAMPLE" -canonicalize > /dev/null
echo "ok: $(grep -c 'loom\.' "$EXAMPLE") loom ops verified"
echo
for fn in attention_scores w4a16_linear long_conv; do
  echo "-- 2. reference evaluation of @$fn (f64 accumulation, seed 1) --"
  "$BIN/einloom-run" --reference "$EXAMPLE" --function "$fn" --seed 1
  echo
done
echo "Kernels for these programs come with plan selection and code generation;"
echo "see README.md for the state of each part."
