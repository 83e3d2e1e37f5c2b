// A repack into the a_fragment layout (8-bit signed codes, 512 x 1024), as a user
// repacks a checkpoint at load time: one GPU kernel (gpu-check's quant part
// checks its words against the reference's).
func.func @main(%q: tensor<512x1024xi8>) -> tensor<131072xi32> {
  %p = loom.pack %q {layout = #loom.layout<format = a_fragment, bits = 8, kind = signed>} : (tensor<512x1024xi8>) -> tensor<131072xi32>
  return %p : tensor<131072xi32>
}
