// The Megatron MLP block with its einsums split over "tp", but no mesh:
// einloom-compile --mesh tp=N gives it one (test/Tools/partition-mesh.test).
func.func @mlp(%x: tensor<64x1024xf16>, %w1: tensor<4096x1024xf16>, %w2: tensor<1024x4096xf16>) -> tensor<64x1024xf16> {
  %h = loom.einsum "th,fh->tf" (%x, %w1) {loom.shard = {f = "tp"}} : (tensor<64x1024xf16>, tensor<4096x1024xf16>) -> tensor<64x4096xf16>
  %a = loom.activation gelu %h : tensor<64x4096xf16>
  %y = loom.einsum "tf,hf->th" (%a, %w2) {loom.shard = {f = "tp"}} : (tensor<64x4096xf16>, tensor<1024x4096xf16>) -> tensor<64x1024xf16>
  return %y : tensor<64x1024xf16>
}
