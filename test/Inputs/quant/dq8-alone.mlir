// An FP8 dynamic quantize alone, groups of 32 (read by test/Runtime/bundle-reads.test).
func.func @main(%x: tensor<5x200xf32>) -> (tensor<5x200xf8E4M3FN>, tensor<5x7xf32>) {
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = e4m3, granularity = group, axis = 1, group_size = 32, scale_type = f32>} : (tensor<5x200xf32>) -> (tensor<5x200xf8E4M3FN>, tensor<5x7xf32>)
  return %q, %s : tensor<5x200xf8E4M3FN>, tensor<5x7xf32>
}
