func.func @main(%w: tensor<1x16xf16>) -> (tensor<1x8xf16>, tensor<1x1xi16>) {
  %v, %m = loom.pack %w {layout = #loom.layout<format = two_four>} : (tensor<1x16xf16>) -> (tensor<1x8xf16>, tensor<1x1xi16>)
  return %v, %m : tensor<1x8xf16>, tensor<1x1xi16>
}
