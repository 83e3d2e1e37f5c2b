#!/usr/bin/env bash
# make demo: the foundation demo (parse, verify, reference-evaluate
# examples/demo.mlir), then compile examples/gemm.mlir to PTX with the plan
# and ptxas' resource usage, and run it on the GPU when there is one; then
# the same for a W4A16 linear layer (examples/w4-linear.mlir), a sparse
# one (examples/sparse-linear.mlir, run at 80% sparsity) and a W8A8 one
# with per-token activation quantization (examples/w8a8-linear.mlir), and a
# gated long convolution on tensor cores (examples/gated-conv.mlir).
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
# Runs bundle NAME on the GPU (checked against the CPU reference, timed)
# with the runner's further arguments; on a machine without one, says so.
run_or_skip() { local name=$1; shift
  if "$BIN/einloom-run-rt" "$OUTDIR/$name.bundle" --bench "$@" > "$OUTDIR/$name.log" 2>&1; then
    cat "$OUTDIR/$name.log"
  elif grep -q "cannot load the CUDA driver\|no CUDA device" "$OUTDIR/$name.log"; then
    echo "no GPU on this machine, so the run is skipped: $(grep -m1 '^error:' "$OUTDIR/$name.log")"
  else
    cat "$OUTDIR/$name.log"
    exit 1
  fi
}
"$BIN/einloom-compile" examples/gemm.mlir --target sm_90a --emit ptx -o "$OUTDIR/gemm.ptx" \
  --explain --ptxas-report 2>&1
echo "PTX: $(wc -l < "$OUTDIR/gemm.ptx") lines; $(grep -c 'wgmma.mma_async' "$OUTDIR/gemm.ptx") wgmma.mma_async, $(grep -c 'mma.sync' "$OUTDIR/gemm.ptx") mma.sync, $(grep -c 'ldmatrix' "$OUTDIR/gemm.ptx") ldmatrix; $(grep -c 'cp.async.cg' "$OUTDIR/gemm.ptx") cp.async"
"$BIN/einloom-compile" examples/gemm.mlir --target sm_90a -o "$OUTDIR/gemm.bundle"
echo "bundle: $(wc -c < "$OUTDIR/gemm.bundle") bytes"
echo
echo "== 4. run on the GPU, check against the CPU reference, time it =="
run_or_skip gemm --label gemm
echo
echo "== 5. examples/w4-linear.mlir: a W4A16 linear layer, one mixed-input kernel =="
"$BIN/einloom-compile" examples/w4-linear.mlir --target sm_90a --explain -o "$OUTDIR/w4.bundle" 2>&1 |
  grep -E "^fused|chosen plan|family|fused epilogue"
run_or_skip w4 --label w4_linear
echo
echo "== 6. examples/sparse-linear.mlir: a sparse (Tiled-CSL) linear layer, one kernel =="
"$BIN/einloom-compile" examples/sparse-linear.mlir --target sm_90a --explain -o "$OUTDIR/sparse.bundle" 2>&1 |
  grep -E "chosen plan|family|fused epilogue"
run_or_skip sparse --density 0.2 --label sparse_linear
echo
echo "== 7. examples/w8a8-linear.mlir: W8A8, activations quantized per token at run time =="
"$BIN/einloom-compile" examples/w8a8-linear.mlir --target sm_90a --explain -o "$OUTDIR/w8a8.bundle" 2>&1 |
  grep -E "fused|chosen plan|family|fused epilogue|is memory-bound"
run_or_skip w8a8 --label w8a8_linear
echo
echo "== 8. examples/gated-conv.mlir: a gated long convolution (FFT on tensor cores) =="
"$BIN/einloom-compile" examples/gated-conv.mlir --target sm_90a --explain -o "$OUTDIR/conv.bundle" 2>&1 |
  grep -E "loom.fftconv|Monarch|skipped|spectra|estimate"
run_or_skip conv --label gated_conv
