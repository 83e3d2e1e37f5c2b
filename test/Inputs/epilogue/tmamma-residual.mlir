// mma.sync fed by TMA with only a residual fused, as large as C: it is read
// at C's own offset (no remainder by its element count), and M and N tails.
// The plan is given: the planner picks wgmma here.
func.func @main(%a: tensor<777x520xf16>, %b: tensor<1000x520xf16>, %r: tensor<777x1000xf16>) -> tensor<777x1000xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %b) {plan = #loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 2, warps_n = 4, mma = m16n8k16, stages = 3, producer = tma, raster = swizzle, swizzle = 8>} : (tensor<777x520xf16>, tensor<1000x520xf16>) -> tensor<777x1000xf32>
  %h = loom.cast %c : tensor<777x1000xf32> to tensor<777x1000xf16>
  %o = loom.add %h, %r : tensor<777x1000xf16>, tensor<777x1000xf16>
  return %o : tensor<777x1000xf16>
}
