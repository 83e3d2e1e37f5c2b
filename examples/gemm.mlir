// A batched attention-score contraction: Q (batch, queries, dim) against
// K (batch, keys, dim), the second operand's modes transposed in memory.
func.func @main(%q: tensor<16x1024x128xf16>, %k: tensor<16x1024x128xf16>) -> tensor<16x1024x1024xf16> {
  %s = loom.einsum "bqd,bkd->bqk" (%q, %k) {acc = f32}
     : (tensor<16x1024x128xf16>, tensor<16x1024x128xf16>) -> tensor<16x1024x1024xf16>
  return %s : tensor<16x1024x1024xf16>
}
