# The sparse plan sweep of scripts/build-gpu-pack.sh (PACK_ONLY=sparsesweep):
# the issue-21 benchmark shapes at 16 tokens, each compiled with a forced
# plan per split (1, 2, 4) and words prefetch (1, 2, 3 tiles in flight), for
# gpu-check's "sparsesweep" part to time at several densities; what the
# planner's sparse latency term and the tuning database are fitted to.
mkdir -p "$PACK/sparsesweep"
for kn in ${SWEEP_SHAPES:-8192,28672 28672,8192 4096,14336}; do
  k=${kn%,*} n=${kn#*,}
  for split in ${SWEEP_SPLITS:-1 2 4}; do
    for pf in ${SWEEP_PREFETCH:-1 2 3}; do
      compile_into sparsesweep "sw_k${k}_n${n}_s${split}_p${pf}" "mk,nk->mn" "m=16,n=$n,k=$k" f16 \
        --sparse tiled_csl --plan "#loom.plan<tile_m = 64, tile_n = 16, tile_k = 64, warps_m = 4, \
warps_n = 1, mma = m16n8k16, stages = 4, split_k = $split, producer = tiled_csl, order = ba, \
prefetch = $pf>"
    done
  done
done
