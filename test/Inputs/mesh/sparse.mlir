// A column-parallel layer with a Tiled-CSL weight: each rank's slice of the
// weight's rows is its own sparse weight (packed by that rank), read by the
// sparse producer (test/Tools/partition-mesh.test).
func.func @lin(%x: tensor<16x256xf16>, %w: tensor<512x256xf16, #loom.sparse<format = tiled_csl, tile_rows = 64, tile_cols = 64>>) -> tensor<16x512xf16> {
  %y = loom.einsum "mk,nk->mn" (%x, %w) {loom.shard = {n = "tp"}} : (tensor<16x256xf16>, tensor<512x256xf16, #loom.sparse<format = tiled_csl, tile_rows = 64, tile_cols = 64>>) -> tensor<16x512xf16>
  return %y : tensor<16x512xf16>
}
