#!/usr/bin/env bash
# make demo: the foundation demo (parse, verify, reference-evaluate
# examples/demo.mlir), then compile examples/gemm.mlir to PTX with the plan
# and ptxas' resource usage, and run it on the GPU when there is one; then
# the same for a W4A16 linear layer (examples/w4-linear.mlir), a sparse
# one (examples/sparse-linear.mlir, run at 80% sparsity) and a W8A8 one
# with per-token activation quantization (examples/w8a8-linear.mlir).
set -euo pipefail
BUILD=${1:-build}
BIN="$BUILD/bin"

echo "== 1. examples/demo.mlir: parse, verify, canonicalize =="
"$BIN/einloom-opt" examples/demo.mlir -canonicalize > /dev/null
echo "ok: $(grep -c 'loom\.' examples/demo.mlir) loom ops verified"
echo
for fn in attention_scores w4a16_linear long_conv; do
  echo "== 2. CPU reference of @$fn (f64 accumulation, seed 1) =="
  "$BIN/einloom-run" --reference examples/demo.mlir --function "$fn" --seed 1
  echo
done

echo "== 3. examples/gemm.mlir: plan, PTX, ptxas =="
OUTDIR=$(mktemp -d)
trap 'rm -rf "$OUTDIR"' EXIT
"$BIN/einloom-compile" examples/gemm.mlir --target sm_90a --emit ptx -o "$OUTDIR/gemm.ptx" \
  --explain --ptxas-report 2>&1
echo "PTX: $(wc -l < "$OUTDIR/gemm.ptx") lines; $(grep -c 'wgmma.mma_async' "$OUTDIR/gemm.ptx") wgmma.mma_async, $(grep -c 'mma.sync' "$OUTDIR/gemm.ptx") mma.sync, $(grep -c 'ldmatrix' "$OUTDIR/gemm.ptx") ldmatrix; $(grep -c 'cp.async.cg' "$OUTDIR/gemm.ptx") cp.async"
"$BIN/einloom-compile" examples/gemm.mlir --target sm_90a -o "$OUTDIR/gemm.bundle"
echo "bundle: $(wc -c < "$OUTDIR/gemm.bundle") bytes"
echo
echo "== 4. run on the GPU, check against the CPU reference, time it =="
if "$BIN/einloom-run-rt" "$OUTDIR/gemm.bundle" --bench --label gemm > "$OUTDIR/run.log" 2>&1; then
  cat "$OUTDIR/run.log"
elif grep -q "cannot load the CUDA driver\|no CUDA device" "$OUTDIR/run.log"; then
  echo "no GPU on this machine, so the run is skipped: $(grep -m1 '^error:' "$OUTDIR/run.log")"
else
  cat "$OUTDIR/run.log"
  exit 1
fi
echo
echo "== 5. examples/w4-linear.mlir: a W4A16 linear layer, one mixed-input kernel =="
"$BIN/einloom-compile" examples/w4-linear.mlir --target sm_90a --explain -o "$OUTDIR/w4.bundle" 2>&1 |
  grep -E "^fused|chosen plan|family|fused epilogue"
if "$BIN/einloom-run-rt" "$OUTDIR/w4.bundle" --bench --label w4_linear > "$OUTDIR/w4.log" 2>&1; then
  cat "$OUTDIR/w4.log"
elif grep -q "cannot load the CUDA driver\|no CUDA device" "$OUTDIR/w4.log"; then
  echo "no GPU on this machine, so the run is skipped"
else
  cat "$OUTDIR/w4.log"
  exit 1
fi
echo
echo "== 6. examples/sparse-linear.mlir: a sparse (Tiled-CSL) linear layer, one kernel =="
"$BIN/einloom-compile" examples/sparse-linear.mlir --target sm_90a --explain -o "$OUTDIR/sparse.bundle" 2>&1 |
  grep -E "chosen plan|family|fused epilogue"
if "$BIN/einloom-run-rt" "$OUTDIR/sparse.bundle" --density 0.2 --bench --label sparse_linear > "$OUTDIR/sparse.log" 2>&1; then
  cat "$OUTDIR/sparse.log"
elif grep -q "cannot load the CUDA driver\|no CUDA device" "$OUTDIR/sparse.log"; then
  echo "no GPU on this machine, so the run is skipped"
else
  cat "$OUTDIR/sparse.log"
  exit 1
fi
echo
echo "== 7. examples/w8a8-linear.mlir: W8A8, activations quantized per token at run time =="
"$BIN/einloom-compile" examples/w8a8-linear.mlir --target sm_90a --explain -o "$OUTDIR/w8a8.bundle" 2>&1 |
  grep -E "fused|chosen plan|family|fused epilogue|is memory-bound"
if "$BIN/einloom-run-rt" "$OUTDIR/w8a8.bundle" --bench --label w8a8_linear > "$OUTDIR/w8a8.log" 2>&1; then
  cat "$OUTDIR/w8a8.log"
elif grep -q "cannot load the CUDA driver\|no CUDA device" "$OUTDIR/w8a8.log"; then
  echo "no GPU on this machine, so the run is skipped"
else
  cat "$OUTDIR/w8a8.log"
  exit 1
fi
