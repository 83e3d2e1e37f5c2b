func.func @main(%x: tensor<64x80xi8>, %w: tensor<40x80xi8>, %sa: tensor<64xf32>, %sb: tensor<40xf32>, %za: tensor<64xi8>, %cs: tensor<40xi32>) -> tensor<64x40xf32> {
  %y = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%sa : tensor<64xf32>) col_scale(%sb : tensor<40xf32>) row_zero(%za : tensor<64xi8>) col_sum(%cs : tensor<40xi32>) : (tensor<64x80xi8>, tensor<40x80xi8>) -> tensor<64x40xf32>
  return %y : tensor<64x40xf32>
}
