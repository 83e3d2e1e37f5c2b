// A W4A16 linear layer with its bias and SiLU: the dequantize fuses into the
// einsum (the mixed-input kernel) and the bias and activation into its
// epilogue; one kernel (test/Tools/weight-quant.test; gpu-check's quant part
// runs it with --check).
func.func @main(%x: tensor<16x1024xf16>, %q: tensor<2048x1024xi4>, %s: tensor<2048x8xf16>, %z: tensor<2048x8xi8>, %bias: tensor<2048xf32>) -> tensor<16x2048xf16> {
  %w = loom.dequantize %q, %s, %z {quant = #loom.quant<bits = 4, kind = unsigned, scheme = asymmetric, granularity = group, axis = 1, group_size = 128, scale_type = f16>} : (tensor<2048x1024xi4>, tensor<2048x8xf16>, tensor<2048x8xi8>) -> tensor<2048x1024xf16>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<16x1024xf16>, tensor<2048x1024xf16>) -> tensor<16x2048xf32>
  %b = loom.add %y, %bias : tensor<16x2048xf32>, tensor<2048xf32>
  %a = loom.activation silu %b : tensor<16x2048xf32>
  %o = loom.cast %a : tensor<16x2048xf32> to tensor<16x2048xf16>
  return %o : tensor<16x2048xf16>
}
