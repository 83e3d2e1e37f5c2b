// RUN: einloom-opt %s -loom-lower-to-kernels -verify-diagnostics
func.func @f(%a: tensor<64x64xf16>) -> tensor<64x64xf16> {
  // expected-error @+1 {{has no plan; run -loom-select-plan first}}
  %c = loom.einsum "mk,nk->mn" (%a, %a) : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return %c : tensor<64x64xf16>
}
