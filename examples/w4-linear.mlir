// A W4A16 linear layer (2048 x 1024 weight, 16 tokens): int4 codes with groups
// of 128 and zero points, dequantized in registers by one mixed-input kernel
// that also adds the bias and applies SiLU. `make demo` compiles it and, on a
// machine with a GPU, runs it against the CPU reference.
func.func @main(%x: tensor<16x1024xf16>, %q: tensor<2048x1024xi4>, %s: tensor<2048x8xf16>, %z: tensor<2048x8xi8>, %bias: tensor<2048xf32>) -> tensor<16x2048xf16> {
  %w = loom.dequantize %q, %s, %z {quant = #loom.quant<bits = 4, kind = unsigned, scheme = asymmetric, granularity = group, axis = 1, group_size = 128, scale_type = f16>} : (tensor<2048x1024xi4>, tensor<2048x8xf16>, tensor<2048x8xi8>) -> tensor<2048x1024xf16>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<16x1024xf16>, tensor<2048x1024xf16>) -> tensor<16x2048xf32>
  %b = loom.add %y, %bias : tensor<16x2048xf32>, tensor<2048xf32>
  %a = loom.activation silu %b : tensor<16x2048xf32>
  %o = loom.cast %a : tensor<16x2048xf32> to tensor<16x2048xf16>
  return %o : tensor<16x2048xf16>
}
