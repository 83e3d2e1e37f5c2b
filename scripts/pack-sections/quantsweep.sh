# The weight-only plan sweep of scripts/build-gpu-pack.sh
# (PACK_ONLY=quantsweep): W4 (int4, groups of 128, zero points) at the
# issue-19 shapes, each compiled with a forced plan, for gpu-check's
# "quantsweep" part to time with the runner: at 16 tokens the mma.sync core
# at 64, 128 and 256 weight rows a tile and splits 1-8; at 64 and 128 tokens
# the wgmma core at one or two warpgroups, 64 or 128 tokens a tile, splits
# 1-4, beside the mma.sync plan the planner chose before it. What the
# planner's weight-streaming estimates and the tuning database are fitted to.
mkdir -p "$PACK/quantsweep"
qs() { compile_into quantsweep "$1" "mk,nk->mn" "$2" f16 --weight-quant int4:g128:asym --plan "$3"; }
for kn in ${QSWEEP_SHAPES:-8192,28672 4096,14336}; do
  k=${kn%,*} n=${kn#*,}
  for tm in 64 128 256; do
    for split in 1 2 4 8; do
      qs "m16_k${k}_n${n}_mma_t${tm}_s${split}" "m=16,n=$n,k=$k" "#loom.plan<tile_m = $tm, tile_n = 16, \
tile_k = 64, warps_m = 4, warps_n = 1, mma = m16n8k16, stages = 4, split_k = $split, order = ba>"
    done
  done
  for m in 64 128; do
    for tm in 64 128; do
      for tn in 64 128; do
        [ "$tn" -gt "$m" ] && continue
        for split in 1 2 4; do
          qs "m${m}_k${k}_n${n}_wg_t${tm}x${tn}_s${split}" "m=$m,n=$n,k=$k" "#loom.plan<tile_m = $tm, \
tile_n = $tn, tile_k = 64, warps_m = $((tm / 16)), warps_n = 1, mma = wgmma_k16, stages = 4, \
split_k = $split, order = ba, a_source = registers>"
        done
      done
    done
    qs "m${m}_k${k}_n${n}_mma_t64x${m}_s1" "m=$m,n=$n,k=$k" "#loom.plan<tile_m = 64, tile_n = $m, \
tile_k = 64, warps_m = $((m == 64 ? 4 : 2)), warps_n = $((m == 64 ? 1 : 2)), mma = m16n8k16, stages = 4, \
split_k = 1, order = ba>"
  done
done
# The wgmma core's two producers at 128 tokens: cp.async (the planner's
# choice) against the TMA form (producer = tma: a producer warpgroup's bulk
# copies of the codes, TMA for the activations), same tiles and stages; at
# 4096 tokens cp.async alone (the TMA form takes one tile column of tokens:
# with several it gave wrong results on the H100, 2026-12-07).
wgplan() { # tile_n stages producer
  echo "#loom.plan<tile_m = 128, tile_n = $1, tile_k = 64, warps_m = 8, warps_n = 1, \
mma = wgmma_k16, stages = $2, split_k = 1, producer = $3, order = ba, a_source = registers>"; }
for kn in ${QSWEEP_SHAPES:-8192,28672 4096,14336}; do
  k=${kn%,*} n=${kn#*,}
  qs "m128_k${k}_n${n}_wg_t128x128_cpasync" "m=128,n=$n,k=$k" "$(wgplan 128 4 cp_async)"
  qs "m128_k${k}_n${n}_wg_t128x128_tma" "m=128,n=$n,k=$k" "$(wgplan 128 4 tma)"
  qs "m4096_k${k}_n${n}_wg_t128x256_cpasync" "m=4096,n=$n,k=$k" "$(wgplan 256 3 cp_async)"
  # (One CTA an SM either way at 256 tokens: registers. Deeper rings.)
  qs "m4096_k${k}_n${n}_wg_t128x256_cpasync_st5" "m=4096,n=$n,k=$k" "$(wgplan 256 5 cp_async)"
done
# Decode (16 tokens, the planner's plan): what each part of the mma.sync
# kernel costs. Scales per channel (no group reloads) and without zero
# points; EINLOOM_EXPERIMENT=noloads / nomma compile the kernel without its
# copies / its MMAs (results wrong; timing only).
for kn in ${QSWEEP_SHAPES:-8192,28672 4096,14336}; do
  k=${kn%,*} n=${kn#*,}
  for q in int4:g128:asym int4:asym int4:g128; do
    compile_into quantsweep "m16_k${k}_n${n}_planner_${q//:/_}" "mk,nk->mn" "m=16,n=$n,k=$k" f16 --weight-quant "$q"
  done
  for e in noloads nomma; do
    EINLOOM_EXPERIMENT=$e compile_into quantsweep "m16_k${k}_n${n}_planner_$e" "mk,nk->mn" \
      "m=16,n=$n,k=$k" f16 --weight-quant int4:g128:asym
  done
done
# The wgmma core at 16 tokens (one warpgroup of 64 weight rows, wgmma
# m64n16k16): cp.async with splits 1-8, and the TMA form unsplit (two CTAs
# an SM), against the mma.sync plans above.
for kn in ${QSWEEP_SHAPES:-8192,28672 4096,14336}; do
  k=${kn%,*} n=${kn#*,}
  for split in 1 2 4 8; do
    qs "m16_k${k}_n${n}_wg_t64x16_s${split}" "m=16,n=$n,k=$k" "#loom.plan<tile_m = 64, \
tile_n = 16, tile_k = 64, warps_m = 4, warps_n = 1, mma = wgmma_k16, stages = 4, \
split_k = $split, order = ba, a_source = registers>"
  done
  qs "m16_k${k}_n${n}_wg_t64x16_tma" "m=16,n=$n,k=$k" "#loom.plan<tile_m = 64, tile_n = 16, \
tile_k = 64, warps_m = 4, warps_n = 1, mma = wgmma_k16, stages = 6, split_k = 1, producer = tma, \
order = ba, a_source = registers>"
done
