// A bipolar (1-bit, ±1) weight: loom-fuse-dequantize leaves it alone and no
// GPU kernel dequantizes bipolar codes yet (test/Tools/weight-quant.test).
func.func @main(%x: tensor<16x128xf16>, %q: tensor<64x128xi2>, %s: tensor<64xf16>) -> tensor<16x64xf16> {
  %w = loom.dequantize %q, %s {quant = #loom.quant<bits = 1, kind = bipolar, granularity = channel, axis = 0, scale_type = f16>} : (tensor<64x128xi2>, tensor<64xf16>) -> tensor<64x128xf16>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<16x128xf16>, tensor<64x128xf16>) -> tensor<16x64xf16>
  return %y : tensor<16x64xf16>
}
