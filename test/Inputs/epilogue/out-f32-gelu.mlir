// f16 operands, an f32 result (the Hopper kernel, stored with TMA), scale,
// bias and gelu. (The TMA plan is given.)
func.func @main(%a: tensor<777x1024xf16>, %b: tensor<520x1024xf16>, %bias: tensor<520xf32>) -> tensor<777x520xf32> {
  %c = loom.einsum "mk,nk->mn" (%a, %b) {plan = #loom.plan<tile_m = 128, tile_n = 128, tile_k = 64, warps_m = 8, warps_n = 1, mma = wgmma_k16, stages = 4, producer = tma>} : (tensor<777x1024xf16>, tensor<520x1024xf16>) -> tensor<777x520xf32>
  %s = loom.scale %c by 3.125000e-02 : tensor<777x520xf32>
  %d = loom.add %s, %bias : tensor<777x520xf32>, tensor<520xf32>
  %e = loom.activation gelu %d : tensor<777x520xf32>
  return %e : tensor<777x520xf32>
}
