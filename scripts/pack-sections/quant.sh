# The quantized section of scripts/build-gpu-pack.sh (sourced there, with
# its compile_into, $COMPILE and $PACK; PACK_ONLY=quant builds a pack of
# this alone).
# Weight-only quantized GEMMs (--weight-quant): quant/ holds the correctness
# cases (every code width, group size and zero-point mode, f16 and bf16,
# awkward M, N not a multiple of the tile, the weight as K x N, sm_80),
# each run with einloom-run-rt --check; quantbench/ the benchmark shapes
# against cuBLAS (bench_quant.py).
mkdir -p "$PACK/quant" "$PACK/quantbench"
wq() { local dir=$1 name=$2 spec=$3 sizes=$4 dt=$5 q=$6; shift 6
  compile_into "$dir" "$name" "$spec" "$sizes" "$dt" --weight-quant "$q" "$@"; }
wq quant w4g128a_f16_m16   "mk,nk->mn" m=16,n=4096,k=4096 f16 int4:g128:asym
wq quant w4c_bf16_m1       "mk,nk->mn" m=1,n=2048,k=1024 bf16 int4
wq quant w4g64_f16_m3      "mk,nk->mn" m=3,n=1024,k=2048 f16 int4:g64
wq quant w4g32a_f16_m33    "mk,nk->mn" m=33,n=512,k=1024 f16 int4:g32:asym
wq quant w4g128a_bf16_m17  "mk,nk->mn" m=17,n=4112,k=512 bf16 int4:g128:asym
wq quant w4g256a_f16_m16   "mk,nk->mn" m=16,n=2048,k=2048 f16 int4:g256:asym
wq quant w4g512_bf16_m3    "mk,nk->mn" m=3,n=1024,k=4096 bf16 int4:g512
wq quant w4g128_f16_m128   "mk,nk->mn" m=128,n=1024,k=2048 f16 int4:g128
wq quant w4g128a_f16_m300  "mk,nk->mn" m=300,n=768,k=1024 f16 int4:g128:asym
wq quant w8c_f16_m16       "mk,nk->mn" m=16,n=2048,k=2048 f16 int8
wq quant w8g128a_f16_m5    "mk,nk->mn" m=5,n=1024,k=1024 f16 int8:g128:asym
wq quant w8c_bf16_m9       "mk,nk->mn" m=9,n=1024,k=1024 bf16 int8
wq quant w8g64a_bf16_m1    "mk,nk->mn" m=1,n=512,k=2048 bf16 int8:g64:asym
wq quant w2g64a_f16_m7     "mk,nk->mn" m=7,n=1024,k=1024 f16 int2:g64:asym
wq quant w2c_bf16_m2       "mk,nk->mn" m=2,n=512,k=512 bf16 int2
wq quant w3g128a_f16_m16   "mk,nk->mn" m=16,n=2048,k=2048 f16 int3:g128:asym
wq quant w3c_bf16_m5       "mk,nk->mn" m=5,n=1040,k=1024 bf16 int3
wq quant w3g64_f16_m1      "mk,nk->mn" m=1,n=512,k=4096 f16 int3:g64
wq quant wg_w3g128a_bf16_m128 "mk,nk->mn" m=128,n=2048,k=1024 bf16 int3:g128:asym
wq quant w4g64a_kn_f16_m4  "mk,kn->mn" m=4,n=1024,k=1024 f16 int4:g64:asym
wq quant w4g128a_batched   "bmk,nk->bmn" b=2,m=3,n=1024,k=1024 f16 int4:g128:asym
wq quant w4g128a_sm80_m16  "mk,nk->mn" m=16,n=2048,k=2048 f16 int4:g128:asym --target sm_80
# sm_80 prefill: the planner's 64x128 tiles of 2x2 warps, and 128x128 tiles
# of eight warps (four of 64x64 spilled; 2026-12-07), not yet run on a GPU.
wq quant w8g128a_sm80_bf16_m300 "mk,nk->mn" m=300,n=1040,k=640 bf16 int8:g128:asym --target sm_80
wq quant w4g64a_sm80_bf16_m300_8w "mk,nk->mn" m=300,n=1040,k=640 bf16 int4:g64:asym --target sm_80 \
  --plan "#loom.plan<tile_m = 128, tile_n = 128, tile_k = 64, warps_m = 4, warps_n = 2, mma = m16n8k16, stages = 3, order = ba>"
# The wgmma core (codes dequantized into wgmma's register A; the planner's
# choice from 64 tokens on sm_90a, any token count with --plan): one and
# two warpgroups, 64 to 256 tokens a tile, partial weight and token tiles,
# every code width, split-K.
wgplan() { echo "#loom.plan<tile_m = $1, tile_n = $2, tile_k = 64, warps_m = $(($1 / 16)), warps_n = 1, \
mma = wgmma_k16, stages = $3, split_k = $4, order = ba, a_source = registers>"; }
wq quant wg_w4g128a_f16_m64    "mk,nk->mn" m=64,n=4096,k=4096 f16 int4:g128:asym
wq quant wg_w4g64a_bf16_m300   "mk,nk->mn" m=300,n=4112,k=1024 bf16 int4:g64:asym
wq quant wg_w8c_bf16_m100      "mk,nk->mn" m=100,n=1024,k=2048 bf16 int8
wq quant wg_w8g128a_f16_m64    "mk,nk->mn" m=64,n=2048,k=1024 f16 int8:g128:asym
wq quant wg_w2g64a_f16_m200    "mk,nk->mn" m=200,n=1024,k=1024 f16 int2:g64:asym
wq quant wg_w4g32_f16_m1000    "mk,nk->mn" m=1000,n=2048,k=2048 f16 int4:g32
wq quant wg_w4g64a_bf16_m17_s2 "mk,nk->mn" m=17,n=4112,k=1024 bf16 int4:g64:asym --plan "$(wgplan 64 32 3 2)"
wq quant wg_w4g128_f16_m256_t256 "mk,nk->mn" m=256,n=2048,k=2048 f16 int4:g128 --plan "$(wgplan 128 256 3 1)"
wq quant wg_w4g128a_bf16_batched "bmk,nk->bmn" b=3,m=70,n=1024,k=1024 bf16 int4:g128:asym
# The wgmma core's TMA form (producer = tma: bulk copies of the codes, TMA
# for the activations): a partial weight tile (N = 4112), a partial
# 256-token tile with 3-bit codes, one consumer warpgroup with 8-bit codes.
tmaplan() { echo "#loom.plan<tile_m = $1, tile_n = $2, tile_k = 64, warps_m = $(($1 / 16)), warps_n = 1, \
mma = wgmma_k16, stages = $3, split_k = 1, producer = tma, order = ba, a_source = registers>"; }
wq quant tma_w4g128a_f16_m128  "mk,nk->mn" m=128,n=4112,k=1024 f16 int4:g128:asym --plan "$(tmaplan 128 128 4)"
wq quant tma_w3g128a_bf16_m200 "mk,nk->mn" m=200,n=2048,k=2048 bf16 int3:g128:asym --plan "$(tmaplan 128 256 3)"
wq quant tma_w8c_f16_m64       "mk,nk->mn" m=64,n=1024,k=2048 f16 int8 --plan "$(tmaplan 64 64 4)"
# A dynamic token count (the JIT's size buckets): one bundle, a plan per
# bucket (mma.sync with split-K at few tokens, wgmma above), the count
# given at launch; gpu-check runs it at sizes across the buckets.
wq quant dyn_w4g128a_f16 "mk,nk->mn" "m=?,n=2064,k=1024" f16 int4:g128:asym --dynamic-max 1024
wq quant dyn_w3g64_bf16 "mk,nk->mn" "m=?,n=1024,k=512" bf16 int3:g64 --dynamic-max 1024
wq quant w8c_sm80_bf16_m4  "mk,nk->mn" m=4,n=1024,k=1024 bf16 int8 --target sm_80
# The a_fragment repack on the GPU, and a quantized layer with a fused bias
# and activation (test/Inputs/quant).
for f in test/Inputs/quant/pack-[0-9]*.mlir test/Inputs/quant/w4-bias-silu.mlir; do
  "$COMPILE" "$f" -o "$PACK/quant/$(basename "$f" .mlir).bundle"
done
# Weights that do not fuse: the dequantize runs as its own kernel.
wq quant dq_n40_w4g64a_f16 "mk,nk->mn" m=16,n=40,k=512 f16 int4:g64:asym
wq quant dq_g96_w8_bf16    "mk,nk->mn" m=5,n=512,k=4032 bf16 int8:g96
for kn in 4096,14336 14336,4096 8192,28672 28672,8192; do
  k=${kn%,*} n=${kn#*,}
  for m in 1 16 64 128; do
    wq quantbench "w4g128a_m${m}_k${k}_n${n}" "mk,nk->mn" "m=$m,n=$n,k=$k" f16 int4:g128:asym
  done
  for m in 1 16; do
    wq quantbench "w8c_m${m}_k${k}_n${n}" "mk,nk->mn" "m=$m,n=$n,k=$k" f16 int8
    wq quantbench "w3g128a_m${m}_k${k}_n${n}" "mk,nk->mn" "m=$m,n=$n,k=$k" f16 int3:g128:asym
  done
  # Prefill (the wgmma core), and at 64 and 128 tokens the mma.sync core
  # beside it, as the planner chose it before the wgmma core existed.
  wq quantbench "w4g128a_m4096_k${k}_n${n}" "mk,nk->mn" "m=4096,n=$n,k=$k" f16 int4:g128:asym
  wq quantbench "w4g128a_mma_m64_k${k}_n${n}" "mk,nk->mn" "m=64,n=$n,k=$k" f16 int4:g128:asym \
    --plan "#loom.plan<tile_m = 64, tile_n = 64, tile_k = 64, warps_m = 4, warps_n = 1, mma = m16n8k16, stages = 4, split_k = 1, order = ba>"
  wq quantbench "w4g128a_mma_m128_k${k}_n${n}" "mk,nk->mn" "m=128,n=$n,k=$k" f16 int4:g128:asym \
    --plan "#loom.plan<tile_m = 64, tile_n = 128, tile_k = 64, warps_m = 2, warps_n = 2, mma = m16n8k16, stages = 4, split_k = 1, order = ba>"
done
# The MLIR on stdin compiled into $PACK/DIR/NAME.bundle (more arguments go
# to the compiler).
mlir_into() { local dir=$1 name=$2; shift 2
  local f="$PACK/$dir/$name.mlir"
  cat > "$f"
  "$COMPILE" "$f" "$@" -o "$PACK/$dir/$name.bundle"
  rm "$f"
}
# W8A8: int8 activations and weights, the sum scaled per row (token) and per
# column (channel) in the epilogue (loom.einsum row_scale / col_scale), with
# and without a bias and activation; decode and prefill sizes, bf16, sm_80.
w8a8() { local dir=$1 name=$2 m=$3 n=$4 k=$5 out=$6 act=$7; shift 7
  local bias="" battr=""
  if [ "$act" != none ]; then
    bias=", %b: tensor<${n}xf32>"
    battr=" bias(%b : tensor<${n}xf32>)"
  fi
  mlir_into "$dir" "$name" "$@" <<MLIR
func.func @main(%x: tensor<${m}x${k}xi8>, %w: tensor<${n}x${k}xi8>, %sa: tensor<${m}xf32>, %sb: tensor<${n}xf32>$bias) -> tensor<${m}x${n}x${out}> {
  %y = loom.einsum "mk,nk->mn" (%x, %w)$battr row_scale(%sa : tensor<${m}xf32>) col_scale(%sb : tensor<${n}xf32>) {acc = i32$( [ "$act" != none ] && echo ", activation = #loom<activation $act>")} : (tensor<${m}x${k}xi8>, tensor<${n}x${k}xi8>) -> tensor<${m}x${n}x${out}>
  return %y : tensor<${m}x${n}x${out}>
}
MLIR
}
w8a8 quant w8a8_f16_m16_n14336_k4096 16 14336 4096 f16 none
w8a8 quant w8a8_f16_m1_n1024_k2048   1 1024 2048 f16 none
w8a8 quant w8a8_bf16_m33_n768_k512   33 768 512 bf16 silu
w8a8 quant w8a8_f16_m300_n512_k1024  300 512 1024 f16 relu
w8a8 quant w8a8_f16_m4096_n4096_k4096 4096 4096 4096 f16 none
w8a8 quant w8a8_f16_sm80_m16_n2048_k1024 16 2048 1024 f16 gelu --target sm_80
# Asymmetric per-token activations (i8 zero points): the dequantize form,
# which loom-fuse-dequantize turns into the i32 sum minus the zero points
# times the weight codes' sums (a reduction einsum), then the scales; M = 1,
# 17 and 300, bf16, sm_80.
w8a8z() { local name=$1 m=$2 n=$3 k=$4 out=$5; shift 5
  mlir_into quant "$name" "$@" <<MLIR
func.func @main(%xq: tensor<${m}x${k}xi8>, %sa: tensor<${m}xf32>, %za: tensor<${m}xi8>, %wq: tensor<${n}x${k}xi8>, %sb: tensor<${n}xf32>) -> tensor<${m}x${n}x${out}> {
  %x = loom.dequantize %xq, %sa, %za {quant = #loom.quant<bits = 8, kind = signed, scheme = asymmetric, granularity = channel, axis = 0, scale_type = f32>} : (tensor<${m}x${k}xi8>, tensor<${m}xf32>, tensor<${m}xi8>) -> tensor<${m}x${k}x${out}>
  %w = loom.dequantize %wq, %sb {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<${n}x${k}xi8>, tensor<${n}xf32>) -> tensor<${n}x${k}x${out}>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<${m}x${k}x${out}>, tensor<${n}x${k}x${out}>) -> tensor<${m}x${n}x${out}>
  return %y : tensor<${m}x${n}x${out}>
}
MLIR
}
w8a8z w8a8z_f16_m16_n14336_k4096 16 14336 4096 f16
w8a8z w8a8z_f16_m1_n1024_k2048   1 1024 2048 f16
w8a8z w8a8z_bf16_m17_n768_k512   17 768 512 bf16
w8a8z w8a8z_f16_m300_n512_k1024  300 512 1024 f16
w8a8z w8a8z_f16_sm80_m16_n2048_k1024 16 2048 1024 f16 --target sm_80
# Dynamic per-token quantization (loom.dynamic_quantize): the kernel alone
# at odd sizes (its codes and scales checked exactly), and W8A8 layers
# from 16-bit activations (quantize, then the fused i32 einsum with the
# scales it found), M = 1, 16, 33, 300, f16/bf16/f32, sm_80.
dqk() { local name=$1 m=$2 k=$3 t=$4; shift 4
  mlir_into quant "$name" "$@" <<MLIR
func.func @main(%x: tensor<${m}x${k}x${t}>) -> (tensor<${m}x${k}xi8>, tensor<${m}xf32>) {
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<${m}x${k}x${t}>) -> (tensor<${m}x${k}xi8>, tensor<${m}xf32>)
  return %q, %s : tensor<${m}x${k}xi8>, tensor<${m}xf32>
}
MLIR
}
dqk dq_f16_m5_k4097    5 4097 f16
dqk dq_bf16_m300_k1000 300 1000 bf16
dqk dq_f32_m1_k31      1 31 f32 --target sm_80
dql() { local name=$1 m=$2 n=$3 k=$4 t=$5; shift 5
  local quant="#loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>"
  mlir_into quant "$name" "$@" <<MLIR
func.func @main(%x: tensor<${m}x${k}x${t}>, %wq: tensor<${n}x${k}xi8>, %sb: tensor<${n}xf32>) -> tensor<${m}x${n}x${t}> {
  %q, %s = loom.dynamic_quantize %x {quant = $quant} : (tensor<${m}x${k}x${t}>) -> (tensor<${m}x${k}xi8>, tensor<${m}xf32>)
  %xd = loom.dequantize %q, %s {quant = $quant} : (tensor<${m}x${k}xi8>, tensor<${m}xf32>) -> tensor<${m}x${k}x${t}>
  %w = loom.dequantize %wq, %sb {quant = $quant} : (tensor<${n}x${k}xi8>, tensor<${n}xf32>) -> tensor<${n}x${k}x${t}>
  %y = loom.einsum "mk,nk->mn" (%xd, %w) : (tensor<${m}x${k}x${t}>, tensor<${n}x${k}x${t}>) -> tensor<${m}x${n}x${t}>
  return %y : tensor<${m}x${n}x${t}>
}
MLIR
}
dql dql_f16_m16_n14336_k4096 16 14336 4096 f16
dql dql_bf16_m33_n768_k1024  33 768 1024 bf16
dql dql_f16_m1_n1024_k2048   1 1024 2048 f16
dql dql_f32_m300_n512_k512   300 512 512 f32
dql dql_f16_sm80_m16_n2048_k1024 16 2048 1024 f16 --target sm_80
"$COMPILE" examples/w8a8-linear.mlir -o "$PACK/quant/w8a8_linear_example.bundle"
# FP8 dynamic quantization in groups of the last dimension (e4m3 and
# e5m2, groups of 128 and a partial last one, bf16 / f16 / f32 inputs), and
# the DeepSeek-V3-style linear layer it feeds (the block-scaled einsum).
dq8() { local name=$1 rows=$2 cols=$3 ty=$4 kind=$5 g=$6
  local code=f8E4M3FN groups=$(( (cols + g - 1) / g ))
  [ "$kind" = e5m2 ] && code=f8E5M2
  mlir_into quant "$name" <<MLIR
func.func @main(%x: tensor<${rows}x${cols}x${ty}>) -> (tensor<${rows}x${cols}x${code}>, tensor<${rows}x${groups}xf32>) {
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = ${kind}, granularity = group, axis = 1, group_size = ${g}, scale_type = f32>} : (tensor<${rows}x${cols}x${ty}>) -> (tensor<${rows}x${cols}x${code}>, tensor<${rows}x${groups}xf32>)
  return %q, %s : tensor<${rows}x${cols}x${code}>, tensor<${rows}x${groups}xf32>
}
MLIR
}
dq8 dq8_bf16_300x1000_e4m3 300 1000 bf16 e4m3 128
dq8 dq8_f16_17x4096_e5m2   17 4096 f16 e5m2 128
dq8 dq8_f32_5x200_g32      5 200 f32 e4m3 32
"$COMPILE" test/Inputs/quant/fp8-dynamic-linear.mlir -o "$PACK/quant/fp8_dynamic_linear.bundle"
# The W8A8 benchmark shapes (bench_w8a8.py): M = 16 and 4096 against (K, N)
# = (4096, 14336), (8192, 28672), (7168, 16384).
mkdir -p "$PACK/w8a8bench"
for m in 16 4096; do
  for kn in 4096,14336 8192,28672 7168,16384; do
    k=${kn%,*} n=${kn#*,}
    w8a8 w8a8bench "w8a8_m${m}_k${k}_n${n}" "$m" "$n" "$k" f16 none
  done
done
# FP8 with block scales (loom.einsum scale_block, DeepSeek-V3's recipe:
# activations scaled per token per BK channels, weights per BN x BK block;
# the TMA wgmma kernel promotes each block's partial sums into f32 times
# its two scales). fp8b DIR CASE M N K OUT BK BN TYPE [PLAN]: partial
# blocks along K and N (K = 1008, N = 1000), a block of two K tiles with a
# partial last (K = 640, BK = 256), e5m2, f16 operands (k16 tiles of 64: two
# a block), decode, and a ping-pong schedule.
fp8b() { local dir=$1 name=$2 m=$3 n=$4 k=$5 out=$6 bk=$7 bn=$8 ty=$9 plan=${10:-}
  local kb=$(( (k + bk - 1) / bk )) nb=$(( (n + bn - 1) / bn ))
  mlir_into "$dir" "$name" <<MLIR
func.func @main(%x: tensor<${m}x${k}x${ty}>, %w: tensor<${n}x${k}x${ty}>, %sa: tensor<${m}x${kb}xf32>, %sb: tensor<${nb}x${kb}xf32>) -> tensor<${m}x${n}x${out}> {
  %y = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%sa : tensor<${m}x${kb}xf32>) col_scale(%sb : tensor<${nb}x${kb}xf32>) {scale_block = array<i64: ${bk}, ${bn}>${plan:+, plan = $plan}} : (tensor<${m}x${k}x${ty}>, tensor<${n}x${k}x${ty}>) -> tensor<${m}x${n}x${out}>
  return %y : tensor<${m}x${n}x${out}>
}
MLIR
}
fp8b quant fp8b_bf16_m4096_n2048_k7168 4096 2048 7168 bf16 128 128 f8E4M3FN
fp8b quant fp8b_bf16_m1000_n1000_k1008 1000 1000 1008 bf16 128 128 f8E4M3FN
fp8b quant fp8b_f16_m33_n768_k512      33 768 512 f16 128 128 f8E4M3FN
fp8b quant fp8b_bf16_m1_n4096_k1024    1 4096 1024 bf16 128 128 f8E4M3FN
fp8b quant fp8b_bf16_m128_n256_k640_b256 128 256 640 bf16 256 128 f8E4M3FN
fp8b quant fp8b_e5m2_bf16_m256_n512_k1024 256 512 1024 bf16 128 128 f8E5M2
fp8b quant fp8b_f16in_m300_n512_k1000  300 512 1000 f16 128 128 f16
fp8b quant fp8b_pingpong_m512_n1024_k2048 512 1024 2048 bf16 128 128 f8E4M3FN \
  "#loom.plan<tile_m = 64, tile_n = 128, tile_k = 128, warps_m = 8, warps_n = 1, mma = wgmma_k32, stages = 4, producer = tma, schedule = pingpong>"
# Block scales on the transposed (order = ba: tokens on the MMA's N) and
# split-K kernels: the planner does not choose them until they have run,
# so these give the plan.
fp8plan() { echo "#loom.plan<tile_m = $1, tile_n = $2, tile_k = 128, warps_m = $(($1 / 16)), warps_n = 1, \
mma = wgmma_k32, stages = $3, split_k = $4, producer = tma$5>"; }
fp8b quant fp8b_ba_m16_n4096_k1024 16 4096 1024 bf16 128 128 f8E4M3FN "$(fp8plan 64 16 8 1 ', order = ba')"
fp8b quant fp8b_ba_m1_n1000_k1008 1 1000 1008 bf16 128 128 f8E4M3FN "$(fp8plan 64 8 8 1 ', order = ba')"
fp8b quant fp8b_ba_m17_n2048_k2048 17 2048 2048 f16 128 128 f8E4M3FN "$(fp8plan 64 24 8 1 ', order = ba')"
fp8b quant fp8b_ba_s2_m64_n4096_k7168 64 4096 7168 bf16 128 128 f8E4M3FN "$(fp8plan 64 64 6 2 ', order = ba')"
fp8b quant fp8b_s2_m256_n1024_k2048 256 1024 2048 bf16 128 128 f8E4M3FN "$(fp8plan 128 128 4 2 '')"
# The FP8 benchmark (bench_fp8block.py): M = 16 and 4096 against DeepGEMM's
# (N, K) = (7168, 16384), (4096, 7168), (2112, 7168), block-scaled (fp8b_*)
# beside the same product without scales (fp8u_*, the unscaled fp8 kernel);
# at 16 tokens also on the transposed kernel given as a plan (fp8bt_*; the
# planner chooses it there since 2026-12-07, so the two columns should agree).
mkdir -p "$PACK/fp8bench"
for m in 16 4096; do
  for nk in 7168,16384 4096,7168 2112,7168; do
    n=${nk%,*} k=${nk#*,}
    fp8b fp8bench "fp8b_m${m}_n${n}_k${k}" "$m" "$n" "$k" bf16 128 128 f8E4M3FN
    compile_into fp8bench "fp8u_m${m}_n${n}_k${k}" "mk,nk->mn" "m=$m,n=$n,k=$k" f8E4M3FN --out bf16
    if [ "$m" = 16 ]; then
      fp8b fp8bench "fp8bt_m${m}_n${n}_k${k}" "$m" "$n" "$k" bf16 128 128 f8E4M3FN \
        "$(fp8plan 64 16 8 1 ', order = ba')"
    fi
  done
done
