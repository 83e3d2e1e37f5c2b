// A decode-sized x . W^T (8 tokens): K splits, and the kernel that sums the
// split applies the scale, bias, gelu, cast and residual.
func.func @main(%a: tensor<8x4096xf16>, %b: tensor<4096x4096xf16>, %bias: tensor<4096xf32>, %r: tensor<8x4096xf16>) -> tensor<8x4096xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %b) : (tensor<8x4096xf16>, tensor<4096x4096xf16>) -> tensor<8x4096xf32>
  %s = loom.scale %c by 5.000000e-01 : tensor<8x4096xf32>
  %d = loom.add %s, %bias : tensor<8x4096xf32>, tensor<4096xf32>
  %g = loom.activation gelu %d : tensor<8x4096xf32>
  %h = loom.cast %g : tensor<8x4096xf32> to tensor<8x4096xf16>
  %o = loom.add %h, %r {beta = 2.0} : tensor<8x4096xf16>, tensor<8x4096xf16>
  return %o : tensor<8x4096xf16>
}
