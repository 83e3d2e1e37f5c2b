// W8A8 scales on a split of K into eight ranks (the fuzzer's case of
// 2026-12-07, test/Plan/w8a8-split-spills.test).
func.func @main(%x: tensor<64x15168xi8>, %w: tensor<96x15168xi8>, %sa: tensor<64xf32>, %sb: tensor<96xf32>) -> tensor<64x96xf16> {
  %y = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%sa : tensor<64xf32>) col_scale(%sb : tensor<96xf32>) : (tensor<64x15168xi8>, tensor<96x15168xi8>) -> tensor<64x96xf16>
  return %y : tensor<64x96xf16>
}
