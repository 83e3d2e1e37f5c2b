func.func @main(%a: tensor<200x96xf32>, %b: tensor<96x72xf32>, %x: tensor<2048x1024xf16>, %w: tensor<2048x1024xf16>) -> (tensor<200x72xf32>, tensor<2048x2048xf16>) {
  %c = loom.einsum "mk,kn->mn" (%a, %b) : (tensor<200x96xf32>, tensor<96x72xf32>) -> tensor<200x72xf32>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<2048x1024xf16>, tensor<2048x1024xf16>) -> tensor<2048x2048xf16>
  return %c, %y : tensor<200x72xf32>, tensor<2048x2048xf16>
}
