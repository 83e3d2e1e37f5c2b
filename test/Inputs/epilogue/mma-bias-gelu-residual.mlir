// x . W^T on the mma.sync path (small: the planner picks it), then scale,
// bias, gelu, cast and a residual: all fused into the einsum.
func.func @main(%a: tensor<300x256xf16>, %b: tensor<520x256xf16>, %bias: tensor<520xf32>, %r: tensor<300x520xf16>) -> tensor<300x520xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %b) : (tensor<300x256xf16>, tensor<520x256xf16>) -> tensor<300x520xf32>
  %s = loom.scale %c by 5.000000e-01 : tensor<300x520xf32>
  %d = loom.add %s, %bias : tensor<300x520xf32>, tensor<520xf32>
  %g = loom.activation gelu %d : tensor<300x520xf32>
  %h = loom.cast %g : tensor<300x520xf32> to tensor<300x520xf16>
  %o = loom.add %h, %r {beta = 2.0} : tensor<300x520xf16>, tensor<300x520xf16>
  return %o : tensor<300x520xf16>
}
