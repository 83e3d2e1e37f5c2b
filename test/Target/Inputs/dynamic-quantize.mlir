func.func @main(%x: tensor<17x4096xf16>) -> (tensor<17x4096xi8>, tensor<17xf32>) {
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<17x4096xf16>) -> (tensor<17x4096xi8>, tensor<17xf32>)
  return %q, %s : tensor<17x4096xi8>, tensor<17xf32>
}
