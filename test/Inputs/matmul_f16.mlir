func.func @main(%a: tensor<2x3xf16>, %b: tensor<3x2xf16>) -> tensor<2x2xf16> {
  %0 = loom.einsum "ik,kj->ij" (%a, %b) : (tensor<2x3xf16>, tensor<3x2xf16>) -> tensor<2x2xf16>
  return %0 : tensor<2x2xf16>
}
