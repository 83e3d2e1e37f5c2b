# The FFT convolution section of scripts/build-gpu-pack.sh (sourced there,
# with $COMPILE and $PACK; PACK_ONLY=fftconv builds a pack of this alone).
# fftconv/ holds the correctness cases (causal and circular, every length
# the fused kernel takes, gates, short filters, frequency cutoffs, odd batch
# counts, one filter for all heads, f16 and bf16, an f32 filter, sm_80),
# each run with einloom-run-rt --check against the f64 reference;
# fftconvbench/ the benchmark shapes (B = 64, H = 768) for bench_fftconv.py,
# which times PyTorch's FFT convolution beside each.
mkdir -p "$PACK/fftconv" "$PACK/fftconvbench"
# conv DIR NAME B H N L MODE DTYPE FILTER_DTYPE GATES(none|pre|post|both) CUTOFF [compiler args]
# ($KH filter rows: H, or 1 for one filter for every head.)
conv() { local dir=$1 name=$2 B=$3 H=$4 N=$5 L=$6 mode=$7 dt=$8 kdt=$9 gates=${10} cutoff=${11}
  shift 11
  local u="tensor<${B}x${H}x${N}x${dt}>"
  local k="tensor<${KH:-$H}x${L}x${kdt}>"
  local args="%u: $u, %k: $k" use="" types="$u, $k" attr=""
  if [ "$gates" = pre ] || [ "$gates" = both ]; then
    args+=", %g: $u"; use+=" pre_gate(%g)"; types+=", $u"
  fi
  if [ "$gates" = post ] || [ "$gates" = both ]; then
    args+=", %h: $u"; use+=" post_gate(%h)"; types+=", $u"
  fi
  if [ "$cutoff" != 0 ]; then attr=" {freq_cutoff = $cutoff : i64}"; fi
  local f="$PACK/$dir/$name.mlir"
  cat > "$f" <<MLIR
func.func @conv($args) -> $u {
  %y = loom.fftconv $mode %u, %k$use$attr : ($types) -> $u
  return %y : $u
}
MLIR
  "$COMPILE" "$f" "$@" -o "$PACK/$dir/$name.bundle"
}
conv fftconv c128_bf16_post      3 4 128  128  causal   bf16 bf16 post 0
conv fftconv c256_f16_both       2 8 256  256  causal   f16  f32  both 0
conv fftconv c512_bf16_k100      5 3 512  100  causal   bf16 f32  none 0
conv fftconv c1024_bf16_both     4 6 1024 1024 causal   bf16 bf16 both 0
conv fftconv c1024_f16_cut300    2 4 1024 1024 causal   f16  f32  post 300
conv fftconv c2048_bf16_pre      3 2 2048 2048 causal   bf16 bf16 pre 0
conv fftconv c2048_f16_cut64     2 2 2048 2048 causal   f16  f16  none 64
conv fftconv r256_bf16           2 3 256  256  circular bf16 bf16 none 0
conv fftconv r1024_f16_k33_both  5 2 1024 33   circular f16  f32  both 0
conv fftconv r4096_bf16_post     2 2 4096 4096 circular bf16 bf16 post 0
conv fftconv r4096_f16_cut64     2 1 4096 4096 circular f16  f32  none 64
conv fftconv c8192_bf16_both     2 2 8192 8192 causal   bf16 bf16 both 0
conv fftconv r8192_f16_k500      3 1 8192 500  circular f16  f32  none 0
conv fftconv c1024_bf16_sm80     2 4 1024 1024 causal   bf16 bf16 both 0 --target sm_80
# Two passes (N above 8192): outer kernels around inner rows; odd batches,
# short filters, a cutoff, the longest lengths, sm_80.
conv fftconv c16384_bf16_both    2 4 16384 16384 causal   bf16 bf16 both 0
conv fftconv r16384_f16_k1000    3 1 16384 1000  circular f16  f32  none 0
conv fftconv c32768_bf16_post    3 2 32768 32768 causal   bf16 bf16 post 0
conv fftconv c65536_f16_cut      2 1 65536 65536 causal   f16  f16  pre  4096
conv fftconv c262144_bf16        1 2 262144 262144 causal bf16 bf16 none 0
conv fftconv c1048576_bf16_post  1 2 1048576 1048576 causal bf16 bf16 post 0
conv fftconv r2097152_bf16       1 2 2097152 300000 circular bf16 f32 none 0
conv fftconv c16384_bf16_sm80    2 2 16384 16384 causal   bf16 bf16 both 0 --target sm_80
# One filter for every head (k: 1 x L).
KH=1 conv fftconv c512_bcast_f16 4 8 512  512  causal   f16  f16  post 0
# A dynamic batch (size buckets 1-8 and 9-64; gpu-check runs sizes 1, 5, 8,
# 9 and 64).
"$COMPILE" test/Inputs/fftconv/dynamic-batch.mlir --dynamic-max 64 --buckets 8,64 \
  -o "$PACK/fftconv/dyn_batch.bundle"
# The demo's gated convolution (examples/gated-conv.mlir).
"$COMPILE" examples/gated-conv.mlir -o "$PACK/fftconv/gated_conv_example.bundle"
for N in 256 1024 2048 4096 8192; do
  conv fftconvbench "gated_bf16_b64_h768_n$N" 64 768 $N $N causal bf16 bf16 both 0
done
# Two passes: B = 32 at 16K and 16 at 32K (FFTCONV.md's shapes), and 1M
# with B = 4, H = 256 (the workspace of H = 768 would pass 16 GiB).
conv fftconvbench gated_bf16_b32_h768_n16384 32 768 16384 16384 causal bf16 bf16 both 0
conv fftconvbench gated_bf16_b16_h768_n32768 16 768 32768 32768 causal bf16 bf16 both 0
conv fftconvbench gated_bf16_b4_h256_n1048576 4 256 1048576 1048576 causal bf16 bf16 both 0
# Frequency-sparse: 75% of the bins zero (cutoff M / 8), against the dense
# kernel above.
for N in 1024 4096; do
  conv fftconvbench "gated_bf16_b64_h768_n${N}_c$((N / 4))" 64 768 $N $N causal bf16 bf16 both $((N / 4))
done
rm -f "$PACK"/fftconv/*.mlir "$PACK"/fftconvbench/*.mlir
