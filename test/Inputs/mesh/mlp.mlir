// The Megatron MLP block over a mesh of 4 ("tp"): the up-projection split
// by its output features f (column-parallel), gelu on the split, the
// down-projection split by its summed f (row-parallel: a partial sum).
func.func @mlp(%x: tensor<16x64xf32>, %w1: tensor<256x64xf32>, %w2: tensor<64x256xf32>) -> tensor<16x64xf32> attributes {loom.mesh = #loom.mesh<["tp" = 4]>} {
  %h = loom.einsum "th,fh->tf" (%x, %w1) {loom.shard = {f = "tp"}} : (tensor<16x64xf32>, tensor<256x64xf32>) -> tensor<16x256xf32>
  %a = loom.activation gelu %h : tensor<16x256xf32>
  %y = loom.einsum "tf,hf->th" (%a, %w2) {loom.shard = {f = "tp"}} : (tensor<16x256xf32>, tensor<64x256xf32>) -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}

// The same with sequence parallelism: x arrives split by tokens, is
// gathered before the up-projection, and the down-projection's partial
// sum is reduce-scattered back to tokens.
func.func @mlp_sp(%x: tensor<16x64xf32> {loom.sharding = ["tp", ""]}, %w1: tensor<256x64xf32>, %w2: tensor<64x256xf32>) -> tensor<16x64xf32> attributes {loom.mesh = #loom.mesh<["tp" = 4]>} {
  %h = loom.einsum "th,fh->tf" (%x, %w1) {loom.shard = {f = "tp"}} : (tensor<16x64xf32>, tensor<256x64xf32>) -> tensor<16x256xf32>
  %a = loom.activation gelu %h : tensor<16x256xf32>
  %y = loom.einsum "tf,hf->th" (%a, %w2) {loom.shard = {f = "tp"}, loom.out_shard = {t = "tp"}} : (tensor<16x256xf32>, tensor<64x256xf32>) -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}
