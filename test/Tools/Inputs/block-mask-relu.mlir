func.func @main(%q: tensor<2x100x64xf16>, %k: tensor<2x130x64xf16>, %m: tensor<2x2x3xi8>) -> tensor<2x100x130xf16> {
  %s = loom.einsum "bqd,bkd->bqk" (%q, %k) block_mask(%m : tensor<2x2x3xi8>) {mask_block = array<i64: 64, 64>} : (tensor<2x100x64xf16>, tensor<2x130x64xf16>) -> tensor<2x100x130xf16>
  %r = loom.activation relu %s : tensor<2x100x130xf16>
  return %r : tensor<2x100x130xf16>
}
