// Shardings loom-partition-mesh rejects, one function each.

// 250 output features do not split over 4 ranks.
func.func @uneven(%x: tensor<16x64xf32>, %w: tensor<250x64xf32>) -> tensor<16x250xf32> attributes {loom.mesh = #loom.mesh<["tp" = 4]>} {
  %h = loom.einsum "th,fh->tf" (%x, %w) {loom.shard = {f = "tp"}} : (tensor<16x64xf32>, tensor<250x64xf32>) -> tensor<16x250xf32>
  return %h : tensor<16x250xf32>
}

// An axis the mesh does not have.
func.func @axis(%x: tensor<16x64xf32>, %w: tensor<256x64xf32>) -> tensor<16x256xf32> attributes {loom.mesh = #loom.mesh<["tp" = 4]>} {
  %h = loom.einsum "th,fh->tf" (%x, %w) {loom.shard = {f = "ep"}} : (tensor<16x64xf32>, tensor<256x64xf32>) -> tensor<16x256xf32>
  return %h : tensor<16x256xf32>
}

// A split einsum in a function with no mesh.
func.func @nomesh(%x: tensor<16x64xf32>, %w: tensor<256x64xf32>) -> tensor<16x256xf32> {
  %h = loom.einsum "th,fh->tf" (%x, %w) {loom.shard = {f = "tp"}} : (tensor<16x64xf32>, tensor<256x64xf32>) -> tensor<16x256xf32>
  return %h : tensor<16x256xf32>
}

// A split tensor into an op the partitioner does not know.
func.func @unknown(%u: tensor<4x8x256xf16>, %k: tensor<8x256xf16>) -> tensor<4x8x256xf16> attributes {loom.mesh = #loom.mesh<["tp" = 2]>} {
  %a = loom.einsum "bhn->bhn" (%u) {loom.shard = {h = "tp"}} : (tensor<4x8x256xf16>) -> tensor<4x8x256xf16>
  %y = loom.fftconv causal %a, %k : (tensor<4x8x256xf16>, tensor<8x256xf16>) -> tensor<4x8x256xf16>
  return %y : tensor<4x8x256xf16>
}

// Two labels of one result over the same axis (rank r would hold only the
// block (r, r)).
func.func @twice(%x: tensor<16x64xf32>, %w: tensor<256x64xf32>) -> tensor<16x256xf32> attributes {loom.mesh = #loom.mesh<["tp" = 4]>} {
  %h = loom.einsum "th,fh->tf" (%x, %w) {loom.shard = {t = "tp", f = "tp"}} : (tensor<16x64xf32>, tensor<256x64xf32>) -> tensor<16x256xf32>
  return %h : tensor<16x256xf32>
}
