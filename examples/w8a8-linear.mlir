// A W8A8 linear layer (4096 x 1024 int8 weight with per-channel scales, 16
// tokens): the f16 activations are quantized per token at run time (one
// memory-bound kernel finds each row's scale and writes its int8 codes),
// then one int8 tensor-core kernel sums the codes in i32 and applies both
// scales and the bias in its epilogue. `make demo` compiles it and, on a
// machine with a GPU, runs it against the CPU reference.
func.func @main(%x: tensor<16x1024xf16>, %wq: tensor<4096x1024xi8>, %sw: tensor<4096xf32>, %bias: tensor<4096xf32>) -> tensor<16x4096xf16> {
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<16x1024xf16>) -> (tensor<16x1024xi8>, tensor<16xf32>)
  %xd = loom.dequantize %q, %s {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<16x1024xi8>, tensor<16xf32>) -> tensor<16x1024xf16>
  %w = loom.dequantize %wq, %sw {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<4096x1024xi8>, tensor<4096xf32>) -> tensor<4096x1024xf16>
  %y = loom.einsum "mk,nk->mn" (%xd, %w) : (tensor<16x1024xf16>, tensor<4096x1024xf16>) -> tensor<16x4096xf32>
  %b = loom.add %y, %bias : tensor<16x4096xf32>, tensor<4096xf32>
  %o = loom.cast %b : tensor<16x4096xf32> to tensor<16x4096xf16>
  return %o : tensor<16x4096xf16>
}
