func.func @main(%w: tensor<1024x4096xf16, #loom.sparse<format = tiled_csl, tile_rows = 64, tile_cols = 64>>, %x: tensor<8x4096xf16, #loom.sparse<format = tiled_csl, tile_rows = 64, tile_cols = 64>>) -> tensor<8x1024xf16> {
  %y = loom.einsum "nk,mk->mn" (%w, %x) : (tensor<1024x4096xf16, #loom.sparse<format = tiled_csl, tile_rows = 64, tile_cols = 64>>, tensor<8x4096xf16, #loom.sparse<format = tiled_csl, tile_rows = 64, tile_cols = 64>>) -> tensor<8x1024xf16>
  return %y : tensor<8x1024xf16>
}
