# The sharded-bundle section of scripts/build-gpu-pack.sh (sourced there,
# with $COMPILE and $PACK; PACK_ONLY=mesh builds a pack of this alone).
# mesh/ holds programs over a mesh of one rank, which einloom-run-rt runs
# with --check through a one-rank NCCL communicator: the MLP block (an
# all-reduce), its sequence-parallel form (an all-gather and a
# reduce-scatter on the leading dimension) and a column-parallel layer whose
# result is gathered along its second dimension (strided copies through a
# scratch buffer). The torchrun example compiles its own programs.
mkdir -p "$PACK/mesh"
"$COMPILE" test/Inputs/mesh/mlp-unmeshed.mlir --mesh tp=1 -o "$PACK/mesh/mlp_f16_tp1.bundle"
"$COMPILE" test/Inputs/mesh/mlp.mlir --function mlp_sp --mesh tp=1 -o "$PACK/mesh/mlp_sp_f32_tp1.bundle"
cat > "$PACK/mesh/gather.mlir" <<'MLIR'
func.func @col(%x: tensor<64x512xbf16>, %w: tensor<1024x512xbf16>, %v: tensor<256x1024xbf16>) -> tensor<64x256xbf16> {
  %h = loom.einsum "th,fh->tf" (%x, %w) {loom.shard = {f = "tp"}} : (tensor<64x512xbf16>, tensor<1024x512xbf16>) -> tensor<64x1024xbf16>
  %y = loom.einsum "tf,gf->tg" (%h, %v) : (tensor<64x1024xbf16>, tensor<256x1024xbf16>) -> tensor<64x256xbf16>
  return %y : tensor<64x256xbf16>
}
MLIR
"$COMPILE" "$PACK/mesh/gather.mlir" --mesh tp=1 -o "$PACK/mesh/gather_bf16_tp1.bundle"
rm "$PACK/mesh/gather.mlir"
