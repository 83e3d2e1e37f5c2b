// DeepSeek-V3-style FP8 linear layer: the bf16 activations quantized at run
// time to e4m3 with one scale per token per 128 channels, the weight e4m3
// with one scale per 128 x 128 block; the two dequantizes fuse into one
// block-scaled einsum.
func.func @main(%x: tensor<256x512xbf16>, %wq: tensor<384x512xf8E4M3FN>, %sb: tensor<3x4xf32>) -> tensor<256x384xbf16> {
  %xq, %sa = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = e4m3, granularity = group, axis = 1, group_size = 128, scale_type = f32>} : (tensor<256x512xbf16>) -> (tensor<256x512xf8E4M3FN>, tensor<256x4xf32>)
  %xd = loom.dequantize %xq, %sa {quant = #loom.quant<bits = 8, kind = e4m3, granularity = group, axis = 1, group_size = 128, scale_type = f32>} : (tensor<256x512xf8E4M3FN>, tensor<256x4xf32>) -> tensor<256x512xbf16>
  %w = loom.dequantize %wq, %sb {quant = #loom.quant<bits = 8, kind = e4m3, granularity = block, group_size = 128, scale_type = f32>} : (tensor<384x512xf8E4M3FN>, tensor<3x4xf32>) -> tensor<384x512xbf16>
  %y = loom.einsum "mk,nk->mn" (%xd, %w) : (tensor<256x512xbf16>, tensor<384x512xbf16>) -> tensor<256x384xbf16>
  return %y : tensor<256x384xbf16>
}
