// A repack into the a_fragment layout (2-bit signed codes, 1024 x 2048), as a user
// repacks a checkpoint at load time: one GPU kernel (gpu-check's quant part
// checks its words against the reference's).
func.func @main(%q: tensor<1024x2048xi4>) -> tensor<131072xi32> {
  %p = loom.pack %q {layout = #loom.layout<format = a_fragment, bits = 2, kind = signed>} : (tensor<1024x2048xi4>) -> tensor<131072xi32>
  return %p : tensor<131072xi32>
}
