# The sparse section of scripts/build-gpu-pack.sh (sourced there, with its
# compile_into and $PACK; PACK_ONLY=sparse builds a pack of this alone).
# Sparse weights (--sparse tiled_csl[:R], bitmap[:R], two_four): sparse/ holds the correctness
# cases (odd sizes, partial edge tiles, bf16, tiles of 128 rows, M from 1 to
# 2048, sm_80), each run with --check at several densities; sparsebench/ the
# shapes of issue 21 against cuBLAS dense and cuSPARSE (bench_sparse.py).
mkdir -p "$PACK/sparse" "$PACK/sparsebench"
sp() { local dir=$1 name=$2 spec=$3 sizes=$4 dt=$5 fmt=$6; shift 6
  compile_into "$dir" "$name" "$spec" "$sizes" "$dt" --sparse "$fmt" "$@"; }
sp sparse sp_f16_m16_n1024_k4096       "mk,nk->mn" m=16,n=1024,k=4096 f16 tiled_csl
sp sparse sp_f16_m1_n4096_k4096        "mk,nk->mn" m=1,n=4096,k=4096 f16 tiled_csl
sp sparse sp_f16_m17_n777_k1000        "mk,nk->mn" m=17,n=777,k=1000 f16 tiled_csl
sp sparse sp_bf16_m3_n1000_k200_t128   "mk,nk->mn" m=3,n=1000,k=200 bf16 tiled_csl:128
sp sparse sp_f16_m64_n2048_k2048_t128  "mk,nk->mn" m=64,n=2048,k=2048 f16 tiled_csl:128
sp sparse sp_bf16_m33_n4096_k1024      "mk,nk->mn" m=33,n=4096,k=1024 bf16 tiled_csl
sp sparse sp_f16_m300_n512_k512        "mk,nk->mn" m=300,n=512,k=512 f16 tiled_csl
sp sparse sp_f16_m2048_n1024_k1024     "mk,nk->mn" m=2048,n=1024,k=1024 f16 tiled_csl
sp sparse sp_f16_batched_b2_m8         "bmk,nk->bmn" b=2,m=8,n=640,k=768 f16 tiled_csl
sp sparse sp_f16_sm80_m16              "mk,nk->mn" m=16,n=1024,k=2048 f16 tiled_csl --target sm_80
# Words prefetched 2 and 3 tiles ahead (forced plans): fewer K tiles than
# the pipeline's depth (K = 200: 4 tiles), a split whose last part is short,
# tiles of 128 rows, bf16.
spp() { local name=$1 sizes=$2 dt=$3 fmt=$4 tm=$5 tn=$6 split=$7 pf=$8 producer=${9:-tiled_csl}
  sp sparse "$name" "mk,nk->mn" "$sizes" "$dt" "$fmt" --plan "#loom.plan<tile_m = $tm, \
tile_n = $tn, tile_k = 64, warps_m = 4, warps_n = 1, mma = m16n8k16, stages = 4, split_k = $split, \
producer = $producer, order = ba, prefetch = $pf>"; }
spp sp_p3_f16_m17_n777_k1000_s2   m=17,n=777,k=1000  f16  tiled_csl     64  32 2 3
spp sp_p3_bf16_m5_n300_k200       m=5,n=300,k=200    bf16 tiled_csl     64  16 1 3
spp sp_p2_f16_m16_n1000_k4160_s4  m=16,n=1000,k=4160 f16  tiled_csl     64  16 4 2
spp sp_p2_f16_m33_n640_k1536_t128 m=33,n=640,k=1536  f16  tiled_csl:128 128 64 1 2
# 2:4 weights (--sparse two_four): odd N, K not a multiple of 64, bf16,
# M = 1 and 33, a split, tiles of 128 rows (a forced plan), sm_80.
sp sparse tf_f16_m16_n1024_k4096       "mk,nk->mn" m=16,n=1024,k=4096 f16 two_four
sp sparse tf_bf16_m1_n1000_k208        "mk,nk->mn" m=1,n=1000,k=208 bf16 two_four
sp sparse tf_f16_m33_n777_k1024        "mk,nk->mn" m=33,n=777,k=1024 f16 two_four
sp sparse tf_f16_m300_n512_k512        "mk,nk->mn" m=300,n=512,k=512 f16 two_four
sp sparse tf_f16_sm80_m8_n640_k768     "mk,nk->mn" m=8,n=640,k=768 f16 two_four --target sm_80
sp sparse tf_f16_m16_n512_k2048_t128   "mk,nk->mn" m=16,n=512,k=2048 f16 two_four --plan "#loom.plan<tile_m = 128, \
tile_n = 16, tile_k = 64, warps_m = 4, warps_n = 1, mma = m16n8k16, stages = 4, split_k = 2, \
producer = two_four, order = ba, prefetch = 2>"
# The planner picks mma.sp (m16n8k32_sp, compressed stages) for the cases
# above; the decoding form (m16n8k16) is forced here at the same awkward
# shapes, and mma.sp with tiles of 128 rows, 2 x 2 warps of 128 tokens
# and a split.
tfp() { local name=$1 sizes=$2 dt=$3 mma=$4 tm=$5 tn=$6 wm=$7 wn=$8 split=$9 pf=${10}
  sp sparse "$name" "mk,nk->mn" "$sizes" "$dt" two_four --plan "#loom.plan<tile_m = $tm, \
tile_n = $tn, tile_k = 64, warps_m = $wm, warps_n = $wn, mma = $mma, stages = 4, split_k = $split, \
producer = two_four, order = ba, prefetch = $pf>"; }
tfp tfd_f16_m16_n1024_k4096    m=16,n=1024,k=4096 f16  m16n8k16    64  16  4 1 1 4
tfp tfd_bf16_m33_n777_k1024    m=33,n=777,k=1024  bf16 m16n8k16    64  64  4 1 2 2
tfp tfs_f16_m16_n512_k2048_t128 m=16,n=512,k=2048 f16  m16n8k32_sp 128 16  4 1 2 1
tfp tfs_bf16_m128_n640_k1088   m=128,n=640,k=1088 bf16 m16n8k32_sp 64  128 2 2 1 1
tfp tfs_f16_m100_n300_k192_s2  m=100,n=300,k=192  f16  m16n8k32_sp 64  128 2 2 2 1
# Bitmap weights (--sparse bitmap[:R]): the same awkward shapes, tiles of
# 128 rows, bf16, a split, M from 1 to 300, sm_80, and forced plans 1 and
# 3 tiles deep (fewer K tiles than the depth: K = 200).
sp sparse bm_f16_m16_n1024_k4096       "mk,nk->mn" m=16,n=1024,k=4096 f16 bitmap
sp sparse bm_f16_m1_n4096_k4096        "mk,nk->mn" m=1,n=4096,k=4096 f16 bitmap
sp sparse bm_f16_m17_n777_k1000        "mk,nk->mn" m=17,n=777,k=1000 f16 bitmap
sp sparse bm_bf16_m3_n1000_k200_t128   "mk,nk->mn" m=3,n=1000,k=200 bf16 bitmap:128
sp sparse bm_f16_m300_n512_k512        "mk,nk->mn" m=300,n=512,k=512 f16 bitmap
sp sparse bm_bf16_m33_n4096_k1024      "mk,nk->mn" m=33,n=4096,k=1024 bf16 bitmap
sp sparse bm_f16_sm80_m8_n640_k768     "mk,nk->mn" m=8,n=640,k=768 f16 bitmap --target sm_80
spp bm_p1_f16_m16_n1000_k4160_s4  m=16,n=1000,k=4160 f16  bitmap     64  16 4 1 bitmap
spp bm_p3_bf16_m5_n300_k200       m=5,n=300,k=200    bf16 bitmap     64  16 1 3 bitmap
spp bm_p2_f16_m33_n640_k1536_t128 m=33,n=640,k=1536  f16  bitmap:128 128 64 1 2 bitmap
# Block-sparse weights (--sparse block_csr; --density is then the fraction
# of 64 x 64 blocks stored): M from 1 to 300, bf16, sm_80.
sp sparse bsr_f16_m16_n1024_k4096      "mk,nk->mn" m=16,n=1024,k=4096 f16 block_csr
sp sparse bsr_f16_m33_n256_k192        "mk,nk->mn" m=33,n=256,k=192 f16 block_csr
sp sparse bsr_f16_m300_n512_k512       "mk,nk->mn" m=300,n=512,k=512 f16 block_csr
sp sparse bsr_bf16_m3_n640_k1536       "mk,nk->mn" m=3,n=640,k=1536 bf16 block_csr
sp sparse bsr_f16_sm80_m64_n512_k1024  "mk,nk->mn" m=64,n=512,k=1024 f16 block_csr --target sm_80
"$COMPILE" test/Inputs/sparse/weight-first.mlir -o "$PACK/sparse/sp_weight_first.bundle"
"$COMPILE" examples/sparse-linear.mlir -o "$PACK/sparse/sp_linear_bias_gelu.bundle"
for kn in 8192,28672 28672,8192 4096,14336; do
  k=${kn%,*} n=${kn#*,}
  sp sparsebench "sp_m16_k${k}_n${n}" "mk,nk->mn" "m=16,n=$n,k=$k" f16 tiled_csl
done
# 2:4 at the same shapes (bench_sparse.py at density 1: pruned to 50%).
mkdir -p "$PACK/sparsebench24"
for kn in 8192,28672 28672,8192 4096,14336; do
  k=${kn%,*} n=${kn#*,}
  sp sparsebench24 "tf_m16_k${k}_n${n}" "mk,nk->mn" "m=16,n=$n,k=$k" f16 two_four
done
# The decoding form at the first shape, and mma.sp at M = N = K = 8192
# (issue 21: 1.25x our dense there).
tfp() { sp sparsebench24 "$1" "mk,nk->mn" "$2" f16 two_four --plan "#loom.plan<tile_m = 64, \
tile_n = $3, tile_k = 64, warps_m = $4, warps_n = $5, mma = m16n8k16, stages = 4, split_k = $6, \
producer = two_four, order = ba, prefetch = $7>"; }
tfp tfd_m16_k8192_n28672 m=16,n=28672,k=8192 16 4 1 1 4
sp sparsebench24 tf_m8192_k8192_n8192 "mk,nk->mn" m=8192,n=8192,k=8192 f16 two_four
# Bitmap at the same shapes (moderate sparsity: gpu-check runs 50 and 70%).
mkdir -p "$PACK/sparsebenchbm"
for kn in 8192,28672 28672,8192 4096,14336; do
  k=${kn%,*} n=${kn#*,}
  sp sparsebenchbm "bm_m16_k${k}_n${n}" "mk,nk->mn" "m=16,n=$n,k=$k" f16 bitmap
done
# Block-sparse at M = N = K = 8192 (gpu-check runs 90% of blocks empty).
mkdir -p "$PACK/sparsebenchbsr"
sp sparsebenchbsr bsr_m8192_k8192_n8192 "mk,nk->mn" m=8192,n=8192,k=8192 f16 block_csr@10
sp sparsebench sp_m8_k8192_n28672  "mk,nk->mn" m=8,n=28672,k=8192 f16 tiled_csl
sp sparsebench sp_m32_k8192_n28672 "mk,nk->mn" m=32,n=28672,k=8192 f16 tiled_csl
sp sparsebench sp_m64_k8192_n28672 "mk,nk->mn" m=64,n=28672,k=8192 f16 tiled_csl
