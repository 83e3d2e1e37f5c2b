func.func @main(%x: tensor<8x4096xf16>, %w: tensor<1024x4096xf16, #loom.sparse<format = auto, density = 30>>) -> tensor<8x1024xf16> {
  %y = loom.einsum "mk,nk->mn" (%x, %w) {plan = #loom.plan<tile_m = 64, tile_n = 16, tile_k = 64, warps_m = 4, warps_n = 1, mma = m16n8k16, stages = 4, producer = bitmap, order = ba>} : (tensor<8x4096xf16>, tensor<1024x4096xf16, #loom.sparse<format = auto, density = 30>>) -> tensor<8x1024xf16>
  return %y : tensor<8x1024xf16>
}
