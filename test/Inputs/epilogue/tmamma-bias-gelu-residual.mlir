// mma.sync fed by TMA (each warp stages its f16 tile of C in shared memory
// and stores it with TMA), with a scale, an f32 bias, gelu and a residual
// fused; M, N and K tails (N = 1000 keeps C's rows 16-byte aligned, as TMA
// needs). The plan is given: the planner picks wgmma here.
func.func @main(%a: tensor<777x520xf16>, %b: tensor<1000x520xf16>, %bias: tensor<1000xf32>, %r: tensor<777x1000xf16>) -> tensor<777x1000xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %b) {plan = #loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 2, warps_n = 4, mma = m16n8k16, stages = 3, producer = tma, raster = swizzle, swizzle = 8>} : (tensor<777x520xf16>, tensor<1000x520xf16>) -> tensor<777x1000xf32>
  %s = loom.scale %c by 5.000000e-01 : tensor<777x1000xf32>
  %d = loom.add %s, %bias : tensor<777x1000xf32>, tensor<1000xf32>
  %g = loom.activation gelu %d : tensor<777x1000xf32>
  %h = loom.cast %g : tensor<777x1000xf32> to tensor<777x1000xf16>
  %o = loom.add %h, %r : tensor<777x1000xf16>, tensor<777x1000xf16>
  return %o : tensor<777x1000xf16>
}
