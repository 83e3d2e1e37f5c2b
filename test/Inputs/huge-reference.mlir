// 10^12 elements in and 10^12 out: valid IR, but 16 TB as the reference's doubles.
func.func @main(%a: tensor<1000000x1000000xf16>) -> tensor<1000000x1000000xf16> {
  %0 = loom.einsum "ij->ji" (%a) : (tensor<1000000x1000000xf16>) -> tensor<1000000x1000000xf16>
  return %0 : tensor<1000000x1000000xf16>
}
