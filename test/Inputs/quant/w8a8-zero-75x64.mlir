// W8A8 with an activation zero point's rank-1 term at an odd size (the
// fuzzer's case of 2026-12-07, test/Plan/w8a8-split-spills.test).
func.func @main(%x: tensor<75x2048xi8>, %w: tensor<64x2048xi8>, %sa: tensor<75xf32>, %sb: tensor<64xf32>, %za: tensor<75xi8>, %cs: tensor<64xi32>) -> tensor<75x64xf16> {
  %y = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%sa : tensor<75xf32>) col_scale(%sb : tensor<64xf32>) row_zero(%za : tensor<75xi8>) col_sum(%cs : tensor<64xi32>) : (tensor<75x2048xi8>, tensor<64x2048xi8>) -> tensor<75x64xf16>
  return %y : tensor<75x64xf16>
}
