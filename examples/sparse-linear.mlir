// A sparse linear layer (4096 x 4096 weight, 16 tokens): the weight is stored
// in the Tiled-CSL format (64 x 64 tiles, a 32-bit word per non-zero), read
// by one kernel that scatters each tile into shared memory for the dense
// tensor cores and also adds the bias and applies GELU. `make demo` compiles
// it and, on a machine with a GPU, runs it at 20% density (80% sparsity)
// against the CPU reference.
func.func @main(%x: tensor<16x4096xf16>, %w: tensor<4096x4096xf16, #loom.sparse<format = tiled_csl, tile_rows = 64, tile_cols = 64>>, %bias: tensor<4096xf32>) -> tensor<16x4096xf16> {
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<16x4096xf16>, tensor<4096x4096xf16, #loom.sparse<format = tiled_csl, tile_rows = 64, tile_cols = 64>>) -> tensor<16x4096xf32>
  %b = loom.add %y, %bias : tensor<16x4096xf32>, tensor<4096xf32>
  %a = loom.activation gelu %b : tensor<16x4096xf32>
  %o = loom.cast %a : tensor<16x4096xf32> to tensor<16x4096xf16>
  return %o : tensor<16x4096xf16>
}
