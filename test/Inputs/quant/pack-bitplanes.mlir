// A bit-plane pack: no GPU kernel yet (test/Tools/weight-quant.test).
func.func @main(%q: tensor<4x64xi8>) -> tensor<4x4x2xi32> {
  %p = loom.pack %q {layout = #loom.layout<format = bit_planes, bits = 4, kind = signed>} : (tensor<4x64xi8>) -> tensor<4x4x2xi32>
  return %p : tensor<4x4x2xi32>
}
