# The sparse section of scripts/build-gpu-pack.sh (sourced there, with its
# compile_into and $PACK; PACK_ONLY=sparse builds a pack of this alone).
# Sparse weights (--sparse tiled_csl[:R]): sparse/ holds the correctness
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
"$COMPILE" test/Inputs/sparse/weight-first.mlir -o "$PACK/sparse/sp_weight_first.bundle"
"$COMPILE" examples/sparse-linear.mlir -o "$PACK/sparse/sp_linear_bias_gelu.bundle"
for kn in 8192,28672 28672,8192 4096,14336; do
  k=${kn%,*} n=${kn#*,}
  sp sparsebench "sp_m16_k${k}_n${n}" "mk,nk->mn" "m=16,n=$n,k=$k" f16 tiled_csl
done
sp sparsebench sp_m8_k8192_n28672  "mk,nk->mn" m=8,n=28672,k=8192 f16 tiled_csl
sp sparsebench sp_m32_k8192_n28672 "mk,nk->mn" m=32,n=28672,k=8192 f16 tiled_csl
sp sparsebench sp_m64_k8192_n28672 "mk,nk->mn" m=64,n=28672,k=8192 f16 tiled_csl
