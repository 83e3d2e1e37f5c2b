#!/usr/bin/env bash
# Builds everything the GPU host needs into gpu-pack/ (git-ignored): the
# runtime-only runner, one bundle per GPU-suite case and per benchmark, and
# the scripts, and gpu-pack.tar.xz of it all. Then: device run with carry
# gpu-pack.tar.xz, command `tar -xJf gpu-pack.tar.xz && scripts/gpu-check`.
# PACK_ONLY="quant sparse" builds only the named sections (scripts/pack-sections/).
set -euo pipefail
BUILD=${BUILD:-build}
PACK=${PACK:-gpu-pack}
COMPILE="$BUILD/bin/einloom-compile"
rm -rf "$PACK"
mkdir -p "$PACK/suite" "$PACK/bench" "$PACK/bin"
cp "$BUILD/bin/einloom-run-rt" "$PACK/bin/"

compile_into() { # dir name spec sizes dtype [extra args...]
  local dir=$1 name=$2 spec=$3 sizes=$4 dtype=$5
  shift 5
  "$COMPILE" --einsum "$spec" --sizes "$sizes" --dtype "$dtype" "$@" -o "$PACK/$dir/$name.bundle"
}
suite() { compile_into suite "$@"; }
bench() { compile_into bench "$@"; }
# The scripts the GPU host runs, then one compressed file to carry
# (bundles are mostly PTX text).
finish_pack() {
  cp bench/bench_gemm.py bench/bench_einsum.py bench/bench_epilogue.py bench/bench_decode.py \
     bench/bench_python.py bench/bench_quant.py bench/bench_sparse.py bench/bench_w8a8.py \
     bench/bench_fp8block.py bench/bench_mask.py \
     bench/timing.py bench/bench_fftconv.py bench/quant_layout.py \
     bench/paired.py bench/mma_peak.py scripts/einsum-fuzz.py "$PACK/"
  du -sh "$PACK"
  XZ_OPT=-T2 tar -cJf "$PACK.tar.xz" "$PACK"
  du -h "$PACK.tar.xz"
  # A device call carries at most 64 MiB.
  if [ "$(stat -c %s "$PACK.tar.xz")" -gt $((64 << 20)) ]; then
    echo "warning: $PACK.tar.xz is over the 64 MiB a device call carries; leave static programs out (STATIC=\"python tune\" or STATIC=python)" >&2
  fi
}
# The Python package with its library (the compiler linked in statically,
# from scripts/build-static-jit.sh), for gpu-check's "python" part.
pack_python() {
  local st=${BUILD_STATIC:-build-static}
  mkdir -p "$PACK/python"
  cp -r python/einloom python/tests "$PACK/python/"
  rm -rf "$PACK"/python/*/__pycache__ "$PACK/python/einloom/libeinloom.so"
  strip --strip-unneeded -o "$PACK/python/libeinloom.so" "$st/lib/libEinloom.so"
  xz -T2 -6 -c "$PACK/python/libeinloom.so" > "$PACK/python/einloom/libeinloom.so.xz"
  rm "$PACK/python/libeinloom.so"
}
# PACK_ONLY="sparse" (or "quant", or both): only those sections (scripts/pack-sections/NAME.sh),
# a pack built in seconds for one family's runs.
if [ -n "${PACK_ONLY:-}" ]; then
  for section in $PACK_ONLY; do
    [ -f "scripts/pack-sections/$section.sh" ] || { echo "no pack section '$section' (scripts/pack-sections/)" >&2; exit 1; }
    source "scripts/pack-sections/$section.sh"
  done
  # PACK_TUNER=1: the static tuner (scripts/build-static-jit.sh) and the
  # tuning shapes go too, for gpu-check's "tune" part.
  # PACK_PYTHON=1: the Python package and its static library too; the
  # quant section's bench_quant.py launches through the package, so it
  # brings the package unless PACK_PYTHON=0.
  if [ "${PACK_PYTHON:-}" = 1 ] ||
     { [[ " $PACK_ONLY " == *" quant "* ]] && [ "${PACK_PYTHON:-}" != 0 ]; }; then
    pack_python
  fi
  if [ -n "${PACK_TUNER:-}" ]; then
    xz -T2 -6 -c "${BUILD_STATIC:-build-static}/bin/einloom-tune" > "$PACK/bin/einloom-tune.xz"
    cp tuning/shapes.txt "$PACK/tune-shapes.txt"
  fi
  finish_pack
  exit 0
fi
# f16, every operand layout, odd and prime sizes (1, 7, 33, 255, 1023, primes).
suite f16_nt_1x1x1        "mk,nk->mn" m=1,n=1,k=1 f16
suite f16_nt_7x33x255     "mk,nk->mn" m=7,n=33,k=255 f16
suite f16_nt_33x7x64      "mk,nk->mn" m=33,n=7,k=64 f16
suite f16_nt_255x1023x128 "mk,nk->mn" m=255,n=1023,k=128 f16
suite f16_nt_1023x1021x1027 "mk,nk->mn" m=1023,n=1021,k=1027 f16
suite f16_nt_257x263x4096 "mk,nk->mn" m=257,n=263,k=4096 f16
suite f16_nt_128          "mk,nk->mn" m=128,n=128,k=128 f16
suite f16_nt_4096         "mk,nk->mn" m=4096,n=4096,k=4096 f16
suite f16_nn_1024         "mk,kn->mn" m=1024,n=1024,k=1024 f16
suite f16_nn_100x200x64   "mk,kn->mn" m=100,n=200,k=64 f16
suite f16_tn_512x384x256  "km,kn->mn" m=512,n=384,k=256 f16
suite f16_tn_7x9x5        "km,kn->mn" m=7,n=9,k=5 f16
suite f16_tt_256          "km,nk->mn" m=256,n=256,k=256 f16
suite f16_out_f32_300x200x100 "mk,nk->mn" m=300,n=200,k=100 f16 --out f32
suite bf16_nt_1023x513x256 "mk,nk->mn" m=1023,n=513,k=256 bf16
suite bf16_nn_4096        "mk,kn->mn" m=4096,n=4096,k=4096 bf16
suite f16_batched         "bmk,bnk->bmn" b=8,m=128,n=96,k=64 f16
suite f16_batch_inner     "mbk,bnk->bmn" b=4,m=64,n=61,k=64 f16
suite f16_multimode       "abcd,dbe->ace" a=8,b=4,c=16,d=32,e=24 f16
suite f16_gemv_1x4096x4096 "k,nk->n" n=4096,k=4096 f16
suite i8_nt_512x256x512   "mk,nk->mn" m=512,n=256,k=512 i8
suite i8_nt_33x17x100     "mk,nk->mn" m=33,n=17,k=100 i8
suite i8_nt_8192          "mk,nk->mn" m=8192,n=8192,k=8192 i8
suite e4m3_nt_256x256x512 "mk,nk->mn" m=256,n=256,k=512 f8E4M3FN --out f32
suite e5m2_nt_129x65x256  "mk,nk->mn" m=129,n=65,k=256 f8E5M2 --out bf16
suite tf32_nt_300x256x200 "mk,nk->mn" m=300,n=256,k=200 f32 --tf32
suite f16_sm80_512        "mk,nk->mn" m=512,n=512,k=512 f16 --target sm_80
suite f16_sm89_128        "km,kn->mn" m=128,n=128,k=128 f16 --target sm_89
suite f16_sm90_mmasync_4096 "mk,nk->mn" m=4096,n=4096,k=4096 f16 --target sm_90
suite wgmma_f16_1000x1000x1024 "mk,nk->mn" m=1000,n=1000,k=1024 f16
suite wgmma_bf16_batched  "bmk,bnk->bmn" b=3,m=200,n=136,k=512 bf16
suite wgmma_f16_out_f32_tails "mk,nk->mn" m=777,n=520,k=2048 f16 --out f32
suite wgmma_e4m3_4096     "mk,nk->mn" m=4096,n=4096,k=4096 f8E4M3FN --out bf16
suite wgmma_e5m2_tails    "mk,nk->mn" m=1000,n=1800,k=2048 f8E5M2 --out f32
suite wgmma_i8_tails      "mk,nk->mn" m=1500,n=1700,k=2048 i8
# A dot product whose sum cancels: at seed 163 the correct f32 result is
# 1.15e-5 off relative to itself (f32's tolerance is 1e-5; H100, run BD),
# and the check must pass it against the usual size of its terms.
suite dot_f32_cancels     "k,k->" k=16777216 f32
echo 163 > "$PACK/suite/dot_f32_cancels.seed"
echo "the reference cancels" > "$PACK/suite/dot_f32_cancels.expect"
# The warp-specialized TMA kernel (the sm_90a default where TMA can describe
# the operands), forced with --plan on small odd shapes where the planner
# would pick mma.sync: prime and tiny M/N, K tails inside a 16-byte pitch,
# 3-D maps, one and two consumer warpgroups, 128- and 256-wide tiles.
tma() { # tile_m tile_n tile_k mma: the TMA plan
  echo "#loom.plan<tile_m = $1, tile_n = $2, tile_k = $3, warps_m = $(($1 / 16)), warps_n = 1, mma = $4, stages = 4, producer = tma, raster = swizzle, swizzle = 8>"
}
suite tma_f16_509x263x520   "mk,nk->mn" m=509,n=263,k=520 f16 --plan "$(tma 128 256 64 wgmma_k16)"
suite tma_bf16_1x7x8        "mk,nk->mn" m=1,n=7,k=8 bf16 --plan "$(tma 128 128 64 wgmma_k16)"
suite tma_f16_batched_odd   "bmk,bnk->bmn" b=5,m=33,n=65,k=72 f16 --out f32 --plan "$(tma 64 128 64 wgmma_k16)"
suite tma_f16_batch_inner   "mbk,bnk->bmn" b=3,m=130,n=120,k=200 f16 --plan "$(tma 64 256 64 wgmma_k16)"
suite tma_e4m3_129x4099x144 "mk,nk->mn" m=129,n=4099,k=144 f8E4M3FN --out bf16 --plan "$(tma 128 256 128 wgmma_k32)"
suite tma_i8_255x1023x80    "mk,nk->mn" m=255,n=1023,k=80 i8 --plan "$(tma 128 128 128 wgmma_k32)"
suite tma_f16_2048x8192x4096 "mk,nk->mn" m=2048,n=8192,k=4096 f16
# The ping-pong schedule: two consumer warpgroups on alternate 64-row tiles.
# Odd tiles counts (one consumer may get one tile more, or none), K tails,
# batches, MN-major A, 8-bit types, 32-bit results (f32, s32: staged in
# blocks of 32 columns).
pp() { # tile_n tile_k mma
  echo "#loom.plan<tile_m = 64, tile_n = $1, tile_k = $2, warps_m = 8, warps_n = 1, mma = $3, stages = 4, producer = tma, schedule = pingpong>"
}
suite pp_f16_509x263x520    "mk,nk->mn" m=509,n=263,k=520 f16 --plan "$(pp 256 64 wgmma_k16)"
suite pp_bf16_1x7x8         "mk,nk->mn" m=1,n=7,k=8 bf16 --plan "$(pp 128 64 wgmma_k16)"
suite pp_f16_1023x1021x1032 "mk,nk->mn" m=1023,n=1021,k=1032 f16 --plan "$(pp 256 64 wgmma_k16)"
suite pp_f16_batched_f32    "bmk,bnk->bmn" b=5,m=133,n=65,k=200 f16 --out f32 --plan "$(pp 128 64 wgmma_k16)"
suite pp_tn_296x520x264     "km,kn->mn" m=296,n=520,k=264 f16 --plan "$(pp 256 64 wgmma_k16)"
suite pp_e4m3_129x4099x144  "mk,nk->mn" m=129,n=4099,k=144 f8E4M3FN --out bf16 --plan "$(pp 256 128 wgmma_k32)"
suite pp_i8_255x1023x80     "mk,nk->mn" m=255,n=1023,k=80 i8 --plan "$(pp 128 128 wgmma_k32)"
suite pp_bhqd_odd           "bhqd,bhkd->bhqk" b=2,h=3,q=300,k=520,d=64 f16 --plan "$(pp 256 64 wgmma_k16)"
suite pp_f16_4096           "mk,nk->mn" m=4096,n=4096,k=4096 f16 --plan "$(pp 256 64 wgmma_k16)"
# One consumer warpgroup on tiles at most 128 wide whose shared memory fits
# twice: two CTAs per SM (`persistent 2`), many tiles per CTA, 2-4 stages.
tma2() { # tile_n tile_k mma stages
  echo "#loom.plan<tile_m = 64, tile_n = $1, tile_k = $2, warps_m = 4, warps_n = 1, mma = $3, stages = $4, producer = tma>"
}
suite tma2_bhqd_odd_s2      "bhqd,bhkd->bhqk" b=2,h=3,q=300,k=520,d=64 f16 --plan "$(tma2 128 64 wgmma_k16 2)"
suite tma2_f16_2048x2040x520 "mk,nk->mn" m=2048,n=2040,k=520 f16 --plan "$(tma2 128 64 wgmma_k16 4)"
suite tma2_i8_1000x1000x512 "mk,nk->mn" m=1000,n=1000,k=512 i8 --plan "$(tma2 128 128 wgmma_k32 3)"
# The same in clusters of two along M sharing B (the store-bound default):
# an odd number of tile rows, K tails, s8, and a dynamic M.
cl2() { echo "${1%>}, cluster_m = 2>"; }
suite tma2_cluster_333x1024x200 "mk,nk->mn" m=333,n=1024,k=200 f16 --plan "$(cl2 "$(tma2 128 64 wgmma_k16 3)")"
suite tma2_cluster_i8_255x1024x80 "mk,nk->mn" m=255,n=1024,k=80 i8 --plan "$(cl2 "$(tma2 128 128 wgmma_k32 3)")"
# M- or N-contiguous (transposed) 16-bit operands, read by wgmma transposed
# from MN-major TMA tiles: each layout, tails, a batch, one consumer.
suite tma_tn_296x520x264  "km,kn->mn" m=296,n=520,k=264 f16 --plan "$(tma 128 256 64 wgmma_k16)"
suite tma_nn_300x520x264  "mk,kn->mn" m=300,n=520,k=264 bf16 --plan "$(tma 128 256 64 wgmma_k16)"
suite tma_tt_296x520x264  "km,nk->mn" m=296,n=520,k=264 f16 --plan "$(tma 128 128 64 wgmma_k16)"
suite tma_tn_batched      "bkm,bkn->bmn" b=3,m=72,n=136,k=100 f16 --out f32 --plan "$(tma 64 128 64 wgmma_k16)"
# wgmma with A from registers (a_source = registers: each warp loads its
# rows of the stage with ldmatrix): every type, tails, both schedules, one
# consumer at two CTAs per SM, a cluster, an N-major B, the cp.async kernel.
rs() { echo "${1%>}, a_source = registers>"; }
suite rs_f16_509x263x520    "mk,nk->mn" m=509,n=263,k=520 f16 --plan "$(rs "$(tma 128 256 64 wgmma_k16)")"
suite rs_bf16_1x7x8         "mk,nk->mn" m=1,n=7,k=8 bf16 --plan "$(rs "$(tma 128 128 64 wgmma_k16)")"
suite rs_f16_batched_f32    "bmk,bnk->bmn" b=5,m=33,n=65,k=72 f16 --out f32 --plan "$(rs "$(tma 64 128 64 wgmma_k16)")"
suite rs_e4m3_129x4099x144  "mk,nk->mn" m=129,n=4099,k=144 f8E4M3FN --out bf16 --plan "$(rs "$(tma 128 256 128 wgmma_k32)")"
suite rs_e5m2_300x200x272   "mk,nk->mn" m=300,n=200,k=272 f8E5M2 --out f32 --plan "$(rs "$(tma 128 128 128 wgmma_k32)")"
suite rs_i8_255x1023x80     "mk,nk->mn" m=255,n=1023,k=80 i8 --plan "$(rs "$(tma 128 128 128 wgmma_k32)")"
suite rs_pp_f16_1023x1021x1032 "mk,nk->mn" m=1023,n=1021,k=1032 f16 --plan "$(rs "$(pp 256 64 wgmma_k16)")"
suite rs_tma2_bhqd_odd      "bhqd,bhkd->bhqk" b=2,h=3,q=300,k=520,d=64 f16 --plan "$(rs "$(tma2 128 64 wgmma_k16 2)")"
suite rs_cluster_1000x1024x4104 "mk,nk->mn" m=1000,n=1024,k=4104 bf16 --plan "#loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 8, warps_n = 1, mma = wgmma_k16, stages = 4, producer = tma, raster = column_major, cluster_m = 2, a_source = registers>"
suite rs_nn_300x520x264     "mk,kn->mn" m=300,n=520,k=264 bf16 --plan "$(rs "$(tma 128 256 64 wgmma_k16)")"
suite rs_cpasync_fallback   "mxk,nk->xmn" m=1000,x=3,n=2000,k=256 f16 --plan "#loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 8, warps_n = 1, mma = wgmma_k16, stages = 4, raster = swizzle, swizzle = 8, a_source = registers>"
suite rs_f16_4096           "mk,nk->mn" m=4096,n=4096,k=4096 f16 --plan "$(rs "$(tma 128 256 64 wgmma_k16)")"
# mma.sync fed by TMA (sm_90a): the warp-specialized kernel's producer and
# ring, with mma.sync consumer warps reading the stages through ldmatrix.
# Every mma.sync type, tails, a batch, one and two consumer warpgroups,
# clusters of two, and a size large enough for a sampled check.
# (A 16-bit C is staged per warp: the whole warp tile where it fits beside
# the ring, 64 KiB for 128x256 tiles with three stages; else half of it in
# two passes, as with four stages.)
tmamma() { # tile_m tile_n tile_k warps_m warps_n mma stages [more plan fields]
  echo "#loom.plan<tile_m = $1, tile_n = $2, tile_k = $3, warps_m = $4, warps_n = $5, mma = $6, stages = $7, producer = tma, raster = swizzle, swizzle = 8${8:-}>"
}
suite tmamma_f16_509x263x520   "mk,nk->mn" m=509,n=263,k=520 f16 --plan "$(tmamma 128 256 64 2 4 m16n8k16 3)"
suite tmamma_bf16_1x7x8        "mk,nk->mn" m=1,n=7,k=8 bf16 --plan "$(tmamma 128 128 64 2 2 m16n8k16 4)"
suite tmamma_f16_batched_f32   "bmk,bnk->bmn" b=5,m=33,n=65,k=72 f16 --out f32 --plan "$(tmamma 64 128 64 2 2 m16n8k16 4)"
suite tmamma_i8_255x1023x80    "mk,nk->mn" m=255,n=1023,k=80 i8 --plan "$(tmamma 128 256 128 2 4 m16n8k32 3)"
suite tmamma_e4m3_129x4099x144 "mk,nk->mn" m=129,n=4099,k=144 f8E4M3FN --out bf16 --plan "$(tmamma 128 128 128 2 4 m16n8k32 3)"
suite tmamma_tf32_300x256x200  "mk,nk->mn" m=300,n=256,k=200 f32 --tf32 --plan "$(tmamma 128 128 32 2 4 m16n8k8 4)"
suite tmamma_cluster_1000x1024x4104 "mk,nk->mn" m=1000,n=1024,k=4104 bf16 --plan "$(tmamma 128 256 64 2 4 m16n8k16 3 ", cluster_m = 2")"
suite tmamma_f16_4096          "mk,nk->mn" m=4096,n=4096,k=4096 f16 --plan "$(tmamma 128 256 64 2 4 m16n8k16 3)"
suite tmamma_staged_333x1000x200 "mk,nk->mn" m=333,n=1000,k=200 f16 --plan "$(tmamma 128 128 64 2 2 m16n8k16 4)"
suite tmamma_staged_batched   "bmk,bnk->bmn" b=3,m=100,n=136,k=72 bf16 --plan "$(tmamma 64 128 64 2 2 m16n8k16 4)"
suite tmamma_half_777x1000x520 "mk,nk->mn" m=777,n=1000,k=520 f16 --plan "$(tmamma 128 256 64 2 4 m16n8k16 4)"
suite tmamma_half_batched     "bmk,bnk->bmn" b=3,m=300,n=264,k=104 bf16 --plan "$(tmamma 128 256 64 2 4 m16n8k16 4)"
# Free modes that do not merge: TMA cannot describe A, the cp.async wgmma kernel runs.
suite wgmma_cpasync_fallback "mxk,nk->xmn" m=1000,x=3,n=2000,k=256 f16
suite i8_tn_96x80x64      "km,kn->mn" m=96,n=80,k=64 i8
suite bf16_tt_prime       "km,nk->mn" m=509,n=251,k=127 bf16
suite f16_outer           "m,n->mn" m=300,n=257 f16
# n-ary einsums, split into binary contractions by loom-optimize-paths: the
# runner checks every intermediate whose workspace bytes no later kernel
# reused, and the result.
suite nary_chain_odd      "ij,jk,kl->il" i=300,j=64,k=257,l=130 f16
suite nary_tucker         "abc,ia,jb,kc->ijk" a=16,b=16,c=16,i=96,j=80,k=64 f16 --out f32
suite nary_chain_4096     "ij,jk,kl->il" i=4096,j=64,k=4096,l=512 f16
# Five intermediates in a workspace where three pairs share bytes.
suite nary_reuse_odd      "ab,bc,cd,de,ef->af" a=300,b=64,c=999,d=64,e=1001,f=33 f16
# Diagonals (a label repeated inside an operand) and labels summed inside one
# operand alone, run as strided contractions (stride sums; stride-0 K modes).
suite diag_a_iik          "iik,kn->in" i=100,k=64,n=80 f16
suite diag_a_tma          "iik,nk->in" i=300,k=128,n=256 f16 --plan "$(tma 128 256 64 wgmma_k16)"
suite diag_shared_kkn     "mk,kkn->mn" m=33,k=40,n=50 f16 --out f32
suite diag_batch_bbmk     "bbmk,bnk->bmn" b=3,m=20,n=30,k=16 bf16
suite diag_trace_ii       "ii,ij->j" i=64,j=100 f16 --out f32
suite inner_sum_a         "mkl,nk->mn" m=65,k=48,l=5,n=70 f16 --out f32
suite inner_sum_b         "mk,nkj->mn" m=33,k=40,n=50,j=3 f16
# f32 (no tf32) and f64 on the CUDA cores: layouts, tails, batch, dynamic M.
suite fma_f32_nt_300x257x100 "mk,nk->mn" m=300,n=257,k=100 f32
suite fma_f32_1x1x1          "km,nk->mn" m=1,n=1,k=1 f32
# The 64x128 CUDA-core tile (2026-12-08; chosen where 128-row tiles leave
# SMs idle), given and chosen, K-major and not.
suite fma_f32_64_given_tn    "km,kn->mn" m=77,n=300,k=45 f32 --plan "#loom.plan<tile_m = 64, tile_n = 128, tile_k = 16, warps_m = 4, warps_n = 2, mma = fma, stages = 1>"
suite fma_f32_64_chosen      "mk,nk->mn" m=100,n=70,k=50 f32
suite fma_f32_batched_odd    "bmk,bkn->bmn" b=3,m=130,n=257,k=33 f32
suite fma_f32_tn_129x200x1000 "km,kn->mn" m=129,n=200,k=1000 f32
suite fma_f64_tn_65x130x33   "km,kn->mn" m=65,n=130,k=33 f64
suite fma_f64_batched        "bmk,bkn->bmn" b=3,m=70,n=20,k=129 f64
# f64 on the DMMA tensor cores (m8n8k4): odd sizes, one element, a diagonal,
# an n-ary chain, and a size large enough for a sampled check.
suite dmma_f64_1x1x1         "mk,nk->mn" m=1,n=1,k=1 f64
suite dmma_f64_257x263x129   "mk,kn->mn" m=257,n=263,k=129 f64
suite dmma_f64_diag          "iik,kn->in" i=70,k=33,n=65 f64
suite dmma_f64_chain         "ij,jk,kl->il" i=100,j=30,k=70,l=45 f64
suite dmma_f64_1024          "mk,nk->mn" m=1024,n=1024,k=1024 f64
suite dmma_f64_odd_k         "km,nk->mn" m=300,n=131,k=1001 f64
suite fma_f32_chain          "ij,jk,kl->il" i=100,j=30,k=70,l=45 f32
# NumPy's `...`: broadcast dimensions as batch, M or summed modes.
suite ellipsis_batched    "...mk,...nk->...mn" "...=3x2,m=65,n=48,k=40" f16
suite ellipsis_summed     "...mk,...nk->mn" "...=4,m=33,n=20,k=16" f16 --out f32
suite ellipsis_weights    "...k,nk->...n" "...=2x3,k=64,n=96" bf16
# Memory-bound einsums (no tensor-core work): transposes, reductions,
# traces, diagonals, elementwise and outer products, batched dot products.
suite mem_transpose_f16       "ij->ji" i=1023,j=257 f16
suite mem_transpose3_bf16     "abc->cab" a=7,b=33,c=65 bf16
suite mem_permute4_f32        "abcd->dbca" a=3,b=5,c=7,d=65 f32
suite mem_permute4_cadb_bf16  "abcd->cadb" a=3,b=65,c=5,d=66 bf16
suite mem_rowsum_f16          "ij->i" i=300,j=1027 f16 --out f32
suite mem_rowsum_cta_f32      "ij->i" i=7,j=100000 f32
suite mem_colsum_bf16         "ij->j" i=513,j=77 bf16 --out f32
suite mem_total_f64           "ijk->" i=30,j=40,k=50 f64
suite mem_trace_f32           "ii->" i=257 f32
suite mem_diag_f16            "ii->i" i=1000 f16
suite mem_hadamard_f16        "ij,ij->ij" i=1001,j=1003 f16
suite mem_hadamard_t_f16      "ij,ji->ij" i=300,j=257 f16
suite mem_outer_f32           "i,j->ij" i=1000,j=999 f32
suite mem_scale_rows_bf16     "ij,i->ij" i=513,j=1024 bf16
suite mem_bdot_f16            "bk,bk->b" b=1000,k=4096 f16 --out f32
suite mem_bdot_i8             "bk,bk->b" b=77,k=333 i8
suite mem_reduce_mid_f16      "ijk->ik" i=17,j=300,k=33 f16 --out f32
suite mem_transpose_sum_f32   "ijk->kj" i=5,j=100,k=130 f32
suite mem_transpose_i8        "ij->ji" i=100,j=37 i8
suite mem_colsum_split_i8   "ij->j" i=2000,j=64 i8 --out i32
suite mem_total_split_f16   "ijk->" i=64,j=100,k=1000 f16 --out f32
suite nary_diag_f16         "ii,ij,jkk->k" i=65,j=130,k=33 f16 --out f32
# 8-bit floats on the CUDA cores (bytes in memory, cvt through f16; fp8
# results saturate): the column sums of 65536 rows pass e4m3's 448.
suite mem_f8_transpose_e4m3 "ij->ji" i=257,j=129 f8E4M3FN
suite mem_f8_transpose_quads "ij->ji" i=260,j=132 f8E4M3FN
suite mem_f8_permute_quads  "abc->acb" a=3,b=68,c=124 f8E5M2
suite mem_f8_rowsum_e5m2    "ij->i" i=300,j=1000 f8E5M2 --out f32
suite mem_f8_colsum_sat     "ij->j" i=65536,j=64 f8E4M3FN
suite mem_f8_scale_e4m3     "ij,j->ij" i=100,j=72 f8E4M3FN --out f16
suite mem_f8_hadamard_e5m2  "ij,ij->ij" i=33,j=65 f8E5M2
suite store_bound_bhqd_f16  "bhqd,bhkd->bhqk" b=2,h=3,q=300,k=520,d=64 f16
suite mem_f64_chain           "ij,ij,ij->ij" i=65,j=33 f64
# The skinny plans (decode: M or N at most 64), chosen by the planner at odd
# sizes: the transposed product (order = ba) with K split across a cluster
# of the TMA kernel, an N-side skinny plan (order = ab), 8-bit types, a
# batch, K tails inside a split, and sm_80's mma.sync with a split-K
# reduce; then forced plans over every split from 2 to 8, tile_n from 8 to
# 64, one and two consumer warpgroups.
suite skinny_f16_3x1000x520     "mk,nk->mn" m=3,n=1000,k=520 f16
suite skinny_bf16_17x4099x1000  "mk,nk->mn" m=17,n=4099,k=1000 bf16
suite skinny_f16_33x2047x2056   "mk,nk->mn" m=33,n=2047,k=2056 f16 --out f32
suite skinny_f16_64x8191x4104   "mk,nk->mn" m=64,n=8191,k=4104 f16
suite skinny_e4m3_16x4096x1024  "mk,nk->mn" m=16,n=4096,k=1024 f8E4M3FN --out bf16
suite skinny_i8_16x2000x2048    "mk,nk->mn" m=16,n=2000,k=2048 i8
suite skinny_ab_f16_4000x9x1000 "mk,nk->mn" m=4000,n=9,k=1000 f16
suite skinny_batched_bf16       "bmk,bnk->bmn" b=3,m=5,n=700,k=300 bf16
suite skinny_tn_f16_7x3000x700  "km,nk->mn" m=7,n=3000,k=700 f16
suite skinny_sm80_f16_16x4099x1000 "mk,nk->mn" m=16,n=4099,k=1000 f16 --target sm_80
suite skinny_sm80_bf16_5x3000x2000 "mk,nk->mn" m=5,n=3000,k=2000 bf16 --target sm_80
sk() { # tile_m tile_n split stages: a skinny TMA plan
  echo "#loom.plan<tile_m = $1, tile_n = $2, tile_k = 64, warps_m = $(($1 / 16)), warps_n = 1, mma = wgmma_k16, stages = $4, split_k = $3, producer = tma, order = ba>"
}
suite sk_64x8_s2_f16   "mk,nk->mn" m=1,n=1000,k=1000 f16 --plan "$(sk 64 8 2 4)"
suite sk_64x8_s3_f16   "mk,nk->mn" m=7,n=777,k=1000 f16 --plan "$(sk 64 8 3 8)"
suite sk_64x16_s5_bf16 "mk,nk->mn" m=16,n=3001,k=2000 bf16 --plan "$(sk 64 16 5 6)"
suite sk_128x32_s4_f16 "mk,nk->mn" m=29,n=1000,k=4104 f16 --plan "$(sk 128 32 4 4)"
suite sk_64x64_s8_f16  "mk,nk->mn" m=64,n=2000,k=8192 f16 --plan "$(sk 64 64 8 6)"
suite sk_128x64_s7_bf16 "mk,nk->mn" m=50,n=1100,k=3000 bf16 --plan "$(sk 128 64 7 3)"
suite sk_64x24_s1_f16  "mk,nk->mn" m=20,n=5000,k=640 f16 --plan "$(sk 64 24 1 8)"
# Matrix-vector einsums (an operand with no free label of size above 1) on
# the memory-bound kernel.
suite gemv_k_nk_f16_odd    "k,nk->n" n=4097,k=1000 f16
suite gemv_ii_ij_f32       "ii,ij->j" i=4097,j=1000 f32
suite gemv_bk_bnk_bf16     "bk,bnk->bn" b=8,n=1000,k=520 bf16
suite gemv_m1_i8           "mk,nk->mn" m=1,n=3000,k=1000 i8
suite gemv_m1_bf16_nn      "mk,kn->mn" m=1,n=3001,k=1000 bf16
# The batched case that gave rel 2.2e-2 on the H200 (64x128 wgmma tiles,
# three stages, clusters of two, two CTAs per SM), and neighbours of it.
suite bik_48x1023x511x80   "bik,bjk->bij" b=48,i=1023,j=511,k=80 f16
suite bik_1x1023x511x80    "bik,bjk->bij" b=1,i=1023,j=511,k=80 f16
suite bik_48x1023x511x80_nocluster "bik,bjk->bij" b=48,i=1023,j=511,k=80 f16 --plan "#loom.plan<tile_m = 64, tile_n = 128, tile_k = 64, warps_m = 4, warps_n = 1, mma = wgmma_k16, stages = 3, producer = tma>"
suite bik_48x1024x512x80   "bik,bjk->bij" b=48,i=1024,j=512,k=80 f16
suite bik_48x1023x511x64   "bik,bjk->bij" b=48,i=1023,j=511,k=64 f16
# Split-K (skinny outputs, long K), chosen by the planner.
suite f16_splitk_16x1024x8192 "mk,nk->mn" m=16,n=1024,k=8192 f16
suite f16_splitk_batched  "bmk,bnk->bmn" b=2,m=64,n=64,k=8192 f16
suite i8_splitk_8x512x4096 "mk,nk->mn" m=8,n=512,k=4096 i8
suite bf16_splitk_odd     "mk,nk->mn" m=7,n=33,k=6144 bf16 --out f32
# One warp per CTA (a plan's choice; the planner uses two or more): its
# producer copies 4 rows a pass, so every other pass has its own swizzle.
one_warp="#loom.plan<tile_m = 16, tile_n = 16, tile_k = 64, warps_m = 1, warps_n = 1, mma = m16n8k16, stages = 3>"
suite onewarp_f16_37x45x200    "mk,nk->mn" m=37,n=45,k=200 f16 --plan "$one_warp"
suite onewarp_tn_37x45x200     "km,kn->mn" m=37,n=45,k=200 f16 --plan "$one_warp"
suite onewarp_i8_37x45x300     "mk,nk->mn" m=37,n=45,k=300 i8 --plan "#loom.plan<tile_m = 16, tile_n = 16, tile_k = 128, warps_m = 1, warps_n = 1, mma = m16n8k32, stages = 3>"
suite onewarp_bf16_32x32       "mk,nk->mn" m=37,n=45,k=200 bf16 --plan "#loom.plan<tile_m = 32, tile_n = 32, tile_k = 64, warps_m = 1, warps_n = 1, mma = m16n8k16, stages = 2>"
# Three warps (96 threads: 12 rows a pass) on 48-wide tiles, K- and
# MN-major operands.
three_warps="#loom.plan<tile_m = 48, tile_n = 48, tile_k = 64, warps_m = 3, warps_n = 1, mma = m16n8k16, stages = 3>"
suite threewarp_nt_100x70x200  "mk,nk->mn" m=100,n=70,k=200 f16 --plan "$three_warps"
suite threewarp_tn_100x70x200  "km,kn->mn" m=100,n=70,k=200 f16 --plan "$three_warps"
# A cluster sharing an N-contiguous B: each CTA copies one 64-row box of a
# 128-wide tile (the verifier refuses 32-row shares, which hung).
suite cluster_nmajor_b_100x256x256 "mk,kn->mn" m=100,n=256,k=256 bf16 --plan "#loom.plan<tile_m = 128, tile_n = 128, tile_k = 64, warps_m = 8, warps_n = 1, mma = wgmma_k16, stages = 3, producer = tma, cluster_m = 2, raster = swizzle, swizzle = 2>"
# An M-major A on 96-wide tiles (not a multiple of 64: copied element by
# element, since the MN-major swizzle needs whole groups of 8 chunks).
suite tn_tile96_200x190x200    "km,kn->mn" m=200,n=190,k=200 f16 --plan "#loom.plan<tile_m = 96, tile_n = 96, tile_k = 64, warps_m = 3, warps_n = 2, mma = m16n8k16, stages = 3>"
# More (batch, split) slices than grid.z's 65535: the slices fold into
# grid.x (cp.async, CUDA-core and split-K kernels; the TMA kernels' tile
# loop already spans the batch).
suite bigbatch_f16_70001x17x9x33 "bmk,bnk->bmn" b=70001,m=17,n=9,k=33 f16
suite bigbatch_bf16_nn_66000     "bmk,bkn->bmn" b=66000,m=40,n=72,k=20 bf16 --out f32
suite bigbatch_sm80_65537        "bkm,bnk->bmn" b=65537,m=33,n=16,k=24 f16 --target sm_80
suite bigbatch_f32_65536x3       "bmk,bnk->bmn" b=65536,m=5,n=7,k=3 f32
suite bigbatch_splitk_33000      "bmk,bnk->bmn" b=33000,m=16,n=16,k=128 f16 --plan "#loom.plan<tile_m = 16, tile_n = 16, tile_k = 64, warps_m = 1, warps_n = 1, mma = m16n8k16, stages = 3, split_k = 2>"
suite bigbatch_tma_70001         "bmk,bnk->bmn" b=70001,m=17,n=9,k=64 f16 --plan "$(tma 64 128 64 wgmma_k16)"
# Shape polymorphism: one bundle per case (a plan variant per size bucket of
# the dynamic M), run at every size in NAME.sizes from one loaded program.
dyn() { # name sizes spec label-sizes dtype [extra args...]
  local name=$1 sizes=$2
  shift 2
  suite "$name" "$@"
  echo "$sizes" > "$PACK/suite/$name.sizes"
}
dyn dyn_bigbatch      1,7,40 "mbk,bnk->mbn" m=?,b=70001,n=24,k=32 f16 --dynamic-max 64
dyn dyn_f16_nt_4096   1,7,16,17,64,300,1024,1025,4096 "mk,nk->mn" m=?,n=4096,k=4096 f16
dyn dyn_bf16_nn_odd   1,7,16,300,4096 "mk,kn->mn" m=?,n=520,k=264 bf16
dyn dyn_i8_nt         1,33,300,1500 "mk,nk->mn" m=?,n=1000,k=512 i8
dyn dyn_f16_sm80      1,7,300,2000 "mk,nk->mn" m=?,n=1023,k=255 f16 --target sm_80
dyn dyn_batch_inner   1,7,300,1100 "mbk,bnk->mbn" m=?,b=3,n=130,k=200 f16 --out f32
dyn dyn_chain         1,7,16,300,4096 "mk,kn,np->mp" m=?,k=64,n=300,p=130 f16
dyn dyn_chain_reuse   1,7,300,4096 "mk,kn,np,pq->mq" m=?,k=64,n=300,p=130,q=72 f16
dyn dyn_cluster_k16384 1,300,4096 "mk,nk->mn" m=?,n=1024,k=16384 bf16
dyn dyn_store_bound   1,7,300,4096 "mk,nk->mn" m=?,n=4096,k=64 f16
dyn dyn_tmamma        1,7,300,4096 "mk,nk->mn" m=?,n=1000,k=512 f16 --plan "#loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 2, warps_n = 4, mma = m16n8k16, stages = 4, producer = tma, raster = swizzle, swizzle = 8>"
dyn fma_f64_dynamic   1,7,300,1000 "mk,nk->mn" m=?,n=100,k=64 f64
dyn fma_f32_dynamic   1,7,300,1000 "mk,nk->mn" m=?,n=300,k=129 f32
dyn mem_dyn_scale     1,7,300,5000 "mk,k->mk" m=?,k=1000 f16
dyn mem_dyn_rowsum    1,17,3000 "mk->m" m=?,k=4096 bf16 --out f32
dyn mem_dyn_bdot      1,100,2049 "mk,mk->m" m=?,k=64 f16
dyn mem_dyn_midsum    1,7,300 "mkn->mn" m=?,k=30,n=64 f16
# TECHNIQUES.md's einsum patterns at odd sizes (those not above already):
# EinHops' GEMV, dot products, batched GEMM, three operands, a five-mode
# contraction and attention scores with upper-case labels; FNO's spectral
# convolution; a ring of five matrices (a small tensor network); and, from
# files, equivariant polynomials (one value as several operands, diagonals)
# and a chunk of gated linear attention.
suite tech_gemv_ik_k      "ik,k->i" i=1000,k=777 f16 --out f32
suite tech_dot_i_i        "i,i->" i=100003 f64
suite tech_frobenius      "ij,ij->" i=333,j=257 f64
suite tech_bmm_ijk_ikl    "ijk,ikl->ijl" i=5,j=33,k=70,l=65 bf16
suite tech_ik_jkl_il      "ik,jkl,il->ij" i=30,j=40,k=50,l=60 f16 --out f32
suite tech_pqrs_tuqvr     "pqrs,tuqvr->pstuv" p=3,q=5,r=7,s=4,t=6,u=2,v=9 f16 --out f32
suite tech_attn_bthd      "bthd,bThd->bhtT" b=2,t=33,T=65,h=3,d=64 f16
suite tech_fno_bixy       "bixy,ioxy->boxy" b=3,i=5,o=7,x=9,y=11 f32
suite tech_ring5          "ab,bc,cd,de,ea->" a=7,b=50,c=3,d=40,e=9 f64
# tech_ring5 failed on the H100 (2026-12-07: its intermediate ab,cb->ac,
# 7 x 3, K = 50, rel 0.605). Its pieces alone, to tell the memory-bound
# transpose from the DMMA kernel, and the ring without shared workspace
# bytes so that every intermediate is compared.
suite ring5_noreuse       "ab,bc,cd,de,ea->" a=7,b=50,c=3,d=40,e=9 f64 --buffer-reuse=false
suite ring5_t_bc_cb       "bc->cb" b=50,c=3 f64
suite ring5_ab_bc         "ab,bc->ac" a=7,b=50,c=3 f64
suite ring5_dmma_7x3x50   "mk,nk->mn" m=7,n=3,k=50 f64
suite ring5_dmma_7x8x50   "mk,nk->mn" m=7,n=8,k=50 f64
suite ring5_dmma_32x3x48  "mk,nk->mn" m=32,n=3,k=48 f64
# On the H100 (2026-12-08) 7x3x50 and 7x8x50 failed again and 32x3x48
# passed, all on the DMMA 32x64x16 plan of two warps; the fuzzer's cases on
# that plan passed at K = 4, 8, 24 and 64 (M = 17). These vary one thing at
# a time: K (16, 34, 48, 64, 66), M (8, 32, 33) and N (64).
for mnk in 7x3x48 32x3x50 33x3x50 8x3x50 7x3x16 7x3x34 7x3x64 7x3x66 7x64x50; do
  IFS=x read -r m n k <<< "$mnk"
  suite "ring5_dmma_$mnk" "mk,nk->mn" "m=$m,n=$n,k=$k" f64
done
# Block masks on scores (--block-mask; issue 21's BSR masks): per-batch and
# shared masks, odd sizes (partial blocks on both sides), fills 0 and -inf,
# 64x64 and 128x128 tiles, sm_90a and sm_80 code; the runner draws masks
# of 0 and 1 (about half the blocks out) and checks the fill.
suite mask_bhqk_128_ninf     "bhqd,bhkd->bhqk" b=2,h=4,q=300,k=500,d=64 bf16 --block-mask 128x128:fill=-inf
suite mask_bqk_64_shared     "bqd,bkd->bqk" b=3,q=200,k=129,d=40 f16 --block-mask 64x64:shared
suite mask_qk_64_sm80        "qd,kd->qk" q=1000,k=777,d=128 f16 --block-mask 64x64 --target sm_80
suite mask_bhqk_64_f32out    "bhqd,bhkd->bhqk" b=1,h=3,q=257,k=255,d=96 f16 --out f32 --block-mask 64x64:fill=-1.5
# The fuzzer's failure of 2026-12-08 (fuzz_01698, seed 20261209: rel 0.551,
# the accumulators converted before wgmma's last wait; fixed by
# wgmmaWaitAll), and the same with a mask per batch and three K tiles.
suite mask_bhqk_q1_shared    "bhqd,bhkd->bhqk" b=2,h=3,q=1,k=200,d=128 f16 --block-mask 128x128:shared:fill=-2.5
suite mask_bhqk_q1_d192      "bhqd,bhkd->bhqk" b=2,h=3,q=1,k=200,d=192 f16 --block-mask 128x128:fill=-2.5
# Block masks on the TMA kernel (2026-12-08; the planner does not choose it
# until these pass): direct stores (N = 500), staged TMA stores (N = 256),
# one token, a shared mask, int8 on wgmma k32.
MASKTMA='#loom.plan<tile_m = 128, tile_n = 128, tile_k = 64, warps_m = 8, warps_n = 1, mma = wgmma_k16, stages = 4, producer = tma>'
MASKTMA8='#loom.plan<tile_m = 128, tile_n = 128, tile_k = 128, warps_m = 8, warps_n = 1, mma = wgmma_k32, stages = 4, producer = tma>'
suite mask_tma_bhqk_ninf     "bhqd,bhkd->bhqk" b=2,h=4,q=300,k=500,d=64 bf16 --block-mask 128x128:fill=-inf --plan "$MASKTMA"
suite mask_tma_staged        "bhqd,bhkd->bhqk" b=1,h=2,q=256,k=256,d=64 f16 --block-mask 128x128:fill=-1.5 --plan "$MASKTMA"
suite mask_tma_q1_shared     "bhqd,bhkd->bhqk" b=2,h=3,q=1,k=200,d=128 f16 --block-mask 128x128:shared:fill=-2.5 --plan "$MASKTMA"
suite mask_tma_i8            "bqd,bkd->bqk" b=2,q=257,k=129,d=176 i8 --block-mask 128x128 --plan "$MASKTMA8"
suite mask_tma_f32out        "bhqd,bhkd->bhqk" b=1,h=3,q=257,k=255,d=96 f16 --out f32 --block-mask 128x128:fill=-1.5 --plan "$MASKTMA"
# The block-mask benchmark (bench_mask.py, gpu-check's "mask" part): bf16
# scores with 128x128 blocks per batch and head against dense cuBLAS, beside
# the same scores unmasked.
mkdir -p "$PACK/maskbench"
for s in 2,16,2048,2048,128 1,8,8192,8192,128; do
  IFS=, read -r mb mh mq mk md <<< "$s"
  compile_into maskbench "maskbench_b${mb}_h${mh}_q${mq}_k${mk}_d${md}" "bhqd,bhkd->bhqk" \
    "b=$mb,h=$mh,q=$mq,k=$mk,d=$md" bf16 --block-mask 128x128:fill=-inf
  compile_into maskbench "dense_b${mb}_h${mh}_q${mq}_k${mk}_d${md}" "bhqd,bhkd->bhqk" \
    "b=$mb,h=$mh,q=$mq,k=$mk,d=$md" bf16
  compile_into maskbench "tmamask_b${mb}_h${mh}_q${mq}_k${mk}_d${md}" "bhqd,bhkd->bhqk" \
    "b=$mb,h=$mh,q=$mq,k=$mk,d=$md" bf16 --block-mask 128x128:fill=-inf --plan "$MASKTMA"
done
for f in test/Inputs/techniques/*.mlir; do
  "$COMPILE" "$f" -o "$PACK/suite/tech_$(basename "$f" .mlir).bundle"
done
# Size-1 dimensions broadcast (stride 0), from a file.
"$COMPILE" test/Inputs/broadcast-batch.mlir -o "$PACK/suite/bcast_batch.bundle"
# Fused epilogues (scale, bias, relu/gelu/silu, residual, cast) on every
# kind of kernel, and elementwise ops that run alone.
for f in test/Inputs/epilogue/*.mlir; do
  "$COMPILE" "$f" -o "$PACK/suite/epilogue_$(basename "$f" .mlir).bundle"
done
# The same decode-sized layer on mma.sync: split K, the reduce kernel
# applies the epilogue.
"$COMPILE" test/Inputs/epilogue/skinny-split-bias-gelu-residual.mlir --target sm_80 \
  -o "$PACK/suite/epilogue_skinny_split_sm80.bundle"
# The demo program.
"$COMPILE" examples/gemm.mlir -o "$PACK/suite/demo_gemm.bundle"

# Benchmarks: the same kernels the peers are measured against.
bench f16_4096 "mk,nk->mn" m=4096,n=4096,k=4096 f16
bench f16_8192 "mk,nk->mn" m=8192,n=8192,k=8192 f16
bench bf16_4096 "mk,nk->mn" m=4096,n=4096,k=4096 bf16
bench bf16_8192 "mk,nk->mn" m=8192,n=8192,k=8192 bf16
bench i8_8192 "mk,nk->mn" m=8192,n=8192,k=8192 i8
bench e4m3_8192 "mk,nk->mn" m=8192,n=8192,k=8192 f8E4M3FN --out bf16
bench e4m3_4096 "mk,nk->mn" m=4096,n=4096,k=4096 f8E4M3FN --out bf16
bench mmasync_i8_8192 "mk,nk->mn" m=8192,n=8192,k=8192 i8 --target sm_90
# wgmma with A from registers (a_source = registers), against the same
# peers as the shared-memory plans above.
bench rs_f16_4096 "mk,nk->mn" m=4096,n=4096,k=4096 f16 --plan "$(rs "$(tma 128 256 64 wgmma_k16)")"
bench rs_f16_8192 "mk,nk->mn" m=8192,n=8192,k=8192 f16 --plan "$(rs "$(tma 128 256 64 wgmma_k16)")"
bench rs_e4m3_8192 "mk,nk->mn" m=8192,n=8192,k=8192 f8E4M3FN --out bf16 --plan "$(rs "$(tma 128 256 128 wgmma_k32)")"
# 32-bit results: f16 -> f32 (stored with TMA) against cuBLAS.
bench f16_out_f32_8192 "mk,nk->mn" m=8192,n=8192,k=8192 f16 --out f32
# Llama prefill shapes (M = 4096 tokens), x . W^T.
mkdir -p "$PACK/llama"
for kn in 4096,4096 4096,11008 11008,4096 8192,8192 8192,28672 28672,8192; do
  k=${kn%,*} n=${kn#*,}
  compile_into llama "prefill_f16_k${k}_n${n}" "mk,nk->mn" "m=4096,n=$n,k=$k" f16
  compile_into llama "prefill_bf16_k${k}_n${n}" "mk,nk->mn" "m=4096,n=$n,k=$k" bf16
done
# The mma.sync path on the same GPU: plain sm_90 has no wgmma.
bench mmasync_f16_4096 "mk,nk->mn" m=4096,n=4096,k=4096 f16 --target sm_90
bench mmasync_f16_8192 "mk,nk->mn" m=8192,n=8192,k=8192 f16 --target sm_90
bench mmasync_bf16_8192 "mk,nk->mn" m=8192,n=8192,k=8192 bf16 --target sm_90
bench mmasync_bf16_4096 "mk,nk->mn" m=4096,n=4096,k=4096 bf16 --target sm_90
# mma.sync fed by TMA (sm_90a, warp-specialized), alone and in clusters of
# two sharing B.
for dt in f16 bf16; do
  for s in 4096 8192; do
    bench "tmamma_${dt}_$s" "mk,nk->mn" m=$s,n=$s,k=$s $dt --plan "$(tmamma 128 256 64 2 4 m16n8k16 3)"
    bench "tmamma_cl2_${dt}_$s" "mk,nk->mn" m=$s,n=$s,k=$s $dt --plan "$(tmamma 128 256 64 2 4 m16n8k16 3 ", cluster_m = 2")"
  done
done
# The 16-bit square GEMMs again for paired.py (launches interleaved with
# cuBLAS's, then sustained at the power limit): the default (wgmma), the
# mma.sync TMA kernel and the cp.async mma.sync kernel.
mkdir -p "$PACK/paired"
for n in f16_4096 bf16_4096 f16_8192 bf16_8192 tmamma_f16_4096 tmamma_bf16_4096 \
         tmamma_f16_8192 tmamma_bf16_8192 mmasync_f16_8192 mmasync_bf16_8192; do
  cp "$PACK/bench/$n.bundle" "$PACK/paired/"
done
# Transposed operands (A^T B and A B), on wgmma through MN-major TMA tiles.
bench tn_f16_4096 "km,kn->mn" m=4096,n=4096,k=4096 f16
bench nn_bf16_8192 "mk,kn->mn" m=8192,n=8192,k=8192 bf16
# Decode (a few tokens against a large weight), x . W^T against cuBLAS: the
# skinny plans (the transposed product on the TMA kernel, K split across a
# cluster) and, at M = 1, the matrix-vector kernel; and the matrix-vector
# einsums against torch.einsum (NAME.spec: the einsum for the peer).
mkdir -p "$PACK/decode"
for kn in 4096,6144 4096,14336 14336,4096 8192,28672 28672,8192; do
  k=${kn%,*} n=${kn#*,}
  for m in 1 16 32 64; do
    for dt in f16 bf16; do
      compile_into decode "decode_${dt}_m${m}_k${k}_n${n}" "mk,nk->mn" "m=$m,n=$n,k=$k" $dt
    done
  done
done
gemv() { compile_into decode "$@"; echo "$2" > "$PACK/decode/$1.spec"; }
gemv gemv_k_nk_f16    "k,nk->n" n=14336,k=4096 f16
gemv gemv_ii_ij_f32   "ii,ij->j" i=4097,j=1000 f32
gemv gemv_ii_ij_f32_big "ii,ij->j" i=16384,j=8192 f32
gemv gemv_bk_bnk_bf16 "bk,bnk->bn" b=8,n=4096,k=4096 bf16
source scripts/pack-sections/quant.sh
source scripts/pack-sections/sparse.sh
# Memory-bound einsums against torch.einsum and a copy of as many bytes.
mkdir -p "$PACK/memory"
mem() { compile_into memory "$@"; }
mem transpose_f16_8192   "ij->ji" i=8192,j=8192 f16
mem permute_f32          "abc->acb" a=64,b=512,c=512 f32
mem permute4_bf16        "abcd->cadb" a=32,b=64,c=64,d=128 bf16
mem rowsum_f16           "ij->i" i=16384,j=8192 f16
mem colsum_f16           "ij->j" i=16384,j=8192 f16
mem total_f32            "ij->" i=4096,j=4096 f32
mem hadamard_f16         "ij,ij->ij" i=8192,j=8192 f16
mem outer_f32            "i,j->ij" i=8192,j=8192 f32
mem scale_rows_bf16      "ij,i->ij" i=8192,j=8192 bf16
mem bdot_f16             "bk,bk->b" b=65536,k=1024 f16 --out f32
mem attn_scores_f16      "bhqd,bhkd->bhqk" b=8,h=16,q=2048,k=2048,d=128 f16
mem batched_t_f16        "bij->bji" b=32,i=2048,j=1024 f16
mem transpose_e4m3_8192  "ij->ji" i=8192,j=8192 f8E4M3FN
mem rowsum_e5m2          "ij->i" i=16384,j=8192 f8E5M2 --out f32
# The einsum targets of the full-einsum issue against torch.einsum: a
# transpose-heavy contraction and a chain that the path optimizer reorders
# (NAME.spec: the whole einsum, for the peer).
mkdir -p "$PACK/targets"
compile_into targets abcd_dbe_ace "abcd,dbe->ace" a=64,b=32,c=128,d=256,e=512 f16
compile_into targets chain_ij_jk_kl "ij,jk,kl->il" i=4096,j=64,k=4096,l=512 f16
echo "ij,jk,kl->il" > "$PACK/targets/chain_ij_jk_kl.spec"
# f32 (CUDA cores) and f64 (DMMA) GEMMs against torch.einsum, which runs
# cuBLAS's SGEMM and DGEMM.
mkdir -p "$PACK/wide"
compile_into wide dgemm_2048 "mk,nk->mn" m=2048,n=2048,k=2048 f64
compile_into wide dgemm_4096 "mk,kn->mn" m=4096,n=4096,k=4096 f64
echo "mk,kn->mn" > "$PACK/wide/dgemm_4096.spec" # (B is transposed by a first kernel)
compile_into wide sgemm_2048 "mk,nk->mn" m=2048,n=2048,k=2048 f32
# Fused epilogues: x . W^T + bias, an activation, perhaps a residual, written
# as separate ops and fused by the compiler; against PyTorch eager.
mkdir -p "$PACK/epilogue"
ep_bench() { # name M N K dtype activation residual(0|1)
  local name=$1 M=$2 N=$3 K=$4 dt=$5 act=$6 res=$7 f="$PACK/epilogue/$1.mlir"
  local y="tensor<${M}x${N}x${dt}>"
  {
    echo "func.func @main(%a: tensor<${M}x${K}x${dt}>, %w: tensor<${N}x${K}x${dt}>, %b: tensor<${N}x${dt}>$([ "$res" = 1 ] && echo ", %r: $y")) -> $y {"
    echo "  %c = loom.einsum \"mk,nk->mn\" (%a, %w) : (tensor<${M}x${K}x${dt}>, tensor<${N}x${K}x${dt}>) -> $y"
    echo "  %d = loom.add %c, %b : $y, tensor<${N}x${dt}>"
    echo "  %e = loom.activation $act %d : $y"
    if [ "$res" = 1 ]; then
      echo "  %o = loom.add %e, %r : $y, $y"
      echo "  return %o : $y"
    else
      echo "  return %e : $y"
    fi
    echo "}"
  } > "$f"
  "$COMPILE" "$f" -o "$PACK/epilogue/$name.bundle"
  rm "$f"
}
ep_bench up_gelu_f16_4096x11008x4096 4096 11008 4096 f16 gelu 0
ep_bench mlp_relu_residual_bf16_4096 4096 4096 4096 bf16 relu 1
ep_bench silu_f16_8192 8192 8192 8192 f16 silu 0
ep_bench gelu_residual_f16_2048 2048 2048 2048 f16 gelu 1
# Shape polymorphism: one dynamic-M bundle against a static bundle per size.
mkdir -p "$PACK/dynamic"
compile_into dynamic dyn_f16_k4096_n4096 "mk,nk->mn" m=?,n=4096,k=4096 f16
for m in 1 16 300 4096; do
  compile_into dynamic "static_f16_m${m}" "mk,nk->mn" "m=$m,n=4096,k=4096" f16
done
# The programs with the compiler linked in statically (the GPU host has no
# LLVM), when scripts/build-static-jit.sh has built them; STATIC (default
# "jit tune python") says which go: the JIT host and its benchmark, the
# tuner, the Python package's library. Each is about 14 MB compressed, and a
# device call carries at most 64 MiB.
ST=${BUILD_STATIC:-build-static}
STATIC=${STATIC:-jit tune python}
has() { [[ " $STATIC " == *" $1 "* ]]; }
if [ -x "$ST/bin/einloom-jit-host" ]; then
  has jit && for p in einloom-jit-host einloom-jit-bench; do xz -T2 -6 -c "$ST/bin/$p" > "$PACK/bin/$p.xz"; done
  has tune && xz -T2 -6 -c "$ST/bin/einloom-tune" > "$PACK/bin/einloom-tune.xz"
  has python && pack_python
else
  echo "note: no $ST/bin/einloom-jit-host (scripts/build-static-jit.sh); the GPU check skips the JIT host, the tuner and the Python package"
fi
cp tuning/shapes.txt "$PACK/tune-shapes.txt"
[ -n "${TUNING_DB:-}" ] && cp "$TUNING_DB" "$PACK/tuning.db"
# The fuzzer's packs (einsum-fuzz.py --emit-pack DIR), when FUZZ_PACK or
# FUZZ_TIME_PACK names one.
[ -n "${FUZZ_PACK:-}" ] && cp -r "$FUZZ_PACK" "$PACK/fuzz"
[ -n "${FUZZ_TIME_PACK:-}" ] && cp -r "$FUZZ_TIME_PACK" "$PACK/fuzztime"
finish_pack

